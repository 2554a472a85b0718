//! `dln moments` and `dln balance` on weights scaled by $10^{-120}$, $10^{100}$, $10^{300}$: every
//! number is compared with the one computed independently from the unscaled network and rescaled
//! analytically ($\|\mu\|$, $\|\mathbf W\|^2$ and the bound scale by $c^2$; the relative moment
//! norm and the gap are invariant; the balanced network of $c\mathbf W$ is $c$ times that of $\mathbf W$).
//! Absolute quantities beyond `f64` are reported as strings in scientific notation.

mod common;

use common::*;
use dln::linalg::{Scalar, c64};
use faer::Mat;

const SCALES: [f64; 3] = [1e-120, 1e100, 1e300];

/// $\log_{10}$ of a reported magnitude: a JSON number, or a string `"<mantissa>e<exponent>"`.
fn log10_of(v: &serde_json::Value) -> f64 {
    if let Some(x) = v.as_f64() {
        return x.log10();
    }
    let s = v.as_str().unwrap_or_else(|| panic!("not a magnitude: {v}"));
    let (m, e) = s.split_once('e').unwrap();
    m.parse::<f64>().unwrap().log10() + e.parse::<f64>().unwrap()
}

fn scale<T: Scalar>(layers: &[Mat<T>], c: f64) -> Vec<Mat<T>> {
    layers
        .iter()
        .map(|w| Mat::from_fn(w.nrows(), w.ncols(), |i, j| w[(i, j)].scale(c)))
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn check<T: Scalar + npyz::AutoSerialize + npyz::Deserialize>(widths: &[usize], seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<T>> = random_layers(seed, widths, None);
    let (m0, l0, b0) = (
        moment_norm(&layers),
        l2_norm_sq(&layers),
        lower_bound(&layers),
    );
    let base = dir.path().join("w.npz");
    write_weights(&base, &layers);
    let base_out = dir.path().join("b.npz");
    run_json(&[
        "balance",
        base.to_str().unwrap(),
        "--out",
        base_out.to_str().unwrap(),
    ]);
    let balanced0: Vec<Mat<T>> = read_weights(&base_out);
    for c in SCALES {
        let label = format!("{widths:?} x{c:e} {}", T::DTYPE_NAME);
        let input = dir.path().join(format!("w{c:e}.npz"));
        write_weights(&input, &scale(&layers, c));
        let j = run_json(&["moments", input.to_str().unwrap()]);
        let c2 = 2.0 * c.log10();
        for (key, want) in [("moment_norm", m0), ("l2_norm_sq", l0), ("lower_bound", b0)] {
            let got = log10_of(&j[key]);
            assert!(
                (got - (want.log10() + c2)).abs() < 1e-11,
                "{label}: {key} = {} (log10 {got}), want log10 {}",
                j[key],
                want.log10() + c2
            );
        }
        let r = j["moment_norm_rel"].as_f64().unwrap();
        assert!(rel(r, m0 / l0) < 1e-11, "{label}: relative moment {r:e}");
        let gap = j["gap"].as_f64().unwrap();
        assert!(rel(gap, (l0 - b0) / b0) < 1e-10, "{label}: gap {gap:e}");
        assert_eq!(j["balanced"], false, "{label}");

        let out = dir.path().join(format!("b{c:e}.npz"));
        let jb = run_json(&[
            "balance",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(jb["gap"].as_f64().unwrap().abs() < 1e-10, "{label}: {jb}");
        assert!(
            jb["product_rel_change"].as_f64().unwrap() < 1e-10,
            "{label}"
        );
        let got = log10_of(&jb["l2_norm_sq_after"]);
        assert!((got - (b0.log10() + c2)).abs() < 1e-10, "{label}: {jb}");
        // The written network, scaled back by 1/c: balanced, at the bound, and c^{-1} times
        // the balanced network of the unscaled weights.
        let w: Vec<Mat<T>> = read_weights(&out);
        let back = scale(&w, 1.0 / c);
        assert!(rel(l2_norm_sq(&back), b0) < 1e-10, "{label}");
        assert!(moment_norm(&back) < 1e-10 * b0, "{label}");
        for (x, y) in back.iter().zip(&balanced0) {
            assert!(
                dln::linalg::rel_diff(x.as_ref(), y.as_ref()) < 1e-10,
                "{label}"
            );
        }
    }
}

#[test]
fn moments_and_balance_at_extreme_scales_real() {
    check::<f64>(&[3, 4, 4, 2], 1);
    check::<f64>(&[4, 4, 4, 4, 4], 2);
}

#[test]
fn moments_and_balance_at_extreme_scales_complex() {
    check::<c64>(&[3, 5, 2], 3);
}
