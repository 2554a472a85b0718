//! Reproduces SLICOT's printed example results (AB09AD, AB09BD, AB09MD, AB09ND, AB13AD) and the
//! slycot/AB13DD reference error norms, comparing invariants (HSVs, transfer functions, D_r,
//! Markov parameters, error norms), never raw realizations.
mod common;

use common::{Model, f64s, load, mat, rel};
use dln_systems::SystemsError;
use dln_systems::gramian::hankel_singular_values;
use dln_systems::model::StateSpace;
use dln_systems::reduction::{
    Balancing, Method, OrderSelection, Reduction, ReductionOptions, reduce,
};
use faer::Mat;

/// The printed reduced realization (Ar, Br, Cr[, Dr]) of an example.
fn printed(m: &Model) -> StateSpace {
    let e = m.expected.as_ref().unwrap();
    let (ar, br, cr) = (mat(&e["Ar"]), mat(&e["Br"]), mat(&e["Cr"]));
    let dr = if e.get("Dr").is_some() {
        mat(&e["Dr"])
    } else {
        Mat::zeros(cr.nrows(), br.ncols())
    };
    StateSpace::continuous(ar, br, cr, dr).unwrap()
}

/// max over a grid of sigma_max(G1 - G2), relative to max sigma_max(G2)
fn tf_distance(g1: &StateSpace, g2: &StateSpace) -> f64 {
    let ws: Vec<f64> = (0..=200)
        .map(|k| 10f64.powf(-2.0 + 4.0 * k as f64 / 200.0))
        .chain([0.0])
        .collect();
    let r1 = g1.frequency_response(&ws).unwrap();
    let r2 = g2.frequency_response(&ws).unwrap();
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (a, b) in r1.iter().zip(&r2) {
        num = num.max(dln_linalg::singular_values((a - b).as_ref()).unwrap()[0]);
        den = den.max(dln_linalg::singular_values(b.as_ref()).unwrap()[0]);
    }
    num / den
}

fn opts(method: Method, balancing: Balancing, tol: f64, alpha: Option<f64>) -> ReductionOptions {
    ReductionOptions {
        method,
        balancing,
        order: OrderSelection::Tolerance(tol),
        min_tol: None,
        alpha,
        ..Default::default()
    }
}

fn check_printed_hsv(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 5e-5, "HSV {g} vs printed {w}");
    }
}

/// The printed matrices carry 4 decimals: their transfer function agrees with ours to ~1e-4.
const PRINTED_TF_TOL: f64 = 2e-4;

#[test]
fn ab09ad_balanced_truncation_example() {
    let m = load("slicot_ab09ad");
    let want_hsv = f64s(&m.expected.as_ref().unwrap()["hsv"]);
    let pr = printed(&m);
    let mut reds: Vec<Reduction> = Vec::new();
    for bal in [Balancing::BalancingFree, Balancing::SquareRoot] {
        let r = reduce(&m.sys, opts(Method::Truncation, bal, 0.1, None)).unwrap();
        assert_eq!(r.order, 5);
        assert_eq!(
            r.order,
            m.expected.as_ref().unwrap()["nr"].as_u64().unwrap() as usize
        );
        check_printed_hsv(&r.hsv, &want_hsv);
        assert!(r.system.d().norm_l2() == 0.0);
        let dist = tf_distance(&r.system, &pr);
        assert!(
            dist < PRINTED_TF_TOL,
            "{bal:?}: transfer function vs printed: {dist:e}"
        );
        // reduced-model HSVs are the leading HSVs (CT truncation), also of the printed model
        let hr = hankel_singular_values(&r.system).unwrap();
        for k in 0..5 {
            assert!(
                rel(hr[k], r.hsv[k]) < 1e-10,
                "{bal:?} k={k}: {} vs {}",
                hr[k],
                r.hsv[k]
            );
        }
        let hp = hankel_singular_values(&pr).unwrap();
        for k in 0..5 {
            assert!((hp[k] - want_hsv[k]).abs() < 5e-4);
        }
        reds.push(r);
    }
    // JOB='N' and JOB='B' give the same transfer function (up to rounding), same Markov parameters
    assert!(tf_distance(&reds[0].system, &reds[1].system) < 1e-10);
    let (m0, m1) = (
        reds[0].system.markov_parameters(4),
        reds[1].system.markov_parameters(4),
    );
    for (a, b) in m0.iter().zip(&m1) {
        assert!(dln_linalg::rel_diff(a.as_ref(), b.as_ref()) < 1e-10);
    }
    // SR: the reduced model is balanced
    let bal = &reds[1];
    let f = dln_systems::gramian::gramian_factors(&bal.system).unwrap();
    let (p, q) = (f.p(), f.q());
    for i in 0..5 {
        for j in 0..5 {
            let w = if i == j { bal.hsv[i] } else { 0.0 };
            assert!(
                (p[(i, j)] - w).abs() < 1e-12 * bal.hsv[0]
                    && (q[(i, j)] - w).abs() < 1e-12 * bal.hsv[0]
            );
        }
    }
    // error bounds
    let e = bal.hinf_error().unwrap().value;
    assert!(
        bal.error_lower_bound <= e * (1.0 + 1e-9) && e <= bal.error_bound,
        "{} <= {e} <= {}",
        bal.error_lower_bound,
        bal.error_bound
    );
    assert!((bal.error_bound - 2.0 * (want_hsv[5] + want_hsv[6])).abs() < 2e-4); // printed to 4 decimals
}

