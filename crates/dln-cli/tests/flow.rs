//! `dln flow` and `dln train`: the done-when criteria (decay laws, X preservation) read from the
//! JSON report and the output files, on random real and complex weights; bad inputs.

mod common;

use common::*;
use dln::linalg::{Scalar, c64};
use faer::Mat;
use std::path::Path;

fn series(v: &serde_json::Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("missing series {key}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn flow_case<T: Scalar + npyz::AutoSerialize + npyz::Deserialize>(
    dir: &Path,
    seed: u64,
    d: usize,
    n: usize,
) {
    let widths = vec![d; n + 1];
    let layers: Vec<Mat<T>> = random_layers(seed, &widths, None);
    let input = dir.join(format!("w{seed}.npz"));
    write_weights(&input, &layers);
    for t_end in [1.0f64, 2.0, 4.0] {
        let out = dir.join(format!("o{seed}-{t_end}.npz"));
        let t = format!("{t_end}");
        let v = run_json(&[
            "flow",
            "l2",
            input.to_str().unwrap(),
            "--t-end",
            &t,
            "--out",
            out.to_str().unwrap(),
        ]);
        let g0 = v["moment_norm_initial"].as_f64().unwrap();
        let g1 = v["moment_norm_final"].as_f64().unwrap();
        let rel = (g1 / g0 / (-2.0 * t_end).exp() - 1.0).abs();
        assert!(
            rel <= 1e-6,
            "d {d} N {n} T {t_end}: |G(T)|/|G(0)| off e^(-2T) by {rel:e}"
        );
        let change = v["product_rel_change"].as_f64().unwrap();
        assert!(
            change <= 1e-12,
            "d {d} N {n}: product_rel_change {change:e}"
        );
        // The file agrees with the report.
        let w = read_weights::<T>(&out);
        let x0 = product(&layers);
        assert!((&product(&w) - &x0).norm_l2() <= 1e-12 * x0.norm_l2());
        assert!((moment_norm(&w) / g1 - 1.0).abs() < 1e-8);
        let t = series(&v, "t");
        assert_eq!(t.len(), 11);
        assert!(t[0].abs() < 1e-300 && (t[10] - t_end).abs() < 1e-12);
        assert_eq!(series(&v, "l2_gap").len(), 11);
        assert!(v["steps"].as_u64().unwrap() > 0);
    }
}

#[test]
fn flow_l2_decay_law_and_product_real_and_complex() {
    let dir = tempfile::tempdir().unwrap();
    for (i, &(d, n)) in [(4, 2), (8, 3), (16, 4), (6, 6)].iter().enumerate() {
        flow_case::<f64>(dir.path(), 100 + i as u64, d, n);
        flow_case::<c64>(dir.path(), 200 + i as u64, d, n);
    }
}

#[test]
fn flow_kirwan_ness_balances() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<c64>> = random_layers(7, &[3, 3, 3, 3], None);
    let input = dir.path().join("w.npz");
    let out = dir.path().join("o.npz");
    write_weights(&input, &layers);
    let v = run_json(&[
        "flow",
        "kirwan-ness",
        input.to_str().unwrap(),
        "--t-end",
        "30",
        "--out",
        out.to_str().unwrap(),
        "--samples",
        "4",
    ]);
    assert!(v["product_rel_change"].as_f64().unwrap() <= 1e-12);
    let w = read_weights::<c64>(&out);
    assert!(moment_norm(&w) <= 1e-8 * l2_norm_sq(&w));
    let gap = series(&v, "l2_gap");
    assert!(gap[3].abs() <= 1e-8 * lower_bound(&layers));
}

