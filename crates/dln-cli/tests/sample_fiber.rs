//! `dln sample fiber`: the posterior on a fiber, real and complex, square and rectangular (products
//! preserved, stacked output), the d = 1, N = 2 posterior against quadrature, bad input.

mod common;

use common::*;
use dln::linalg::{Scalar, c64};
use faer::Mat;
use std::path::Path;

fn fiber_args<'a>(w: &'a str, out: &'a str, samples: &'a str, measure: &'a str) -> Vec<&'a str> {
    vec![
        "sample",
        "fiber",
        w,
        "--beta",
        "2",
        "--kappa",
        "0.5",
        "--samples",
        samples,
        "--measure",
        measure,
        "--seed",
        "7",
        "--burn-in",
        "300",
        "--thin",
        "2",
        "--out",
        out,
    ]
}

fn fiber_case<T: Scalar + npyz::Deserialize + npyz::AutoSerialize>(
    dir: &Path,
    widths: &[usize],
    measure: &str,
    seed: u64,
    sampler: &str,
) {
    let layers: Vec<Mat<T>> = random_layers(seed, widths, None);
    let w = dir.join(format!("w{seed}.npz"));
    write_weights(&w, &layers);
    let out = dir.join(format!("fiber{seed}-{sampler}.npz"));
    let mut args = fiber_args(w.to_str().unwrap(), out.to_str().unwrap(), "150", measure);
    args.extend(["--sampler", sampler]);
    let v = run_json(&args);
    for key in [
        "acceptance_rate",
        "ess",
        "max_constraint_residual",
        "mean_l2_norm_sq",
        "mean_moment_norm",
    ] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}: {v}");
    }
    assert_eq!(v["measure"], measure);
    assert_eq!(v["sampler"], sampler);
    assert_eq!(v["leapfrog_steps"].as_u64().unwrap() > 0, sampler != "rwm");
    assert_eq!(v["steps"].as_u64(), Some(300));
    assert!(v["acceptance_rate"].as_f64().unwrap() > 0.05, "{v}");
    assert!(
        v["max_constraint_residual"].as_f64().unwrap() <= 1e-10,
        "{v}"
    );
    let x = product(&layers);
    let stacked: Vec<Vec<Mat<T>>> = (1..widths.len())
        .map(|k| read_stacked::<T>(&out, &format!("W{k}")))
        .collect();
    for (k, l) in stacked.iter().enumerate() {
        assert_eq!(l.len(), 150);
        assert_eq!(l[0].shape(), (widths[k + 1], widths[k]));
    }
    let mut norms = 0.0;
    for s in 0..150 {
        let net: Vec<Mat<T>> = stacked.iter().map(|l| l[s].clone()).collect();
        let err = (product(&net) - &x).norm_l2() / x.norm_l2();
        assert!(err <= 1e-10, "sample {s}: product moved by {err}");
        norms += moment_norm(&net);
    }
    let mean_g = v["mean_moment_norm"].as_f64().unwrap();
    assert!((norms / 150.0 - mean_g).abs() <= 1e-9 * mean_g.max(1.0));
}

#[test]
fn sample_fiber_real_complex_square_rectangular() {
    let dir = tempfile::tempdir().unwrap();
    for sampler in ["hmc", "rwm"] {
        fiber_case::<f64>(dir.path(), &[3, 3, 3], "hausdorff", 1, sampler);
        fiber_case::<f64>(dir.path(), &[2, 3, 4, 2], "conditional", 2, sampler);
        fiber_case::<c64>(dir.path(), &[2, 2, 2, 2], "conditional", 3, sampler);
        fiber_case::<c64>(dir.path(), &[3, 4, 2], "hausdorff", 4, sampler);
    }
    // The graph chart: conditional measure, square layers, invertible X.
    fiber_case::<f64>(dir.path(), &[3, 3, 3], "conditional", 5, "graph-hmc");
    fiber_case::<c64>(dir.path(), &[2, 2, 2, 2], "conditional", 6, "graph-hmc");
    // Blocked Gibbs over layer pairs: the same restrictions.
    fiber_case::<f64>(dir.path(), &[3, 3, 3, 3], "conditional", 7, "block-gibbs");
    fiber_case::<c64>(dir.path(), &[2, 2, 2], "conditional", 8, "block-gibbs");
}

