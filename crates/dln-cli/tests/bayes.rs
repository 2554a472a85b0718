//! `dln sample prior|train` and `dln entropy`: output statistics against the closed forms within
//! 5 standard errors, real and complex, square and rectangular; bad inputs.

mod common;

use common::*;
use dln::bayes::entropy::entropy;
use dln::linalg::{Scalar, c64};
use faer::Mat;
use std::path::Path;

fn prior_case<T: Scalar + npyz::Deserialize>(dir: &Path, widths: &str, complex: bool) {
    let out = dir.join(format!("prior-{widths}-{complex}.npz"));
    let mut args = vec![
        "sample",
        "prior",
        "--widths",
        widths,
        "--beta",
        "2",
        "--kappa",
        "0.5",
        "--samples",
        "500",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    if complex {
        args.push("--complex");
    }
    let v = run_json(&args);
    let ws: Vec<usize> = widths.split(',').map(|x| x.parse().unwrap()).collect();
    let c = if complex { 2.0 } else { 1.0 };
    let d: f64 = c * ws.windows(2).map(|p| (p[0] * p[1]) as f64).sum::<f64>();
    let want = d / (2.0 * 0.5);
    // Recompute the statistic from the file.
    let layers: Vec<Vec<Mat<T>>> = (1..ws.len())
        .map(|k| read_stacked::<T>(&out, &format!("W{k}")))
        .collect();
    assert_eq!(layers[0].len(), 500);
    for (k, l) in layers.iter().enumerate() {
        assert_eq!(l[0].shape(), (ws[k + 1], ws[k]));
    }
    let norms: Vec<f64> = (0..500)
        .map(|s| layers.iter().map(|l| l[s].norm_l2().powi(2)).sum())
        .collect();
    let mean = norms.iter().sum::<f64>() / 500.0;
    let se = (2.0 * d / (2.0 * 0.5f64).powi(2) / 500.0).sqrt();
    assert!(
        (mean - want).abs() <= 5.0 * se,
        "{widths}: {mean} vs {want}"
    );
    assert!((v["mean_l2_norm_sq"].as_f64().unwrap() - mean).abs() < 1e-9 * mean);
    assert!((v["expected_l2_norm_sq"].as_f64().unwrap() - want).abs() < 1e-12 * want);
    assert_eq!(v["dtype"], if complex { "complex128" } else { "float64" });
}

#[test]
fn sample_prior_statistics() {
    let dir = tempfile::tempdir().unwrap();
    prior_case::<f64>(dir.path(), "3,3,3", false);
    prior_case::<c64>(dir.path(), "3,3,3", true);
    prior_case::<f64>(dir.path(), "4,2,5", false);
    prior_case::<c64>(dir.path(), "2,5,1", true);
}

#[test]
fn sample_prior_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.npz");
    let o = out.to_str().unwrap();
    for bad in [
        ["--beta", "0"],
        ["--beta", "-1"],
        ["--kappa", "-1"],
        ["--samples", "0"],
        ["--samples", "-5"],
    ] {
        let mut args = vec![
            "sample",
            "prior",
            "--widths",
            "2,2",
            "--beta",
            "1",
            "--kappa",
            "1",
            "--samples",
            "3",
            "--out",
            o,
        ];
        let pos = args.iter().position(|a| *a == bad[0]).unwrap();
        args[pos + 1] = bad[1];
        // The program's one-line error (exit 1), not clap's usage text; `-1` is a value, not a flag.
        run_fail(&args, &[bad[0], bad[1]]);
        assert!(!out.exists());
    }
}