#[test]
fn flow_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("w.npz");
    let out = dir.path().join("o.npz");
    let layers: Vec<Mat<f64>> = vec![Mat::identity(2, 2), Mat::zeros(2, 3)];
    write_weights(&input, &layers);
    run_fail(
        &[
            "flow",
            "l2",
            input.to_str().unwrap(),
            "--t-end",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &["w.npz", "W2"],
    );
    assert!(!out.exists());
    let missing = dir.path().join("nope.npz");
    run_fail(
        &[
            "flow",
            "l2",
            missing.to_str().unwrap(),
            "--t-end",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        &["nope.npz"],
    );
    assert!(!out.exists());
    let bad = dln()
        .args([
            "flow",
            "l2",
            input.to_str().unwrap(),
            "--t-end",
            "-1",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(!out.exists());
}

fn write_data<T: Scalar + npyz::AutoSerialize>(
    path: &Path,
    seed: u64,
    d0: usize,
    dn: usize,
    n: usize,
) {
    let mut rng = dln::linalg::random::rng(seed);
    let u: Mat<T> = dln::linalg::random::gaussian(&mut rng, d0, n);
    let a: Mat<T> = dln::linalg::random::gaussian(&mut rng, dn, d0);
    let y = &a * &u;
    write_zip(
        path,
        &[("inputs", npy_bytes(&u)), ("targets", npy_bytes(&y))],
        false,
    );
}

fn train_decay<T: Scalar + npyz::AutoSerialize + npyz::Deserialize>(dir: &Path, seed: u64) {
    let data = dir.join(format!("data{seed}.npz"));
    write_data::<T>(&data, seed, 4, 3, 20);
    for kappa in [0.0, 0.1, 0.5] {
        let out = dir.join(format!("w{seed}-{kappa}.npz"));
        let k = format!("{kappa}");
        let v = run_json(&[
            "train",
            data.to_str().unwrap(),
            "--widths",
            "4,5,5,3",
            "--kappa",
            &k,
            "--t-end",
            "3",
            "--out",
            out.to_str().unwrap(),
        ]);
        let t = series(&v, "t");
        let g = series(&v, "moment_norm");
        let loss = series(&v, "loss");
        assert!(t[0].abs() < 1e-300);
        assert!(loss.last().unwrap() < &loss[0]);
        for i in 1..t.len() {
            if kappa > 0.0 {
                let rate = -(g[i] / g[0]).ln() / (2.0 * t[i]);
                assert!(
                    (rate / kappa - 1.0).abs() <= 1e-6,
                    "kappa {kappa}: rate {rate} at t = {}",
                    t[i]
                );
            } else {
                assert!(
                    (g[i] / g[0] - 1.0).abs() <= 1e-8,
                    "kappa 0: |G| drifts to {} from {}",
                    g[i],
                    g[0]
                );
            }
        }
        let w = read_weights::<T>(&out);
        assert_eq!(w.len(), 3);
        assert!((moment_norm(&w) / g.last().unwrap() - 1.0).abs() < 1e-8);
    }
}

#[test]
fn train_flow_moment_decay_rate_real_and_complex() {
    let dir = tempfile::tempdir().unwrap();
    train_decay::<f64>(dir.path(), 1);
    train_decay::<c64>(dir.path(), 2);
}

#[test]
fn train_gradient_descent_and_balanced_init() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.npz");
    write_data::<f64>(&data, 3, 3, 2, 10);
    let out = dir.path().join("w.npz");
    let v = run_json(&[
        "train",
        data.to_str().unwrap(),
        "--widths",
        "3,4,2",
        "--steps",
        "200",
        "--lr",
        "0.05",
        "--init",
        "balanced",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["mode"], "gradient-descent");
    assert!(v["loss_final"].as_f64().unwrap() < v["loss_initial"].as_f64().unwrap());
    assert!(v["moment_norm_initial"].as_f64().unwrap() < 1e-10);
    assert!(
        series(&v, "t")[0].abs() < f64::MIN_POSITIVE,
        "the series starts at t = 0"
    );
    assert!(out.exists());
}

#[test]
fn train_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.npz");
    write_data::<f64>(&data, 5, 3, 2, 10);
    let out = dir.path().join("w.npz");
    let o = out.to_str().unwrap();
    let d = data.to_str().unwrap();
    run_fail(
        &["train", d, "--widths", "4,3,2", "--t-end", "1", "--out", o],
        &["d.npz", "inputs", "d0 = 4"],
    );
    run_fail(
        &["train", d, "--widths", "3,3,5", "--t-end", "1", "--out", o],
        &["d.npz", "targets", "dN = 5"],
    );
    let only = dir.path().join("only.npz");
    let u: Mat<f64> = Mat::identity(3, 3);
    write_zip(&only, &[("inputs", npy_bytes(&u))], false);
    run_fail(
        &[
            "train",
            only.to_str().unwrap(),
            "--widths",
            "3,3",
            "--t-end",
            "1",
            "--out",
            o,
        ],
        &["only.npz", "targets", "missing"],
    );
    let mismatch = dir.path().join("mm.npz");
    let y: Mat<f64> = Mat::zeros(2, 4);
    write_zip(
        &mismatch,
        &[("inputs", npy_bytes(&u)), ("targets", npy_bytes(&y))],
        false,
    );
    run_fail(
        &[
            "train",
            mismatch.to_str().unwrap(),
            "--widths",
            "3,2",
            "--t-end",
            "1",
            "--out",
            o,
        ],
        &["mm.npz", "targets", "columns"],
    );
    // Diverging gradient descent: one line saying when and what.
    run_fail(
        &[
            "train", d, "--widths", "3,3,2", "--steps", "5000", "--lr", "50", "--out", o,
        ],
        &["d.npz", "diverged", "step"],
    );
    assert!(!out.exists());
    // Neither --t-end nor --steps: a usage error.
    let bad = dln()
        .args(["train", d, "--widths", "3,2", "--out", o])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(!out.exists());
}

/// `--scheme auto` (the default) runs the structured scheme on square full-rank layers and the
/// velocity form for the L² flow on an orbit that is not closed (widths narrower at the ends: the
/// flow can reach the orbit's boundary in finite time, where the structured scheme stalls), and the
/// report says which ran; the decay law holds either way.
#[test]
fn flow_default_scheme_follows_the_orbit() {
    let dir = tempfile::tempdir().unwrap();
    for (widths, want) in [
        (vec![3usize, 3, 3, 3], "structured"),
        (vec![2, 3, 4, 3, 2], "generic"),
    ] {
        let layers: Vec<Mat<f64>> = random_layers(1, &widths, None);
        let input = dir.path().join(format!("w{}.npz", widths.len()));
        write_weights(&input, &layers);
        let out = dir.path().join(format!("o{}.npz", widths.len()));
        let v = run_json(&[
            "flow",
            "l2",
            input.to_str().unwrap(),
            "--t-end",
            "2",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(v["scheme"], want, "widths {widths:?}");
        let g0 = v["moment_norm_initial"].as_f64().unwrap();
        let g1 = v["moment_norm_final"].as_f64().unwrap();
        let rel = (g1 / g0 / (-4.0f64).exp() - 1.0).abs();
        assert!(rel <= 1e-6, "widths {widths:?}: decay law off by {rel:e}");
    }
}
