//! `dln balance`: the done-when criteria, checked by re-reading the output file, on random real
//! and complex weights (square and rectangular, full rank and rank-deficient); and bad inputs.

mod common;

use common::*;
use dln::linalg::{Scalar, c64};
use faer::Mat;
use std::path::Path;

/// The three numbers of the acceptance criterion, computed from the files alone.
fn check_balanced<T: Scalar + npyz::Deserialize>(input: &[Mat<T>], out: &Path, what: &str) {
    let w = read_weights::<T>(out);
    assert_eq!(w.len(), input.len(), "{what}: depth");
    for (a, b) in w.iter().zip(input) {
        assert_eq!(a.shape(), b.shape(), "{what}: layer shapes");
    }
    let x = product(input);
    let x2 = product(&w);
    let change = if x.norm_l2() > 0.0 {
        (&x2 - &x).norm_l2() / x.norm_l2()
    } else {
        x2.norm_l2()
    };
    let l2 = l2_norm_sq(&w);
    let mu = moment_norm(&w);
    let lb = lower_bound(input);
    assert!(
        change <= 1e-10,
        "{what}: product relative change {change:e}"
    );
    assert!(mu <= 1e-8 * l2, "{what}: ‖μ‖ = {mu:e}, ‖W‖² = {l2:e}");
    assert!(
        (l2 - lb).abs() <= 1e-8 * lb,
        "{what}: ‖W'‖² = {l2}, bound = {lb}, rel {:e}",
        (l2 - lb) / lb
    );
}

/// Widths and ranks: square full rank, rectangular (expanding, bottleneck, hidden wider than rank),
/// rank-deficient.
const CASES: &[(&[usize], Option<usize>)] = &[
    (&[4, 4, 4, 4], None),
    (&[5, 5, 5, 5, 5], None),
    (&[3, 5, 4, 2], None),
    (&[5, 3, 6, 2], None),
    (&[3, 7, 5, 3], None),
    (&[3, 6, 6, 2], None),
    (&[4, 4, 4, 4], Some(2)),
    (&[5, 6, 6, 4], Some(2)),
    (&[6, 3], None),
    (&[4, 4, 4], Some(1)),
    (&[4, 4, 4, 4, 4, 4, 4, 4, 4], None),
    (&[4, 8, 8, 8, 4], Some(2)),
    (&[2, 10, 10, 2], None),
    (&[6, 6, 6, 6], Some(5)),
    (&[1, 5, 5, 1], None),
];

fn run_cases<T: Scalar + npyz::AutoSerialize + npyz::Deserialize>(method: &str, seed0: u64) {
    let dir = tempfile::tempdir().unwrap();
    for (i, (widths, rank)) in CASES.iter().enumerate() {
        let layers: Vec<Mat<T>> = random_layers(seed0 + i as u64, widths, *rank);
        let input = dir.path().join(format!("w{i}.npz"));
        let out = dir.path().join(format!("b{i}-{method}.npz"));
        write_weights(&input, &layers);
        let what = format!("{} {method} widths {widths:?} rank {rank:?}", T::DTYPE_NAME);
        let json = run_json(&[
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--method",
            method,
        ]);
        for key in [
            "method",
            "iterations",
            "cg_iterations",
            "orbit_closed",
            "moment_norm_before",
            "moment_norm_after",
            "l2_norm_sq_before",
            "l2_norm_sq_after",
            "lower_bound",
            "product_rel_change",
            "gap",
        ] {
            assert!(json.get(key).is_some(), "{what}: JSON lacks {key}: {json}");
        }
        check_balanced(&layers, &out, &what);
    }
}

#[test]
fn balance_real_auto() {
    run_cases::<f64>("auto", 100);
}

#[test]
fn balance_complex_auto() {
    run_cases::<c64>("auto", 200);
}

#[test]
fn balance_real_svd() {
    run_cases::<f64>("svd", 300);
}

#[test]
fn balance_complex_svd() {
    run_cases::<c64>("svd", 400);
}

#[test]
fn balance_real_newton() {
    run_cases::<f64>("newton", 600);
}

#[test]
fn balance_complex_newton() {
    run_cases::<c64>("newton", 700);
}

/// `--method newton` reports its Newton iterations (and the iterate's own gap) in the JSON; on a
/// square closed orbit the iterate itself is balanced, and the answer agrees with the closed form
/// `orbit` (the same canonical point p·W).
#[test]
fn balance_newton_reports_iterations_and_matches_orbit() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(17, &[6, 6, 6, 6, 6], None);
    let input = dir.path().join("w.npz");
    write_weights(&input, &layers);
    let mut outs = Vec::new();
    for method in ["newton", "orbit"] {
        let out = dir.path().join(format!("{method}.npz"));
        let json = run_json(&[
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--method",
            method,
        ]);
        assert_eq!(json["method"], method, "{json}");
        let its = json["iterations"].as_u64().unwrap();
        if method == "newton" {
            assert!((1..=30).contains(&its), "newton iterations {its}: {json}");
            assert_eq!(json["h_solves"].as_u64(), Some(0), "{json}");
            let g = json["iterate_gap"].as_f64().unwrap();
            assert!(g.abs() <= 1e-10, "Newton iterate gap {g:e}: {json}");
        } else {
            assert_eq!(its, 0, "{json}");
            assert!(json["iterate_gap"].is_null(), "{json}");
        }
        check_balanced(&layers, &out, method);
        outs.push(read_weights::<f64>(&out));
    }
    for (a, b) in outs[0].iter().zip(&outs[1]) {
        let d = (a - b).norm_l2() / b.norm_l2();
        assert!(d < 1e-8, "newton and orbit answers differ by {d:e}");
    }
}