#[test]
fn ab09bd_singular_perturbation_example() {
    let m = load("slicot_ab09bd");
    let exp = m.expected.as_ref().unwrap();
    let want_dr = mat(&exp["Dr"]);
    let pr = printed(&m);
    for bal in [Balancing::BalancingFree, Balancing::SquareRoot] {
        let o = ReductionOptions {
            min_tol: Some(1e-14),
            ..opts(Method::SingularPerturbation, bal, 0.1, None)
        };
        let r = reduce(&m.sys, o).unwrap();
        assert_eq!(r.order, 5);
        check_printed_hsv(&r.hsv, &f64s(&exp["hsv"]));
        // D_r is an invariant of the reduced transfer function
        for i in 0..3 {
            for j in 0..2 {
                assert!(
                    (r.system.d()[(i, j)] - want_dr[(i, j)]).abs() <= 5e-5,
                    "Dr[{i},{j}]"
                );
            }
        }
        let dist = tf_distance(&r.system, &pr);
        assert!(
            dist < PRINTED_TF_TOL,
            "{bal:?}: transfer function vs printed: {dist:e}"
        );
        // SPA matches the DC gain exactly
        let g0 = m.sys.dc_gain().unwrap();
        let gr0 = r.system.dc_gain().unwrap();
        assert!(dln_linalg::rel_diff(gr0.as_ref(), g0.as_ref()) < 1e-10);
        let e = r.hinf_error().unwrap().value;
        assert!(r.error_lower_bound <= e * (1.0 + 1e-9) && e <= r.error_bound);
    }
}

#[test]
fn ab09md_alpha_stable_truncation_example() {
    let m = load("slicot_ab09md");
    let exp = m.expected.as_ref().unwrap();
    let alpha = exp["params"]["ALPHA"].as_f64().unwrap();
    let pr = printed(&m);
    for bal in [Balancing::BalancingFree, Balancing::SquareRoot] {
        let r = reduce(&m.sys, opts(Method::Truncation, bal, 0.1, Some(alpha))).unwrap();
        assert_eq!(r.order, 5);
        assert_eq!(r.unstable_order, 2);
        assert_eq!(r.stable_order, 3);
        check_printed_hsv(&r.hsv, &f64s(&exp["hsv_alpha_stable_part"]));
        let dist = tf_distance(&r.system, &pr);
        assert!(
            dist < PRINTED_TF_TOL,
            "{bal:?}: transfer function vs printed: {dist:e}"
        );
        // the kept alpha-unstable poles are exactly the original ones with Re >= alpha
        let mut orig: Vec<f64> = m
            .sys
            .poles()
            .unwrap()
            .iter()
            .filter(|l| l.re >= alpha)
            .map(|l| l.im)
            .collect();
        let mut kept: Vec<f64> = r
            .system
            .poles()
            .unwrap()
            .iter()
            .filter(|l| l.re >= alpha)
            .map(|l| l.im)
            .collect();
        orig.sort_by(f64::total_cmp);
        kept.sort_by(f64::total_cmp);
        assert_eq!(orig.len(), kept.len());
        for (a, b) in orig.iter().zip(&kept) {
            assert!((a - b).abs() < 1e-10);
        }
        let e = r.hinf_error().unwrap().value;
        assert!(
            r.error_lower_bound <= e * (1.0 + 1e-9) && e <= r.error_bound,
            "{} {e} {}",
            r.error_lower_bound,
            r.error_bound
        );
    }
    // Fixed order counts the kept unstable part (AB09MD's NR)
    let o = ReductionOptions {
        order: OrderSelection::Fixed(4),
        alpha: Some(alpha),
        ..Default::default()
    };
    let r = reduce(&m.sys, o).unwrap();
    assert_eq!((r.order, r.unstable_order, r.stable_order), (4, 2, 2));
    let o = ReductionOptions {
        order: OrderSelection::Fixed(1),
        alpha: Some(alpha),
        ..Default::default()
    };
    let r = reduce(&m.sys, o).unwrap();
    assert_eq!((r.order, r.unstable_order, r.stable_order), (2, 2, 0));
}