/// $\mathbb E\|\mathbf W\|^2$ of the conditional law on $w_2w_1 = x$ (real, $d = 1$, $N = 2$): density
/// $e^{-aq/2}\,dt/t$ in $t = |w_1|$, $q = t^2 + x^2/t^2$, by the trapezoid rule in $\log t$.
fn conditional_reference(a: f64, x: f64) -> f64 {
    let (lo, hi, n) = (-12.0_f64, 12.0_f64, 40_001);
    let h = (hi - lo) / (n - 1) as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n {
        let t = (lo + h * i as f64).exp();
        let q = t * t + x * x / (t * t);
        let g = (-0.5 * a * q).exp();
        num += g * q;
        den += g;
    }
    num / den
}

#[test]
fn sample_fiber_scalar_conditional_matches_quadrature() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.npz");
    write_weights::<f64>(
        &w,
        &[
            Mat::from_fn(1, 1, |_, _| 1.0),
            Mat::from_fn(1, 1, |_, _| 0.5),
        ],
    );
    for sampler in ["hmc", "rwm", "graph-hmc", "block-gibbs"] {
        let out = dir.path().join(format!("o-{sampler}.npz"));
        scalar_conditional_case(&w, &out, sampler);
    }
}

fn scalar_conditional_case(w: &Path, out: &Path, sampler: &str) {
    let mut args = fiber_args(
        w.to_str().unwrap(),
        out.to_str().unwrap(),
        "5000",
        "conditional",
    );
    args.extend(["--sampler", sampler]);
    let v = run_json(&args);
    let mean = v["mean_l2_norm_sq"].as_f64().unwrap();
    let se = v["standard_error"].as_f64().unwrap();
    let want = conditional_reference(1.0, 0.5);
    assert!(
        (mean - want).abs() <= 5.0 * se,
        "{sampler}: {mean} vs {want} (se {se})"
    );
    // Both branches of w2 w1 = 0.5 are visited (junction sign flips).
    let w1 = read_stacked::<f64>(out, "W1");
    let pos = w1.iter().filter(|m| m[(0, 0)] > 0.0).count();
    assert!(
        pos > 1000 && pos < 4000,
        "{sampler}: {pos} of 5000 on w1 > 0"
    );
}

#[test]
fn sample_fiber_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.npz");
    write_weights::<f64>(&w, &random_layers(1, &[2, 2, 2], None));
    let out = dir.path().join("o.npz");
    let (ws, os) = (w.to_str().unwrap(), out.to_str().unwrap());
    // Rejected before any work, as the program's one-line error (exit status 1), negative
    // numbers included (not taken for flags).
    for (flag, bad) in [
        ("--beta", "0"),
        ("--beta", "-1"),
        ("--kappa", "0"),
        ("--kappa", "-0.5"),
        ("--beta", "nan"),
        ("--beta", "inf"),
        ("--samples", "0"),
        ("--samples", "-2"),
        ("--thin", "0"),
    ] {
        let mut args = fiber_args(ws, os, "10", "hausdorff");
        let i = args.iter().position(|a| *a == flag).unwrap();
        args[i + 1] = bad;
        let o = dln().args(&args).output().unwrap();
        assert!(!o.status.success(), "{flag} {bad} accepted");
        assert_eq!(o.status.code(), Some(1), "{flag} {bad}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{flag} {bad}: not one line: {err}");
        assert!(err.starts_with("dln: error: "), "{err}");
        assert!(err.contains(flag), "{err}");
        assert!(!out.exists());
    }
    // Non-finite weights.
    let nan = dir.path().join("nan.npz");
    let mut layers: Vec<Mat<f64>> = random_layers(1, &[2, 2, 2], None);
    layers[1][(0, 1)] = f64::NAN;
    write_weights(&nan, &layers);
    run_fail(
        &fiber_args(nan.to_str().unwrap(), os, "10", "hausdorff"),
        &["nan.npz", "W2"],
    );
    assert!(!out.exists());
    // X = 0: no fiber posterior.
    let zero = dir.path().join("zero.npz");
    write_weights::<f64>(
        &zero,
        &[
            Mat::from_fn(1, 1, |_, _| 1.0),
            Mat::from_fn(1, 1, |_, _| 0.0),
        ],
    );
    run_fail(
        &fiber_args(zero.to_str().unwrap(), os, "10", "hausdorff"),
        &["zero.npz", "zero"],
    );
    // A bottleneck: d phi is not onto, the fiber is not a manifold there.
    let neck = dir.path().join("neck.npz");
    write_weights::<f64>(&neck, &random_layers(2, &[3, 2, 4], None));
    run_fail(
        &fiber_args(neck.to_str().unwrap(), os, "10", "conditional"),
        &["neck.npz", "not onto"],
    );
    assert!(!out.exists());
    // graph-hmc and block-gibbs: rectangular layers, a singular X, the Hausdorff measure.
    let rect = dir.path().join("rect.npz");
    write_weights::<f64>(&rect, &random_layers(3, &[2, 3, 2], None));
    let sing = dir.path().join("sing.npz");
    write_weights::<f64>(
        &sing,
        &[
            Mat::from_fn(2, 2, |i, j| (1 + i) as f64 * (1 + j) as f64),
            Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 0.5 }),
        ],
    );
    for sampler in ["graph-hmc", "block-gibbs"] {
        let chart = |w: &Path, measure: &'static str| {
            let mut a: Vec<String> = fiber_args(w.to_str().unwrap(), os, "10", measure)
                .into_iter()
                .map(String::from)
                .collect();
            a.extend(["--sampler".into(), sampler.into()]);
            a
        };
        let a = chart(&rect, "conditional");
        run_fail(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            &["rect.npz", "square layers"],
        );
        let a = chart(&sing, "conditional");
        run_fail(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            &["sing.npz", "invertible"],
        );
        let a = chart(&w, "hausdorff");
        run_fail(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            &["w.npz", "conditional measure only"],
        );
    }
    assert!(!out.exists());
    assert_eq!(listing(dir.path()).len(), 6, "{:?}", listing(dir.path()));
}