/// Far from balanced: the layers rescaled by $10^{\pm4}$ and $10^{\pm2}$ (same product).
fn run_rescaled<T: Scalar + npyz::AutoSerialize + npyz::Deserialize>(method: &str) {
    let dir = tempfile::tempdir().unwrap();
    for (i, widths) in [&[3usize, 3, 3, 3][..], &[3, 5, 4, 2], &[4, 6, 6, 4]]
        .iter()
        .enumerate()
    {
        let mut layers: Vec<Mat<T>> = random_layers(500 + i as u64, widths, None);
        let s = [1e-4, 1e2, 1e2];
        for (w, f) in layers.iter_mut().zip(s) {
            *w = Mat::from_fn(w.nrows(), w.ncols(), |a, b| w[(a, b)].scale(f));
        }
        let input = dir.path().join(format!("w{i}.npz"));
        let out = dir.path().join(format!("b{i}.npz"));
        write_weights(&input, &layers);
        run_json(&[
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--method",
            method,
        ]);
        check_balanced(
            &layers,
            &out,
            &format!("{} {method} rescaled {widths:?}", T::DTYPE_NAME),
        );
    }
}

#[test]
fn balance_far_from_balanced() {
    for m in ["auto", "svd", "newton"] {
        run_rescaled::<f64>(m);
        run_rescaled::<c64>(m);
    }
}

#[test]
fn balance_real_orbit_method_and_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(7, &[3, 4, 4, 3], None);
    let input = dir.path().join("w.npz");
    let out = dir.path().join("out.npz");
    write_weights(&input, &layers);
    let o = dln()
        .args([
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--method",
            "orbit",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("N·Σσ^(2/N)") && text.contains("orbit"),
        "{text}"
    );
    check_balanced(&layers, &out, "orbit");
}