fn train_case<T: Scalar + npyz::AutoSerialize + npyz::Deserialize>(
    dir: &Path,
    widths: &[usize],
    seed: u64,
) {
    let layers: Vec<Mat<T>> = random_layers(seed, widths, None);
    let w0 = dir.join(format!("w0-{seed}.npz"));
    write_weights(&w0, &layers);
    let mut rng = dln::linalg::random::rng(seed + 100);
    let u: Mat<T> = dln::linalg::random::gaussian(&mut rng, widths[0], 6);
    let y: Mat<T> = dln::linalg::random::gaussian(&mut rng, widths[widths.len() - 1], 6);
    let data = dir.join(format!("data-{seed}.npz"));
    write_zip(
        &data,
        &[("inputs", npy_bytes(&u)), ("targets", npy_bytes(&y))],
        false,
    );
    let out = dir.join(format!("paths-{seed}.npz"));
    let (beta, kappa, t_end): (f64, f64, f64) = (3.0, 0.8, 0.4);
    let v = run_json(&[
        "sample",
        "train",
        data.to_str().unwrap(),
        "--init",
        w0.to_str().unwrap(),
        "--beta",
        "3",
        "--kappa",
        "0.8",
        "--t-end",
        "0.4",
        "--dt",
        "0.005",
        "--paths",
        "300",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["steps"].as_u64(), Some(80));
    // The moment law E[G_1(T)] from the output file, entry (0,0), within allowance + 5 SE.
    let w1 = read_stacked::<T>(&out, "W1");
    let w2 = read_stacked::<T>(&out, "W2");
    assert_eq!(w1.len(), 300);
    let g = |s: usize| (&w1[s] * w1[s].adjoint() - w2[s].adjoint() * &w2[s])[(0, 0)].re();
    let xs: Vec<f64> = (0..300).map(g).collect();
    let m = xs.iter().sum::<f64>() / 300.0;
    let se = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 299.0 / 300.0).sqrt();
    let g0 = (&layers[0] * layers[0].adjoint() - layers[1].adjoint() * &layers[1])[(0, 0)].re();
    let c = if T::IS_COMPLEX { 2.0 } else { 1.0 };
    let law = g0 * (-2.0 * kappa * t_end).exp()
        + c * (widths[0] as f64 - widths[2] as f64) * (1.0 - (-2.0 * kappa * t_end).exp())
            / (beta * kappa);
    let allowance = v["discretisation_allowance"].as_f64().unwrap();
    assert!(
        (m - law).abs() <= allowance + 5.0 * se,
        "{widths:?}: {m} vs {law} (se {se}, allowance {allowance})"
    );
    // The program's own verdict on the whole moment matrices: the standard error of the
    // Frobenius deviation recomputed here from the output (junction 1 only when it is the
    // worst), and the 5-SE verdict.
    let dev = v["moment_law_deviation"].as_f64().unwrap();
    let se_f = v["moment_law_standard_error"].as_f64().unwrap();
    assert!(se_f > 0.0 && se_f.is_finite(), "{v}");
    assert!(dev <= allowance + 5.0 * se_f, "{v}");
    assert_eq!(v["moment_law_consistent"], true, "{v}");
    if widths.len() == 3 {
        let d1 = widths[1];
        let gs: Vec<Mat<T>> = (0..300)
            .map(|s| &w1[s] * w1[s].adjoint() - w2[s].adjoint() * &w2[s])
            .collect();
        let mut mean = Mat::<T>::zeros(d1, d1);
        for g in &gs {
            mean += g;
        }
        mean = faer::Scale(T::from_f64(1.0 / 300.0)) * &mean;
        let var_sum: f64 = gs
            .iter()
            .map(|g| (g - &mean).norm_l2().powi(2))
            .sum::<f64>()
            / 299.0;
        let want = (var_sum / 300.0).sqrt();
        assert!(
            (se_f - want).abs() <= 1e-9 * want,
            "{widths:?}: standard error {se_f} vs {want}"
        );
    }
    assert_eq!(v["t"].as_array().unwrap().len(), 11);
}

#[test]
fn sample_train_moment_law() {
    let dir = tempfile::tempdir().unwrap();
    train_case::<f64>(dir.path(), &[3, 3, 3], 1);
    train_case::<c64>(dir.path(), &[2, 2, 2, 2], 2);
    train_case::<f64>(dir.path(), &[4, 2, 1], 3);
    train_case::<c64>(dir.path(), &[1, 3, 2], 4);
}

