//! `dln train --loss completion|sensing`, `--init-scale`, `--init W0.npz` and divergence: runs on
//! real and complex data read back from the JSON report and the output weights; bad inputs.

mod common;

use common::*;
use dln::linalg::{Scalar, c64, random};
use faer::Mat;
use std::path::Path;

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

/// A rank-1 $d\times d$ target and a mask observing about half of its entries (all of the first
/// row and column, so that a rank-1 completion is determined).
fn completion_data<T: Scalar + npyz::AutoSerialize>(path: &Path, seed: u64, d: usize) -> Mat<T> {
    let mut rng = random::rng(seed);
    let a: Mat<T> = random::gaussian(&mut rng, d, 1);
    let b: Mat<T> = random::gaussian(&mut rng, 1, d);
    let m = &a * &b;
    let mask = Mat::<f64>::from_fn(d, d, |i, j| {
        if i == 0 || j == 0 || (i * 7 + j * 3) % 2 == 0 {
            1.0
        } else {
            0.0
        }
    });
    write_zip(
        path,
        &[("targets", npy_bytes(&m)), ("mask", npy_bytes(&mask))],
        false,
    );
    m
}

fn completion_case<T: Scalar + npyz::AutoSerialize + npyz::Deserialize>(dir: &Path, seed: u64) {
    let d = 6;
    let data = dir.join(format!("c{seed}.npz"));
    let m = completion_data::<T>(&data, seed, d);
    let out = dir.join(format!("wc{seed}.npz"));
    let v = run_json(&[
        "train",
        data.to_str().unwrap(),
        "--loss",
        "completion",
        "--widths",
        "6,6,6",
        "--steps",
        "3000",
        "--lr",
        "0.05",
        "--seed",
        &seed.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["loss_kind"], "completion");
    assert_eq!(v["dtype"], T::DTYPE_NAME);
    let observed = v["samples"].as_u64().unwrap() as usize;
    assert!(observed > d * 2 && observed < d * d, "observed {observed}");
    let (e0, e1) = (f(&v, "loss_initial"), f(&v, "loss_final"));
    assert!(e1 < 1e-6 * e0, "completion loss {e0} → {e1}");
    // The loss reported is ½‖P_Ω(X − M)‖² of the weights written.
    let w = read_weights::<T>(&out);
    let x = product(&w);
    let mask_ok = |i: usize, j: usize| i == 0 || j == 0 || (i * 7 + j * 3) % 2 == 0;
    let mut e = 0.0;
    for j in 0..d {
        for i in 0..d {
            if mask_ok(i, j) {
                e += 0.5 * (x[(i, j)] - m[(i, j)]).modulus_sq();
            }
        }
    }
    assert!(
        (e - e1).abs() <= 1e-10 * e0,
        "recomputed loss {e} vs reported {e1}"
    );
}

#[test]
fn train_completion_real_and_complex() {
    let dir = tempfile::tempdir().unwrap();
    completion_case::<f64>(dir.path(), 1);
    completion_case::<c64>(dir.path(), 2);
}

/// Sensing data: `m` Gaussian sensors of a $2\times3$ target, written as rows of `sensors`.
fn sensing_data<T: Scalar + npyz::AutoSerialize>(path: &Path, seed: u64, m: usize) {
    let (dn, d0) = (2, 3);
    let mut rng = random::rng(seed);
    let x: Mat<T> = random::gaussian(&mut rng, dn, d0);
    let a: Mat<T> = random::gaussian(&mut rng, m, dn * d0);
    // ⟨A_i, X⟩ = Re Σ conj(A_i[r, c]) X[r, c].
    let y: Vec<f64> = (0..m)
        .map(|i| {
            (0..dn * d0)
                .map(|k| (a[(i, k)].conj() * x[(k / d0, k % d0)]).re())
                .sum()
        })
        .collect();
    write_zip(
        path,
        &[
            ("sensors", npy_bytes(&a)),
            ("measurements", raw_npy("<f8", false, &[m], &f64_bytes(&y))),
        ],
        false,
    );
}

#[test]
fn train_sensing_real_and_complex() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, complex) in [(3u64, false), (4, true)] {
        let data = dir.path().join(format!("s{seed}.npz"));
        if complex {
            sensing_data::<c64>(&data, seed, 30);
        } else {
            sensing_data::<f64>(&data, seed, 20);
        }
        let out = dir.path().join(format!("ws{seed}.npz"));
        let v = run_json(&[
            "train",
            data.to_str().unwrap(),
            "--loss",
            "sensing",
            "--widths",
            "3,4,2",
            "--t-end",
            "40",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(v["loss_kind"], "sensing");
        assert_eq!(v["dtype"], if complex { "complex128" } else { "float64" });
        assert_eq!(v["samples"], if complex { 30 } else { 20 });
        let (e0, e1) = (f(&v, "loss_initial"), f(&v, "loss_final"));
        assert!(e1 < 1e-4 * e0, "sensing loss {e0} → {e1}");
        assert!(out.exists());
    }
}

#[test]
fn train_init_scale_and_init_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("c.npz");
    completion_data::<f64>(&data, 5, 4);
    let d = data.to_str().unwrap();
    let run = |extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        let mut args = vec![
            "train",
            d,
            "--loss",
            "completion",
            "--widths",
            "4,4,4,4",
            "--steps",
            "10",
            "--lr",
            "0.001",
            "--seed",
            "9",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run_json(&args)
    };
    // Scaling every layer by s scales every moment G_k by s².
    let v1 = run(&[], "w1.npz");
    let vs = run(&["--init-scale", "0.01"], "ws.npz");
    let ratio = f(&vs, "moment_norm_initial") / f(&v1, "moment_norm_initial");
    assert!((ratio / 1e-4 - 1.0).abs() < 1e-10, "ratio {ratio}");
    assert!((f(&vs, "init_scale") - 0.01).abs() < 1e-15);
    // --init W0.npz starts from exactly those weights.
    let mut rng = random::rng(11);
    let w0: Vec<Mat<f64>> = (0..3).map(|_| random::gaussian(&mut rng, 4, 4)).collect();
    let w0_path = dir.path().join("w0.npz");
    write_weights(&w0_path, &w0);
    let v = run(&["--init", w0_path.to_str().unwrap()], "wf.npz");
    assert_eq!(v["init"], "file");
    let g = moment_norm(&w0);
    assert!(
        (f(&v, "moment_norm_initial") / g - 1.0).abs() < 1e-12,
        "initial moment {} vs file {g}",
        f(&v, "moment_norm_initial")
    );
    // A complex W0 trains real data over C.
    let w0c: Vec<Mat<c64>> = (0..3).map(|_| random::gaussian(&mut rng, 4, 4)).collect();
    let w0c_path = dir.path().join("w0c.npz");
    write_weights(&w0c_path, &w0c);
    let v = run(&["--init", w0c_path.to_str().unwrap()], "wfc.npz");
    assert_eq!(v["dtype"], "complex128");
    // Widths that do not match --widths: one line naming the file.
    let w0bad: Vec<Mat<f64>> = vec![Mat::identity(3, 4), Mat::identity(4, 3)];
    let bad_path = dir.path().join("w0bad.npz");
    write_weights(&bad_path, &w0bad);
    let out = dir.path().join("never.npz");
    run_fail(
        &[
            "train",
            d,
            "--loss",
            "completion",
            "--widths",
            "4,4,4,4",
            "--steps",
            "10",
            "--lr",
            "0.01",
            "--init",
            bad_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["w0bad.npz", "4,3,4", "4,4,4,4"],
    );
    run_fail(
        &[
            "train",
            d,
            "--loss",
            "completion",
            "--widths",
            "4,4",
            "--steps",
            "10",
            "--lr",
            "0.01",
            "--init",
            dir.path().join("absent.npz").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["absent.npz"],
    );
    assert!(!out.exists());
}

#[test]
fn train_completion_and_sensing_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.npz");
    let o = out.to_str().unwrap();
    let t: Mat<f64> = Mat::identity(3, 3);
    let fail =
        |name: &str, entries: &[(&str, Vec<u8>)], loss: &str, widths: &str, needles: &[&str]| {
            let p = dir.path().join(name);
            write_zip(&p, entries, false);
            run_fail(
                &[
                    "train",
                    p.to_str().unwrap(),
                    "--loss",
                    loss,
                    "--widths",
                    widths,
                    "--steps",
                    "10",
                    "--lr",
                    "0.01",
                    "--out",
                    o,
                ],
                needles,
            );
        };
    let half = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { 1.0 } else { 0.5 });
    fail(
        "m1.npz",
        &[("targets", npy_bytes(&t)), ("mask", npy_bytes(&half))],
        "completion",
        "3,3",
        &["m1.npz", "mask", "(0, 1)", "0.5", "0 and 1"],
    );
    let wrong: Mat<f64> = Mat::identity(3, 2);
    fail(
        "m2.npz",
        &[("targets", npy_bytes(&t)), ("mask", npy_bytes(&wrong))],
        "completion",
        "3,3",
        &["m2.npz", "mask", "3×2"],
    );
    fail(
        "m3.npz",
        &[("targets", npy_bytes(&t))],
        "completion",
        "3,3",
        &["m3.npz", "mask", "missing"],
    );
    let cmask: Mat<c64> = Mat::identity(3, 3);
    fail(
        "m4.npz",
        &[("targets", npy_bytes(&t)), ("mask", npy_bytes(&cmask))],
        "completion",
        "3,3",
        &["m4.npz", "mask", "complex"],
    );
    fail(
        "m5.npz",
        &[("targets", npy_bytes(&t)), ("mask", npy_bytes(&t))],
        "completion",
        "3,4,2",
        &["m5.npz", "targets", "2×3"],
    );
    let zeros: Mat<f64> = Mat::zeros(3, 3);
    fail(
        "m6.npz",
        &[("targets", npy_bytes(&t)), ("mask", npy_bytes(&zeros))],
        "completion",
        "3,3",
        &["m6.npz", "mask", "no entry"],
    );
    let a: Mat<f64> = Mat::identity(4, 6);
    let y4 = raw_npy("<f8", false, &[4], &f64_bytes(&[1.0, 2.0, 3.0, 4.0]));
    let y3 = raw_npy("<f8", false, &[3], &f64_bytes(&[1.0, 2.0, 3.0]));
    fail(
        "s1.npz",
        &[("sensors", npy_bytes(&a)), ("measurements", y4.clone())],
        "sensing",
        "3,3",
        &["s1.npz", "sensors", "6 columns", "9"],
    );
    fail(
        "s2.npz",
        &[("sensors", npy_bytes(&a)), ("measurements", y3)],
        "sensing",
        "3,2",
        &["s2.npz", "measurements", "4"],
    );
    fail(
        "s3.npz",
        &[("sensors", npy_bytes(&a))],
        "sensing",
        "3,2",
        &["s3.npz", "measurements", "missing"],
    );
    let yc: Mat<c64> = Mat::identity(4, 1);
    fail(
        "s4.npz",
        &[("sensors", npy_bytes(&a)), ("measurements", npy_bytes(&yc))],
        "sensing",
        "3,2",
        &["s4.npz", "measurements", "complex"],
    );
    // Least-squares arrays under --loss completion: the missing array is named.
    fail(
        "l1.npz",
        &[("inputs", npy_bytes(&t)), ("targets", npy_bytes(&t))],
        "completion",
        "3,3",
        &["l1.npz", "mask", "missing"],
    );
    assert!(!out.exists());
    assert_eq!(
        listing(dir.path())
            .iter()
            .filter(|n| n.starts_with('w'))
            .count(),
        0
    );
}

