//! Power-of-two scaling before the Gramians (`dln_systems::equil`): exactness of the
//! equilibration, HSVs at input scalings 2^{±1000}, honest "not representable" errors, and
//! Gramian factors returned in the original coordinates.
mod common;

use dln_systems::SystemsError;
use dln_systems::equil::scale_system;
use dln_systems::gramian::{
    GramianOptions, controllability_factor_with, gramian_factors_with, hankel_singular_values_with,
};
use dln_systems::model::{Sampling, StateSpace};
use faer::Mat;

fn scaled(sys: &StateSpace, sa: f64, sb: f64, sc: f64) -> StateSpace {
    StateSpace::new(
        Mat::from_fn(sys.order(), sys.order(), |i, j| sys.a()[(i, j)] * sa),
        Mat::from_fn(sys.order(), sys.inputs(), |i, j| sys.b()[(i, j)] * sb),
        Mat::from_fn(sys.outputs(), sys.order(), |i, j| sys.c()[(i, j)] * sc),
        sys.d().to_owned(),
        sys.sampling(),
    )
    .unwrap()
}

fn max_rel(got: &[f64], want: &[f64], factor: f64) -> f64 {
    let s1 = want[0];
    got.iter()
        .zip(want)
        .filter(|(_, w)| **w >= 1e-8 * s1)
        .map(|(g, w)| ((g / factor) - w).abs() / w)
        .fold(0.0, f64::max)
}

#[test]
fn equilibration_is_an_exact_diagonal_similarity() {
    let m = common::load("lf10");
    let (s, sc) = scale_system(&m.sys, true).unwrap();
    let n = m.sys.order();
    assert!(sc.state.iter().any(|&k| k != 0), "lf10 must be rescaled");
    let p2 = |k: i32| 2f64.powi(k);
    for i in 0..n {
        for j in 0..n {
            let want = m.sys.a()[(i, j)] * p2(sc.state[j] - sc.state[i] - sc.ea);
            assert_eq!(s.a()[(i, j)].to_bits(), want.to_bits(), "A[{i},{j}]");
        }
        let want = m.sys.b()[(i, 0)] * p2(-sc.state[i] - sc.eb);
        assert_eq!(s.b()[(i, 0)].to_bits(), want.to_bits(), "B[{i}]");
        let want = m.sys.c()[(0, i)] * p2(sc.state[i] - sc.ec);
        assert_eq!(s.c()[(0, i)].to_bits(), want.to_bits(), "C[{i}]");
    }
    assert_eq!(sc.ea % 2, 0);
}

#[test]
fn hsvs_follow_input_scalings_of_two_to_the_plus_minus_1000() {
    for name in ["slicot_ab09ad", "slicot_ab09ad_dt", "build"] {
        let m = common::load(name);
        let base = hankel_singular_values_with(&m.sys, GramianOptions::default()).unwrap();
        for e in [-1000, -600, 600, 1000] {
            let s = 2f64.powi(e);
            // (A, sB, C): every HSV times s.
            let h = hankel_singular_values_with(&scaled(&m.sys, 1.0, s, 1.0), Default::default())
                .unwrap_or_else(|err| panic!("{name} B*2^{e}: {err}"));
            let r = max_rel(&h, &base, s);
            assert!(r < 1e-13, "{name} B*2^{e}: rel {r:e}");
            // (A, sB, C/s): invariant.
            let h =
                hankel_singular_values_with(&scaled(&m.sys, 1.0, s, 1.0 / s), Default::default())
                    .unwrap();
            assert!(max_rel(&h, &base, 1.0) < 1e-13, "{name} B*2^{e}, C/2^{e}");
            if m.sys.sampling() == Sampling::Continuous && e.abs() <= 600 {
                // (sA, sB, sC): P -> sP, Q -> sQ, sigma -> s sigma.
                let h = hankel_singular_values_with(&scaled(&m.sys, s, s, s), Default::default())
                    .unwrap();
                assert!(max_rel(&h, &base, s) < 1e-13, "{name} all*2^{e}");
            }
        }
    }
}

#[test]
fn tiny_b_gives_scale_invariant_hsvs() {
    // Issue 9/12: B x 1e-200 used to give HSVs ~1e-11 x too small.
    let m = common::load("slicot_ab09ad");
    let base = hankel_singular_values_with(&m.sys, Default::default()).unwrap();
    for s in [1e-200, 1e-300, 1e200, 1e300] {
        let h =
            hankel_singular_values_with(&scaled(&m.sys, 1.0, s, 1.0), Default::default()).unwrap();
        let r = max_rel(&h, &base, s);
        assert!(r < 1e-13, "B*{s:e}: rel {r:e}");
    }
}

#[test]
fn unrepresentable_hsvs_are_reported_as_such() {
    let m = common::load("slicot_ab09ad");
    let s = 2f64.powi(1000);
    let sys = scaled(&m.sys, 1.0, s, s); // sigma ~ 2.5 * 2^2000
    match hankel_singular_values_with(&sys, Default::default()) {
        Err(e @ SystemsError::NotRepresentable { quantity, .. }) => {
            assert_eq!(quantity, "Hankel singular value");
            let msg = e.to_string();
            assert!(msg.contains("σ_1") && msg.contains("2^2"), "{msg}");
        }
        other => panic!("expected NotRepresentable, got {other:?}"),
    }
    let tiny = scaled(&m.sys, 1.0, 1.0 / s, 1.0 / s); // sigma ~ 2.5 * 2^-2000
    assert!(matches!(
        hankel_singular_values_with(&tiny, Default::default()),
        Err(SystemsError::NotRepresentable { .. })
    ));
}

#[test]
fn gramian_factors_are_returned_in_original_coordinates() {
    for name in ["slicot_ab09ad", "slicot_ab09ad_dt", "build"] {
        let m = common::load(name);
        let on = gramian_factors_with(&m.sys, GramianOptions { equilibrate: true }).unwrap();
        let off = gramian_factors_with(&m.sys, GramianOptions { equilibrate: false }).unwrap();
        let (p1, p0) = (on.p(), off.p());
        let (q1, q0) = (on.q(), off.q());
        let n = m.sys.order() as f64;
        let dp = (&p1 - &p0).norm_l2() / p0.norm_l2();
        let dq = (&q1 - &q0).norm_l2() / q0.norm_l2();
        assert!(dp < 1e3 * n * f64::EPSILON, "{name}: P differs by {dp:e}");
        assert!(dq < 1e3 * n * f64::EPSILON, "{name}: Q differs by {dq:e}");
        let (rp, rq) = on.residuals(&m.sys);
        assert!(
            rp < 100.0 * n * f64::EPSILON && rq < 100.0 * n * f64::EPSILON,
            "{rp:e} {rq:e}"
        );
        // The factor alone agrees with the pair's.
        let s = controllability_factor_with(&m.sys, GramianOptions { equilibrate: true }).unwrap();
        assert!((&s - &on.s).norm_l2() <= 1e-14 * on.s.norm_l2());
        // Triangular structure survives the diagonal unscaling.
        for i in 0..on.s.nrows() {
            for j in 0..i {
                assert_eq!(on.s[(i, j)].to_bits(), 0f64.to_bits());
                assert_eq!(on.r[(j, i)].to_bits(), 0f64.to_bits());
            }
        }
    }
}
