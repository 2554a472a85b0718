//! `dln minreal`: the SLICOT TB01PD example, a non-minimal unstable system with known orders, DT
//! from the command line, order 0, the report, and bad input (one line, nothing written).

mod common;

use common::*;
use faer::Mat;
use std::path::{Path, PathBuf};

fn lti(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lti")
        .join(name)
}

fn write_system(dir: &Path, mats: &[(&str, &Mat<f64>)], meta: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, m) in mats {
        std::fs::write(dir.join(format!("{name}.npy")), npy_bytes(*m)).unwrap();
    }
    if let Some(meta) = meta {
        std::fs::write(dir.join("meta.json"), meta).unwrap();
    }
}

fn read_meta(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap()
}

/// $G(s)$ of a real SISO system at a real point $s$ that is not a pole (dense solve by Gaussian
/// elimination with partial pivoting: enough for the 4×4 examples here).
fn tf_siso(a: &Mat<f64>, b: &Mat<f64>, c: &Mat<f64>, d: f64, s: f64) -> f64 {
    let n = a.nrows();
    let mut m = Mat::from_fn(n, n + 1, |i, j| {
        if j == n {
            b[(i, 0)]
        } else if i == j {
            s - a[(i, j)]
        } else {
            -a[(i, j)]
        }
    });
    for k in 0..n {
        let piv = (k..n)
            .max_by(|&x, &y| m[(x, k)].abs().total_cmp(&m[(y, k)].abs()))
            .unwrap();
        for j in 0..=n {
            let t = m[(k, j)];
            m[(k, j)] = m[(piv, j)];
            m[(piv, j)] = t;
        }
        for i in k + 1..n {
            let f = m[(i, k)] / m[(k, k)];
            for j in k..=n {
                let t = m[(k, j)];
                m[(i, j)] -= f * t;
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut r = m[(i, n)];
        for j in i + 1..n {
            r -= m[(i, j)] * x[j];
        }
        x[i] = r / m[(i, i)];
    }
    d + (0..n).map(|i| c[(0, i)] * x[i]).sum::<f64>()
}

#[test]
fn slicot_tb01pd_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("min");
    let src = lti("slicot_tb01pd");
    let j = run_json(&[
        "minreal",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // SLICOT's result: NR = 3 (the example is minimal).
    assert_eq!(j["order"], 3);
    assert_eq!(j["controllable_order"], 3);
    assert_eq!(j["observable_order"], 3);
    assert!(j["tol"].as_f64().unwrap() > 0.0);
    assert_eq!(j["time"], "continuous");
    assert_eq!(
        listing(&out),
        ["A.npy", "B.npy", "C.npy", "D.npy", "meta.json"]
    );
    let a: Mat<f64> = read_npy(&out.join("A.npy"));
    assert_eq!(a.shape(), (3, 3));
    let meta = read_meta(&out);
    assert_eq!(meta["method"], "minreal");
    assert_eq!(meta["n"], 3);
    assert_eq!(meta["time"], "continuous");
    // Minimal again: idempotent.
    let out2 = dir.path().join("min2");
    let j2 = run_json(&[
        "minreal",
        out.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(j2["order"], 3);
}

#[test]
fn unstable_non_minimal_system_and_its_transfer_function() {
    // Hidden Kalman parts behind the orthogonal H/2 (H the 4x4 Hadamard matrix): diag(-1, 2, -3,
    // 0.5) with the input reaching states 1, 2 and the output seeing states 1, 3 → n_r = 1
    // (G(s) = 2·3/(s+1) + 0.25), n_c = n_o = 2. Unstable (2 and 0.5).
    let h = Mat::from_fn(4, 4, |i, j| {
        if (i & j).count_ones() % 2 == 0 {
            0.5
        } else {
            -0.5
        }
    });
    let lam = [-1.0, 2.0, -3.0, 0.5];
    let a0 = Mat::from_fn(4, 4, |i, j| if i == j { lam[i] } else { 0.0 });
    let b0 = Mat::from_fn(4, 1, |i, _| [2.0, 1.0, 0.0, 0.0][i]);
    let c0 = Mat::from_fn(1, 4, |_, j| [3.0, 0.0, 1.0, 0.0][j]);
    let a = &h * &a0 * &h;
    let b = &h * &b0;
    let c = &c0 * &h;
    let d = Mat::from_fn(1, 1, |_, _| 0.25);
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    write_system(&sys, &[("A", &a), ("B", &b), ("C", &c), ("D", &d)], None);
    let out = dir.path().join("min");
    let j = run_json(&[
        "minreal",
        sys.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(j["n"], 4);
    assert_eq!(j["order"], 1);
    assert_eq!(j["controllable_order"], 2);
    assert_eq!(j["observable_order"], 2);
    assert!(j["largest_dropped"].as_f64().unwrap() <= j["tol"].as_f64().unwrap());
    assert!(j["smallest_kept"].as_f64().unwrap() > 0.1);
    let ar: Mat<f64> = read_npy(&out.join("A.npy"));
    let br: Mat<f64> = read_npy(&out.join("B.npy"));
    let cr: Mat<f64> = read_npy(&out.join("C.npy"));
    let dr: Mat<f64> = read_npy(&out.join("D.npy"));
    assert_eq!(
        (ar.shape(), br.shape(), cr.shape()),
        ((1, 1), (1, 1), (1, 1))
    );
    assert!((ar[(0, 0)] + 1.0).abs() <= 1e-14, "pole {}", ar[(0, 0)]);
    assert!((br[(0, 0)] * cr[(0, 0)] - 6.0).abs() <= 1e-13);
    assert!((dr[(0, 0)] - 0.25).abs() <= 0.0);
    for s in [0.0, 1.0, -2.5, 10.0] {
        let g = tf_siso(&a, &b, &c, 0.25, s);
        let gr = tf_siso(&ar, &br, &cr, dr[(0, 0)], s);
        assert!(
            (g - gr).abs() <= 1e-13 * (1.0 + g.abs()),
            "G({s}) = {g} vs {gr}"
        );
    }
    // The human-readable report.
    let out3 = dir.path().join("min3");
    let o = dln()
        .args([
            "minreal",
            sys.to_str().unwrap(),
            "--out",
            out3.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("order 4 → 1"), "{text}");
    assert!(text.contains("controllable order   2"), "{text}");
}

#[test]
fn discrete_from_the_command_line_and_a_coarse_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let src = lti("slicot_ab09ad_dt");
    let bytes = |n: &str| std::fs::read(src.join(format!("{n}.npy"))).unwrap();
    let npz = dir.path().join("sys.npz");
    write_zip(
        &npz,
        &[
            ("A", bytes("A")),
            ("B", bytes("B")),
            ("C", bytes("C")),
            ("D", bytes("D")),
        ],
        false,
    );
    let out = dir.path().join("min");
    let j = run_json(&[
        "minreal",
        npz.to_str().unwrap(),
        "--discrete",
        "--dt",
        "0.2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(j["time"], "discrete");
    assert_eq!(j["dt"], 0.2);
    let n = j["n"].as_u64().unwrap();
    assert_eq!(j["order"], n, "the SLICOT AB09AD example is minimal");
    let meta = read_meta(&out);
    assert_eq!(meta["time"], "discrete");
    assert_eq!(meta["dt"], 0.2);
    // A tolerance above ‖B‖ declares the input matrix zero: order 0, G = D, A written as 0×0.
    let out0 = dir.path().join("min0");
    let j = run_json(&[
        "minreal",
        npz.to_str().unwrap(),
        "--discrete",
        "--tol",
        "1e6",
        "--out",
        out0.to_str().unwrap(),
    ]);
    assert_eq!(j["order"], 0);
    assert_eq!(j["controllable_order"], 0);
    assert_eq!(j["tol"], 1e6);
    let a0: Mat<f64> = read_npy(&out0.join("A.npy"));
    let d0: Mat<f64> = read_npy(&out0.join("D.npy"));
    let d: Mat<f64> = read_npy(&src.join("D.npy"));
    assert_eq!(a0.shape(), (0, 0));
    assert!((&d0 - &d).norm_l2() <= 0.0);
    order_zero_round_trip(&out0, &d, dir.path());
}

/// The order-0 system written by `minreal` (0×0 A, 0×m B, p×0 C, D) is read back by every
/// command that reads a system: minreal again (order 0, same D), hsv (no values), gram (0×0),
/// reduce (order 0, zero error).
fn order_zero_round_trip(sys: &Path, d: &Mat<f64>, tmp: &Path) {
    let s = sys.to_str().unwrap();
    let b0: Mat<f64> = read_npy(&sys.join("B.npy"));
    let c0: Mat<f64> = read_npy(&sys.join("C.npy"));
    assert_eq!(b0.shape(), (0, d.ncols()));
    assert_eq!(c0.shape(), (d.nrows(), 0));
    let again = tmp.join("min0_again");
    let j = run_json(&["minreal", s, "--out", again.to_str().unwrap()]);
    assert_eq!((j["n"].as_u64(), j["order"].as_u64()), (Some(0), Some(0)));
    let d1: Mat<f64> = read_npy(&again.join("D.npy"));
    assert!((&d1 - d).norm_l2() <= 0.0);
    let j = run_json(&["hsv", s]);
    assert_eq!(j["hsv"].as_array().map(Vec::len), Some(0), "{j}");
    let g = tmp.join("gram0.npy");
    run_json(&[
        "gram",
        s,
        "--kind",
        "observability",
        "--out",
        g.to_str().unwrap(),
    ]);
    let p: Mat<f64> = read_npy(&g);
    assert_eq!(p.shape(), (0, 0));
    let red = tmp.join("red0");
    let j = run_json(&["reduce", s, "--order", "0", "--out", red.to_str().unwrap()]);
    assert_eq!(j["order"].as_u64(), Some(0), "{j}");
    assert!(j["hinf_error"].as_f64().unwrap().abs() <= 0.0, "{j}");
    let dr: Mat<f64> = read_npy(&red.join("D.npy"));
    assert!((&dr - d).norm_l2() <= 0.0);
}

#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("min");
    let a = Mat::from_fn(2, 2, |i, j| {
        if i == j {
            1.0
        } else {
            f64::NAN * (i + j) as f64
        }
    });
    let b = Mat::from_fn(2, 1, |_, _| 1.0);
    let c = Mat::from_fn(1, 2, |_, _| 1.0);
    let bad = dir.path().join("nan");
    write_system(&bad, &[("A", &a), ("B", &b), ("C", &c)], None);
    let dims = dir.path().join("dims");
    let a1 = Mat::from_fn(2, 2, |i, j| (i + j) as f64);
    let c3 = Mat::from_fn(1, 3, |_, _| 1.0);
    write_system(&dims, &[("A", &a1), ("B", &b), ("C", &c3)], None);
    let before = listing(dir.path());
    run_fail(
        &[
            "minreal",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["nan/A.npy", "A:", "NaN"],
    );
    let good = lti("slicot_tb01pd");
    // Mismatched shapes.
    run_fail(
        &[
            "minreal",
            dims.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["C.npy", "3 columns"],
    );
    // --out is an existing regular file: refused before any work, the file is untouched.
    let file = dir.path().join("taken");
    std::fs::write(&file, b"keep").unwrap();
    run_fail(
        &[
            "minreal",
            good.to_str().unwrap(),
            "--out",
            file.to_str().unwrap(),
        ],
        &["taken"],
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep");
    // A negative or non-numeric tolerance is a usage error (exit status 2).
    for t in ["-1", "nan", "abc"] {
        let o = dln()
            .args([
                "minreal",
                good.to_str().unwrap(),
                "--tol",
                t,
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "--tol {t}");
    }
    assert!(!out.exists(), "no output after a failure");
    let mut after = listing(dir.path());
    after.retain(|n| n != "taken");
    assert_eq!(after, before, "nothing may be left behind");
}
