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

/// The flow report's relative moment norm $\|\mathbf G\|/\|\mathbf W\|^2$ is computed in scaled form:
/// at $t=0$ it is the same for weights $\times2^{-500}$ (where $\|\mathbf G\|^2\approx2^{-2000}$) as for
/// the unscaled weights, for both flows.
#[test]
fn flow_reports_the_relative_moment_norm_at_tiny_scale() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(21, &[3, 4, 3], None);
    let want = moment_norm(&layers) / l2_norm_sq(&layers);
    let c = 2f64.powi(-500);
    let input = dir.path().join("w.npz");
    write_weights(&input, &scale(&layers, c));
    let out = dir.path().join("f.npz");
    for kind in ["l2", "kirwan-ness"] {
        let j = run_json(&[
            "flow",
            kind,
            input.to_str().unwrap(),
            "--t-end",
            "0.5",
            "--samples",
            "2",
            "--atol",
            &format!("{:e}", 1e-12 * c),
            "--out",
            out.to_str().unwrap(),
        ]);
        let r0 = j["moment_norm_rel"][0].as_f64().unwrap();
        assert!(rel(r0, want) < 1e-12, "{kind}: {r0:e} vs {want:e}: {j}");
    }
}

/// `dln flow l2` on weights $\times2^{\pm500}$ and $\times2^{\pm1000}$. The L² balancing flow is
/// homogeneous of degree 1 ($\mathbf H(\mathbf b)=\mathbf G$ is quadratic on both sides, so $\mathbf b$ is
/// scale-free), hence the flow of $c\mathbf W$ is $c$ times the flow of $\mathbf W$ at the same times when
/// the absolute tolerance is scaled alike (`--atol` is in the units of $\mathbf W$). The library runs
/// the flow on the weights normalised by a power of two, so with a power-of-two $c$ every rounding
/// is the same: the relative moment norms agree to rounding, the absolute ones are $c^2$ times the
/// unscaled ones (strings beyond `f64`, e.g. $\|\mathbf G\|\approx2^{\pm2000}$), and the output is $c$
/// times the unscaled one. (Before the normalisation, at $2^{-500}$ the flow silently stayed put and
/// at $2^{+500}$ its fiber solve returned NaN.)
#[test]
fn l2_flow_at_scales_two_to_the_plus_minus_500_and_1000() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(21, &[3, 4, 3], None);
    let base = dir.path().join("w.npz");
    write_weights(&base, &layers);
    let base_out = dir.path().join("f.npz");
    let atol = 1e-12;
    let flow = |input: &std::path::Path, out: &std::path::Path, atol: f64| {
        run_json(&[
            "flow",
            "l2",
            input.to_str().unwrap(),
            "--t-end",
            "0.5",
            "--samples",
            "3",
            "--atol",
            &format!("{atol:e}"),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let j0 = flow(&base, &base_out, atol);
    let rel0: Vec<f64> = j0["moment_norm_rel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(rel0[2] < 0.5 * rel0[0], "the flow balances: {j0}");
    let w0: Vec<Mat<f64>> = read_weights(&base_out);
    let g0: Vec<f64> = j0["moment_norm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for e in [500, -500, 1000, -1000] {
        let c = 2f64.powi(e);
        let label = format!("x2^{e}");
        let input = dir.path().join(format!("w{e}.npz"));
        write_weights(&input, &scale(&layers, c));
        let out = dir.path().join(format!("f{e}.npz"));
        let j = flow(&input, &out, atol * c);
        let r: Vec<f64> = j["moment_norm_rel"]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: {j}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(r.len(), rel0.len(), "{label}");
        for (a, b) in r.iter().zip(&rel0) {
            assert!(
                rel(*a, *b) < 1e-8,
                "{label}: relative moment norm {a:e} vs {b:e}"
            );
        }
        // ‖G‖ in the caller's units: c² times the unscaled one (a string when beyond f64).
        for (v, g) in j["moment_norm"].as_array().unwrap().iter().zip(&g0) {
            let got = log10_of(v);
            let want = g.log10() + 2.0 * f64::from(e) * 2f64.log10();
            assert!(
                (got - want).abs() < 1e-9,
                "{label}: moment norm {v} vs {g:e} c^2"
            );
        }
        let w: Vec<Mat<f64>> = read_weights(&out);
        for (x, y) in scale(&w, 1.0 / c).iter().zip(&w0) {
            assert!(
                dln::linalg::rel_diff(x.as_ref(), y.as_ref()) < 1e-8,
                "{label}"
            );
        }
    }
}

/// `dln flow kirwan-ness` at weights $\times2^{\pm500}$. The Kirwan–Ness flow is cubic in $\mathbf W$: the
/// flow of $c\mathbf W$ at time $t$ is $c$ times the flow of $\mathbf W$ at time $c^2t$. So at $2^{-500}$ the
/// run to $t = 2^{1000}\cdot0.5$ and at $2^{+500}$ the run to $t = 2^{-1000}\cdot0.5$ are the scaled
/// unscaled run to $0.5$; at $2^{-500}$ the run to $t = 0.5$ does not move (the flow's speed is
/// $\approx2^{-1000}$: the right answer), at $2^{+500}$ it is out of reach of the step budget (it is
/// the unscaled run to $2^{999}$) and refused saying why, and at $2^{1000}$ its time is not
/// representable: an error that says so.
#[test]
fn kirwan_ness_flow_at_scales_two_to_the_plus_minus_500() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(22, &[3, 4, 3], None);
    let flow = |w: &[Mat<f64>], name: &str, t_end: f64, atol: f64| {
        let input = dir.path().join(format!("{name}.npz"));
        write_weights(&input, w);
        let out = dir.path().join(format!("{name}-out.npz"));
        let args = [
            "flow",
            "kirwan-ness",
            input.to_str().unwrap(),
            "--t-end",
            &format!("{t_end:e}"),
            "--samples",
            "3",
            "--atol",
            &format!("{atol:e}"),
            "--out",
            out.to_str().unwrap(),
        ];
        (args.map(String::from), out)
    };
    let series = |j: &serde_json::Value| -> Vec<f64> {
        j["moment_norm_rel"]
            .as_array()
            .unwrap_or_else(|| panic!("{j}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let atol = 1e-12;
    let (args, base_out) = flow(&layers, "base", 0.5, atol);
    let j0 = run_json(&args.each_ref().map(String::as_str));
    let rel0 = series(&j0);
    assert!(rel0[2] < 0.9 * rel0[0], "the flow balances: {j0}");
    let w0: Vec<Mat<f64>> = read_weights(&base_out);
    for e in [500, -500] {
        let c = 2f64.powi(e);
        let label = format!("x2^{e}");
        let t_end = 0.5 * 2f64.powi(-2 * e);
        let (args, out) = flow(&scale(&layers, c), &format!("w{e}"), t_end, atol * c);
        let j = run_json(&args.each_ref().map(String::as_str));
        for (a, b) in series(&j).iter().zip(&rel0) {
            assert!(rel(*a, *b) < 1e-10, "{label}: {a:e} vs {b:e}");
        }
        let w: Vec<Mat<f64>> = read_weights(&out);
        for (x, y) in scale(&w, 1.0 / c).iter().zip(&w0) {
            assert!(
                dln::linalg::rel_diff(x.as_ref(), y.as_ref()) < 1e-10,
                "{label}"
            );
        }
    }
    // x2^-500 to t = 0.5: the right answer is "no visible motion".
    let (args, _) = flow(
        &scale(&layers, 2f64.powi(-500)),
        "tiny",
        0.5,
        atol * 2f64.powi(-500),
    );
    let r = series(&run_json(&args.each_ref().map(String::as_str)));
    assert!(rel(r[2], r[0]) < 1e-14, "{r:?}");
    // x2^500 to t = 0.5: refused by the step budget, naming the cause.
    let (args, out) = flow(
        &scale(&layers, 2f64.powi(500)),
        "big",
        0.5,
        atol * 2f64.powi(500),
    );
    run_fail(
        &args.each_ref().map(String::as_str),
        &["out of reach", "‖W‖²"],
    );
    assert!(!out.exists());
    // x2^1000: not representable.
    let (args, out) = flow(&scale(&layers, 2f64.powi(1000)), "huge", 0.5, 1.0);
    run_fail(
        &args.each_ref().map(String::as_str),
        &["not representable", "time scale"],
    );
    assert!(!out.exists());
}

/// `dln train` (flow and gradient descent) and `dln sample train` from weights ×2^500, whose loss
/// overflows f64: "not representable", no output (was "diverged at t = 0"). From weights ×2^−500
/// the training flow keeps ‖G‖ (κ = 0) to 1e−6 relative: the absolute tolerance is read in units
/// of ‖W(0)‖ (with `--atol 1e-12` taken literally ‖G‖ grew a thousandfold).
#[test]
fn training_at_scales_two_to_the_plus_minus_500() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.npz");
    let u = Mat::<f64>::from_fn(2, 10, |i, j| ((i * 10 + j) as f64).sin());
    let y = Mat::<f64>::from_fn(2, 10, |i, j| ((i * 10 + j) as f64 * 0.7).cos());
    write_zip(
        &data,
        &[("inputs", npy_bytes(&u)), ("targets", npy_bytes(&y))],
        false,
    );
    let d = data.to_str().unwrap();
    let out = dir.path().join("t.npz");
    let o = out.to_str().unwrap();
    let big = format!("{:e}", 2f64.powi(500));
    let base = [
        "train",
        d,
        "--widths",
        "2,3,2",
        "--init-scale",
        &big,
        "--out",
        o,
    ];
    for extra in [&["--t-end", "1"][..], &["--steps", "5", "--lr", "0.01"][..]] {
        run_fail(
            &[&base[..], extra].concat(),
            &["not representable", "initial weights"],
        );
        assert!(!out.exists());
    }
    let w0 = dir.path().join("w0.npz");
    let layers = scale(&random_layers::<f64>(5, &[2, 3, 2], None), 2f64.powi(500));
    write_weights(&w0, &layers);
    let w = w0.to_str().unwrap();
    run_fail(
        &[
            "sample", "train", d, "--init", w, "--beta", "10", "--kappa", "1", "--t-end", "1",
            "--dt", "0.01", "--paths", "2", "--out", o,
        ],
        &["not representable", "initial weights"],
    );
    assert!(!out.exists());
    let tiny = format!("{:e}", 2f64.powi(-500));
    let args = [
        "train",
        d,
        "--widths",
        "2,3,2",
        "--init-scale",
        &tiny,
        "--t-end",
        "5",
        "--out",
        o,
    ];
    let json = run_json(&args);
    let g = floats(&json["moment_norm"]);
    for gk in &g {
        assert!(rel(*gk, g[0]) < 1e-6, "‖G‖ not conserved: {g:?}");
    }
}
