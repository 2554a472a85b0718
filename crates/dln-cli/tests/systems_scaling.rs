//! `dln hsv` / `dln gram` with `--equil` and on systems with entries 10^{±300} (issues 9 and 12):
//! correct answers where representable, an honest "not representable" error otherwise.

mod common;

use common::*;
use faer::Mat;
use std::path::Path;

/// Writes (sa A, sb B, sc C, D) of `slicot_ab09ad` into `dir`.
fn scaled_ab09ad(dir: &Path, sa: f64, sb: f64, sc: f64) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, s) in [("A", sa), ("B", sb), ("C", sc), ("D", 1.0)] {
        let m: Mat<f64> = read_npy(&lti("slicot_ab09ad").join(format!("{name}.npy")));
        let m = Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] * s);
        std::fs::write(dir.join(format!("{name}.npy")), npy_bytes(&m)).unwrap();
    }
}

fn hsv(dir: &Path, extra: &[&str]) -> Vec<f64> {
    let mut args = vec!["hsv", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    floats(&run_json(&args)["hsv"])
}

fn max_rel(got: &[f64], want: &[f64], factor: f64) -> f64 {
    got.iter()
        .zip(want)
        .map(|(g, w)| (g / factor - w).abs() / w)
        .fold(0.0, f64::max)
}

#[test]
fn hsv_of_systems_with_entries_1e300_and_1e_minus_200() {
    let tmp = tempfile::tempdir().unwrap();
    let base = hsv(&lti("slicot_ab09ad"), &[]);
    // (sA, sB, sC): sigma -> s sigma.
    let d = tmp.path().join("all");
    scaled_ab09ad(&d, 1e300, 1e300, 1e300);
    let r = max_rel(&hsv(&d, &[]), &base, 1e300);
    assert!(r < 1e-13, "x1e300: {r:e}");
    // (A, sB, C) with s = 1e-200: sigma -> s sigma (issue 9: was ~1e-11 too small).
    for equil in ["on", "off"] {
        let d = tmp.path().join(format!("tinyb_{equil}"));
        scaled_ab09ad(&d, 1.0, 1e-200, 1.0);
        let r = max_rel(&hsv(&d, &["--equil", equil]), &base, 1e-200);
        assert!(r < 1e-13, "B x1e-200, --equil {equil}: {r:e}");
    }
}

#[test]
fn unrepresentable_hsvs_are_an_honest_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("sys");
    scaled_ab09ad(&d, 1.0, 1e300, 1e300); // sigma ~ 2.5e600
    let err = run_fail(
        &["hsv", d.to_str().unwrap()],
        &["Hankel singular value", "not representable", "10^600"],
    );
    assert!(!err.contains("non-finite"), "{err}");
}

#[test]
fn gram_of_a_huge_system_in_original_coordinates() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("sys");
    scaled_ab09ad(&d, 1e300, 1e300, 1.0); // P(sA, sB) = s P
    let p0 = tmp.path().join("p0.npy");
    let p1 = tmp.path().join("p1.npy");
    let j0 = run_json(&[
        "gram",
        lti("slicot_ab09ad").to_str().unwrap(),
        "--kind",
        "controllability",
        "--out",
        p0.to_str().unwrap(),
    ]);
    let j1 = run_json(&[
        "gram",
        d.to_str().unwrap(),
        "--kind",
        "controllability",
        "--out",
        p1.to_str().unwrap(),
    ]);
    let (p0, p1): (Mat<f64>, Mat<f64>) = (read_npy(&p0), read_npy(&p1));
    let diff = (&p1 * faer::Scale(1e-300) - &p0).norm_l2() / p0.norm_l2();
    assert!(diff < 1e-13, "{diff:e}");
    assert!(j1["residual"].as_f64().unwrap() < 1e-14, "{j1}");
    let t = j1["trace"].as_f64().unwrap() / 1e300 / j0["trace"].as_f64().unwrap();
    assert!((t - 1.0).abs() < 1e-13);
}

#[test]
fn equil_on_recovers_lf10() {
    // lf10 (cond(M) ~ 2e6): the exact HSVs (mpmath) are in hsv_reference.json.
    let text = std::fs::read_to_string(lti("lf10").join("hsv_reference.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let exact = floats(&v["exact"]);
    let rel5 = |h: &[f64]| max_rel(&h[..5], &exact[..5], 1.0);
    let on = rel5(&hsv(&lti("lf10"), &[]));
    let off = rel5(&hsv(&lti("lf10"), &["--equil", "off"]));
    // Default --equil on, with the automatic refinement against the original A (7e-13 measured).
    assert!(on < 1e-11, "--equil on (default): {on:e}");
    assert!(
        off > 1.0,
        "--equil off was off by a factor 22 at sigma_5: {off:e}"
    );
}