#[test]
fn ab09nd_alpha_stable_spa_example() {
    let m = load("slicot_ab09nd");
    let exp = m.expected.as_ref().unwrap();
    let alpha = exp["params"]["ALPHA"].as_f64().unwrap();
    let want_dr = mat(&exp["Dr"]);
    let pr = printed(&m);
    for bal in [Balancing::BalancingFree, Balancing::SquareRoot] {
        let o = ReductionOptions {
            min_tol: Some(1e-14),
            ..opts(Method::SingularPerturbation, bal, 0.1, Some(alpha))
        };
        let r = reduce(&m.sys, o).unwrap();
        assert_eq!((r.order, r.unstable_order), (5, 2));
        check_printed_hsv(&r.hsv, &f64s(&exp["hsv_alpha_stable_part"]));
        for i in 0..3 {
            for j in 0..2 {
                assert!(
                    (r.system.d()[(i, j)] - want_dr[(i, j)]).abs() <= 5e-5,
                    "Dr[{i},{j}]"
                );
            }
        }
        let dist = tf_distance(&r.system, &pr);
        assert!(
            dist < PRINTED_TF_TOL,
            "{bal:?}: transfer function vs printed: {dist:e}"
        );
    }
}

#[test]
fn ab13ad_hankel_norm_of_alpha_stable_part() {
    let m = load("slicot_ab13ad");
    let want = m.expected.as_ref().unwrap()["hankel_norm"]
        .as_f64()
        .unwrap();
    // ALPHA = 0: the whole (stable) system is the stable part
    let r = reduce(
        &m.sys,
        ReductionOptions {
            alpha: Some(0.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert!((r.hsv[0] - want).abs() <= 5e-6);
    assert_eq!(r.unstable_order, 0);
}

#[test]
fn unstable_system_needs_the_split() {
    let m = load("slicot_ab13bd");
    let e = reduce(&m.sys, ReductionOptions::default()).unwrap_err();
    assert!(
        matches!(e, SystemsError::Unstable { re, .. } if re > 0.0),
        "{e}"
    );
    let r = reduce(
        &m.sys,
        ReductionOptions {
            alpha: Some(0.0),
            order: OrderSelection::Fixed(5),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.unstable_order > 0 && r.order == 5);
    let err = r.hinf_error().unwrap().value;
    assert!(
        err <= r.error_bound && err >= r.error_lower_bound * (1.0 - 1e-9),
        "{err} vs {}",
        r.error_bound
    );
}

/// slycot AB09AD + AB13DD error norms (reference.json), and the sandwich
/// sigma_{r+1} <= ||G - G_r|| <= 2 sum_{k>r} sigma_k, for CT models and their DT images.
#[test]
fn error_norms_match_ab13dd_and_obey_the_bounds() {
    for name in ["slicot_ab09ad", "build"] {
        let m = load(name);
        let refr = m.reference.as_ref().unwrap();
        for red in refr["reductions"].as_array().unwrap() {
            let r_req = red["r"].as_u64().unwrap() as usize;
            let r = reduce(
                &m.sys,
                ReductionOptions {
                    order: OrderSelection::Fixed(r_req),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(r.order, r_req);
            let e = r.hinf_error().unwrap().value;
            assert!(rel(r.error_bound, red["bound_2sum_tail"].as_f64().unwrap()) < 1e-9);
            if red["hinf_err_numerically_reliable"]
                .as_bool()
                .unwrap_or(false)
            {
                let want = red["hinf_err_ab13dd"]["value"].as_f64().unwrap();
                assert!(
                    rel(e, want) < 1e-6,
                    "{name} r={r_req}: {e} vs AB13DD {want}"
                );
            }
            assert!(
                r.error_lower_bound <= e * (1.0 + 1e-8) && e <= r.error_bound * (1.0 + 1e-8),
                "{name} r={r_req}"
            );
        }
    }
}

#[test]
fn sandwich_on_discrete_images_and_spa() {
    for name in ["slicot_ab09ad_dt", "build_dt", "build"] {
        let m = load(name);
        for method in [Method::Truncation, Method::SingularPerturbation] {
            for r_req in [1, 2, 4, 6] {
                let o = ReductionOptions {
                    method,
                    order: OrderSelection::Fixed(r_req),
                    ..Default::default()
                };
                let r = reduce(&m.sys, o).unwrap();
                let e = r.hinf_error().unwrap().value;
                assert!(
                    r.error_lower_bound <= e * (1.0 + 1e-8) && e <= r.error_bound * (1.0 + 1e-8),
                    "{name} {method:?} r={r_req}: {} <= {e} <= {}",
                    r.error_lower_bound,
                    r.error_bound
                );
            }
        }
    }
}