#[test]
fn train_divergence_names_the_step_and_suggests_a_smaller_lr() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("c.npz");
    completion_data::<f64>(&data, 6, 6);
    let out = dir.path().join("w.npz");
    let line = run_fail(
        &[
            "train",
            data.to_str().unwrap(),
            "--loss",
            "completion",
            "--widths",
            "6,6,6,6",
            "--steps",
            "40000",
            "--lr",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
        &["c.npz", "diverged at step", "of 40000", "smaller --lr", "5"],
    );
    assert!(!line.contains("NaN"), "{line}");
    assert!(!out.exists());
    assert!(listing(dir.path()) == vec!["c.npz".to_string()]);
}

/// The situation of issue 8: a rank-5 $100\times100$ completion problem (entries of $M$ of size 1,
/// 30 % observed) that depth 2 fits with step size 0.05 while depth 3, with the same step size,
/// diverges within a few steps. The program must stop with one line naming the step, what
/// diverged and a smaller `--lr`, exit non-zero, and write nothing; the suggested remedy (a
/// smaller step) then trains depth 3.
#[test]
fn train_depth_three_diverges_at_the_step_size_that_trains_depth_two() {
    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let d = 100;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = random::rng(8);
    let m = random::low_rank::<f64, _>(&mut rng, d, d, 5);
    let m = random::scaled(m.as_ref(), d as f64 / m.norm_l2());
    let coin: Mat<f64> = random::gaussian(&mut rng, d, d);
    // P(N(0,1) < -0.5244) = 0.3.
    let mask = Mat::<f64>::from_fn(d, d, |i, j| if coin[(i, j)] < -0.5244 { 1.0 } else { 0.0 });
    let data = dir.path().join("arora.npz");
    write_zip(
        &data,
        &[("targets", npy_bytes(&m)), ("mask", npy_bytes(&mask))],
        false,
    );
    let run = |widths: &str, lr: &str, steps: &str, out: &Path| {
        vec![
            "train".to_string(),
            data.to_str().unwrap().to_string(),
            "--loss".into(),
            "completion".into(),
            "--widths".into(),
            widths.into(),
            "--steps".into(),
            steps.into(),
            "--lr".into(),
            lr.into(),
            "--out".into(),
            out.to_str().unwrap().to_string(),
        ]
    };
    let w2 = dir.path().join("w2.npz");
    let v = run_json(&refs(&run("100,100,100", "0.05", "1000", &w2)));
    let (e0, e1) = (f(&v, "loss_initial"), f(&v, "loss_final"));
    assert!(e1 < 1e-8 * e0, "depth 2 at lr 0.05: loss {e0} → {e1}");
    assert!(w2.exists());
    let w3 = dir.path().join("w3.npz");
    let line = run_fail(
        &refs(&run("100,100,100,100", "0.05", "1000", &w3)),
        &[
            "arora.npz",
            "diverged at step",
            "of 1000",
            "not finite",
            "smaller --lr than 0.05",
        ],
    );
    assert!(!line.contains("NaN") && !line.contains("nan"), "{line}");
    let step: usize = line
        .split("diverged at step ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no step number in {line}"));
    assert!(step < 1000, "{line}");
    assert!(!w3.exists());
    let mut names = listing(dir.path());
    names.sort();
    assert_eq!(names, vec!["arora.npz".to_string(), "w2.npz".to_string()]);
    // A smaller step trains depth 3.
    let v = run_json(&refs(&run("100,100,100,100", "0.01", "1000", &w3)));
    let (e0, e1) = (f(&v, "loss_initial"), f(&v, "loss_final"));
    assert!(e1 < 1e-6 * e0, "depth 3 at lr 0.01: loss {e0} → {e1}");
}