#[test]
fn balance_mixed_dtypes_promote_to_complex() {
    let dir = tempfile::tempdir().unwrap();
    let real: Vec<Mat<f64>> = random_layers(11, &[3, 3, 3], None);
    let cplx: Vec<Mat<c64>> = random_layers(12, &[3, 3, 3], None);
    let input = dir.path().join("w.npz");
    write_zip(
        &input,
        &[("W1", npy_bytes(&real[0])), ("W2", npy_bytes(&cplx[1]))],
        false,
    );
    let out = dir.path().join("out.npz");
    let json = run_json(&[
        "balance",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(json["dtype"], "complex128");
    let promoted = vec![
        Mat::from_fn(3, 3, |i, j| c64::new(real[0][(i, j)], 0.0)),
        cplx[1].clone(),
    ];
    check_balanced(&promoted, &out, "mixed");
}

#[test]
fn balance_overwrites_existing_output_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(3, &[2, 3, 2], None);
    let input = dir.path().join("w.npz");
    let out = dir.path().join("out.npz");
    write_weights(&input, &layers);
    std::fs::write(&out, b"old").unwrap();
    run_json(&[
        "balance",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    check_balanced(&layers, &out, "overwrite");
    assert_eq!(listing(dir.path()), ["out.npz", "w.npz"]);
}

/// Runs `dln balance` on a bad input: fails with one line naming the file and `needles`, and
/// leaves no output (nor any temporary file) behind.
fn balance_fails(input: &Path, needles: &[&str]) {
    let dir = input.parent().unwrap();
    let before = listing(dir);
    let out = dir.join("balanced.npz");
    let mut all = vec![input.file_name().unwrap().to_str().unwrap()];
    all.extend(needles);
    run_fail(
        &[
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &all,
    );
    assert!(!out.exists(), "--out must not exist after a failure");
    assert_eq!(listing(dir), before, "nothing may be left behind");
    // `moments` reports the same problem.
    run_fail(&["moments", input.to_str().unwrap()], &all);
}

#[test]
fn bad_inputs_are_reported_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let good: Vec<Mat<f64>> = random_layers(1, &[3, 4, 2], None);

    // Unreadable file.
    balance_fails(&p("missing.npz"), &["no such file"]);
    // Not an npz.
    std::fs::write(p("text.npz"), "hello").unwrap();
    balance_fails(&p("text.npz"), &["not an .npz archive"]);
    // A single .npy.
    std::fs::write(p("single.npz"), npy_bytes(&good[0])).unwrap();
    balance_fails(&p("single.npz"), &[".npy"]);
    // W3 missing while W4 present.
    write_zip(
        &p("gap.npz"),
        &[
            ("W1", npy_bytes(&good[0])),
            ("W2", npy_bytes(&good[1])),
            ("W4", npy_bytes(&good[1])),
        ],
        false,
    );
    balance_fails(&p("gap.npz"), &["W3", "W4"]);
    // No W1.
    write_zip(&p("now1.npz"), &[("A", npy_bytes(&good[0]))], false);
    balance_fails(&p("now1.npz"), &["W1"]);
    // Integer dtype.
    let ints: Vec<u8> = (0..8i64).flat_map(|x| x.to_le_bytes()).collect();
    write_zip(
        &p("int.npz"),
        &[
            ("W1", npy_bytes(&good[0])),
            ("W2", raw_npy("<i8", false, &[2, 4], &ints)),
        ],
        false,
    );
    balance_fails(&p("int.npz"), &["W2", "int64"]);
    // String dtype.
    let chars: Vec<u8> = "abcdef"
        .chars()
        .flat_map(|c| (c as u32).to_le_bytes())
        .collect();
    write_zip(
        &p("str.npz"),
        &[("W1", raw_npy("<U3", false, &[2], &chars))],
        false,
    );
    balance_fails(&p("str.npz"), &["W1", "str"]);
    // float32.
    let f32s: Vec<u8> = (0..12).flat_map(|x| (x as f32).to_le_bytes()).collect();
    write_zip(
        &p("f32.npz"),
        &[("W1", raw_npy("<f4", false, &[4, 3], &f32s))],
        false,
    );
    balance_fails(&p("f32.npz"), &["W1", "float32"]);
    // Layers that do not compose: W2 is 2x3 but W1 has 4 rows.
    let bad: Vec<Mat<f64>> = random_layers(2, &[3, 4], None);
    let w2: Vec<Mat<f64>> = random_layers(2, &[3, 2], None);
    write_zip(
        &p("shape.npz"),
        &[("W1", npy_bytes(&bad[0])), ("W2", npy_bytes(&w2[0]))],
        false,
    );
    balance_fails(&p("shape.npz"), &["W2", "W1", "3 columns", "4 rows"]);
    // NaN and Inf, with the entry.
    let mut nan = good[1].clone();
    nan[(1, 0)] = f64::NAN;
    write_zip(
        &p("nan.npz"),
        &[("W1", npy_bytes(&good[0])), ("W2", npy_bytes(&nan))],
        false,
    );
    balance_fails(&p("nan.npz"), &["W2", "[1, 0]", "NaN"]);
    let mut inf: Mat<c64> = random_layers(5, &[3, 4], None).remove(0);
    inf[(2, 1)] = c64::new(0.0, f64::INFINITY);
    write_zip(&p("inf.npz"), &[("W1", npy_bytes(&inf))], false);
    balance_fails(&p("inf.npz"), &["W1", "[2, 1]", "inf"]);
    // 1-D weights.
    write_zip(
        &p("oned.npz"),
        &[(
            "W1",
            raw_npy("<f8", false, &[3], &f64_bytes(&[1.0, 2.0, 3.0])),
        )],
        false,
    );
    balance_fails(&p("oned.npz"), &["W1", "1 dimension", "2-D"]);
    // Truncated data.
    write_zip(
        &p("trunc.npz"),
        &[("W1", raw_npy("<f8", false, &[3, 3], &f64_bytes(&[1.0; 5])))],
        false,
    );
    balance_fails(&p("trunc.npz"), &["W1", "truncated"]);
}

#[test]
fn output_directory_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(1, &[2, 2], None);
    let input = dir.path().join("w.npz");
    write_weights(&input, &layers);
    let out = dir.path().join("nodir").join("out.npz");
    run_fail(
        &[
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["nodir", "does not exist"],
    );
    assert!(!out.exists());
}

#[test]
fn balance_zero_product() {
    // X = 0: the fiber's least-norm point is W = 0 (bound 0); the orbit of W is not closed.
    let dir = tempfile::tempdir().unwrap();
    for method in ["auto", "svd"] {
        let mut layers: Vec<Mat<f64>> = random_layers(9, &[3, 4, 4, 3], None);
        layers[1] = Mat::zeros(4, 4);
        let input = dir.path().join("w.npz");
        let out = dir.path().join(format!("b-{method}.npz"));
        write_weights(&input, &layers);
        let j = run_json(&[
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--method",
            method,
        ]);
        let w = read_weights::<f64>(&out);
        let before = l2_norm_sq(&layers);
        assert!(
            l2_norm_sq(&w) <= 1e-8 * before,
            "{method}: ‖W'‖² = {:e} ({j})",
            l2_norm_sq(&w)
        );
        assert!(product(&w).norm_l2() <= 1e-12 * before);
    }
}