/// `--chains C`: C pooled chains, the S samples split among them and concatenated in the output,
/// `chains` in the report, products preserved; a chain count that is not at least 1 or exceeds
/// the samples is the program's one-line error with no output written.
#[test]
fn sample_fiber_chains() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.npz");
    let layers: Vec<Mat<f64>> = random_layers(3, &[3, 3, 3, 3], None);
    write_weights(&w, &layers);
    let out = dir.path().join("o.npz");
    let (ws, os) = (w.to_str().unwrap(), out.to_str().unwrap());
    let mut args = fiber_args(ws, os, "101", "conditional");
    args.extend(["--chains", "2"]);
    let v = run_json(&args);
    assert_eq!(v["chains"], 2);
    assert_eq!(v["samples"], 101);
    assert_eq!(v["sampler"], "block-gibbs");
    // The split-R̂ between the chains: block Gibbs mixes in a few sweeps, so the two chains of
    // 51 and 50 samples agree (R̂ − 1 is of order 1/ESS here).
    let rhat = v["rhat"].as_f64().expect("rhat with two chains");
    assert!(rhat > 0.9 && rhat < 1.1, "rhat {rhat}");
    let stacked: Vec<Vec<Mat<f64>>> = (1..=3)
        .map(|k| read_stacked::<f64>(&out, &format!("W{k}")))
        .collect();
    assert_eq!(stacked[0].len(), 101);
    let x = product(&layers);
    for s in 0..101 {
        let net: Vec<Mat<f64>> = stacked.iter().map(|w| w[s].clone()).collect();
        let err = (product(&net) - &x).norm_l2() / x.norm_l2();
        assert!(err <= 1e-10, "sample {s}: product moved by {err}");
    }
    // One chain: no R̂, and no null in its place.
    std::fs::remove_file(&out).unwrap();
    let v = run_json(&fiber_args(ws, os, "101", "conditional"));
    assert!(v.get("rhat").is_none(), "{v}");
    for bad in [["--chains", "0"], ["--chains", "-1"], ["--chains", "102"]] {
        std::fs::remove_file(&out).ok();
        let mut args = fiber_args(ws, os, "101", "conditional");
        args.extend(bad);
        let o = dln().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{bad:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(err.contains("--chains"), "{err}");
        assert!(!out.exists());
    }
}