#[test]
fn sample_train_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(1, &[2, 2, 2], None);
    let w0 = dir.path().join("w0.npz");
    write_weights(&w0, &layers);
    let u: Mat<f64> = Mat::identity(3, 4); // wrong d0
    let data = dir.path().join("data.npz");
    write_zip(
        &data,
        &[
            ("inputs", npy_bytes(&u)),
            ("targets", npy_bytes(&Mat::<f64>::identity(2, 4))),
        ],
        false,
    );
    let out = dir.path().join("o.npz");
    run_fail(
        &[
            "sample",
            "train",
            data.to_str().unwrap(),
            "--init",
            w0.to_str().unwrap(),
            "--beta",
            "1",
            "--kappa",
            "1",
            "--t-end",
            "1",
            "--dt",
            "0.1",
            "--paths",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        &["data.npz", "inputs"],
    );
    assert!(!out.exists());
    // Bad numbers: the program's one-line error, checked before any file is read.
    for (flag, bad) in [
        ("--beta", "0"),
        ("--beta", "-2"),
        ("--kappa", "-1"),
        ("--t-end", "0"),
        ("--dt", "-0.1"),
        ("--paths", "0"),
        ("--paths", "-3"),
    ] {
        let mut args = vec![
            "sample",
            "train",
            data.to_str().unwrap(),
            "--init",
            w0.to_str().unwrap(),
            "--beta",
            "1",
            "--kappa",
            "1",
            "--t-end",
            "1",
            "--dt",
            "0.1",
            "--paths",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        let pos = args.iter().position(|a| *a == flag).unwrap();
        args[pos + 1] = bad;
        run_fail(&args, &[flag, bad]);
        assert!(!out.exists());
    }
}

#[test]
fn entropy_from_weights_and_matrix() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, complex) in [(1u64, false), (2, true)] {
        let w = dir.path().join(format!("w{seed}.npz"));
        let x = dir.path().join(format!("x{seed}.npy"));
        let (s_lib, field) = if complex {
            let layers: Vec<Mat<c64>> = random_layers(seed, &[3, 3, 3, 3], None);
            write_weights(&w, &layers);
            let xm = product(&layers);
            std::fs::write(&x, npy_bytes(&xm)).unwrap();
            (entropy(xm.as_ref(), 3).unwrap().entropy, "complex")
        } else {
            let layers: Vec<Mat<f64>> = random_layers(seed, &[3, 3, 3, 3], None);
            write_weights(&w, &layers);
            let xm = product(&layers);
            std::fs::write(&x, npy_bytes(&xm)).unwrap();
            (entropy(xm.as_ref(), 3).unwrap().entropy, "real")
        };
        let a = run_json(&["entropy", w.to_str().unwrap()]);
        let b = run_json(&["entropy", x.to_str().unwrap(), "--depth", "3"]);
        for v in [&a, &b] {
            assert!((v["entropy"].as_f64().unwrap() - s_lib).abs() <= 1e-10 * s_lib.abs().max(1.0));
            assert_eq!(v["depth"], 3);
            assert_eq!(v["field"], field);
            assert!(v["normalization"].as_str().unwrap().contains("vol(O_d)"));
        }
    }
}

#[test]
fn entropy_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("rep.npy");
    std::fs::write(&x, npy_bytes(&Mat::<f64>::identity(3, 3))).unwrap();
    run_fail(
        &["entropy", x.to_str().unwrap(), "--depth", "2"],
        &["rep.npy", "X", "coincide"],
    );
    run_fail(&["entropy", x.to_str().unwrap()], &["rep.npy", "--depth"]);
    let r = dir.path().join("rect.npy");
    std::fs::write(&r, npy_bytes(&Mat::<f64>::identity(2, 3))).unwrap();
    run_fail(
        &["entropy", r.to_str().unwrap(), "--depth", "2"],
        &["rect.npy", "square"],
    );
}
