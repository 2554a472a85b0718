//! Hankel singular values of every system in `testdata/lti` against SLICOT's, measured by the
//! spread of SLICOT's own routes (issue 9, "accuracy on badly scaled models").
//!
//! Each model directory carries `hsv_reference.json` (computed outside this project with
//! slycot 0.7.1): AB09AD with `EQUIL='N'` and `'S'`, SB03OD factors + SVD, and for the small
//! models the exact HSVs of the stored data (mpmath, 50 digits, via the eigendecomposition).
//! Criterion (issue 9's), over $\sigma_k\ge10^{-8}\sigma_1$: the largest relative deviation from
//! the reference (the exact values where present, else AB09AD with `EQUIL='S'`) is at most
//! $\max(10^{-9},\,10\,d)$, $d$ = the largest pairwise relative disagreement of SLICOT's three
//! routes. A stricter comparison with SLICOT's *best* route (AB09AD, `EQUIL='S'`, against the exact
//! values) is `strict_against_slicot_best` (opt-in: it documents an open gap on lf10), with
//! equilibration on (the unequilibrated error is printed alongside).
mod common;

use common::{f64s, lti_dir, read_json};
use dln_systems::gramian::{GramianOptions, hankel_singular_values_with};
use dln_systems::refine::Refinement;

fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    let s1 = want[0];
    (0..want.len())
        .filter(|&k| want[k] >= 1e-8 * s1)
        .map(|k| (got[k] - want[k]).abs() / want[k])
        .fold(0.0, f64::max)
}

/// (our error, allowed) for one model directory name.
fn check(name: &str, equilibrate: bool) -> (f64, f64) {
    let m = common::load(name);
    let r = read_json(&lti_dir().join(name).join("hsv_reference.json"));
    let hsv = hankel_singular_values_with(
        &m.sys,
        GramianOptions {
            equilibrate,
            ..Default::default()
        },
    )
    .unwrap();
    let n_route = f64s(&r["ab09ad_N"]);
    let s_route = f64s(&r["ab09ad_S"]);
    let o_route = f64s(&r["sb03od_svd"]);
    let d = rel_err(&n_route, &s_route)
        .max(rel_err(&o_route, &s_route))
        .max(rel_err(&o_route, &n_route));
    let want = if r.get("exact").is_some() {
        f64s(&r["exact"])
    } else {
        s_route
    };
    (rel_err(&hsv, &want), (10.0 * d).max(1e-9))
}

/// (our error, 10 x SLICOT-best's error, both against the exact HSVs), for models that have them.
fn check_strict(name: &str) -> Option<(f64, f64)> {
    let m = common::load(name);
    let r = read_json(&lti_dir().join(name).join("hsv_reference.json"));
    let exact = f64s(r.get("exact")?);
    let hsv = hankel_singular_values_with(
        &m.sys,
        GramianOptions {
            equilibrate: true,
            ..Default::default()
        },
    )
    .unwrap();
    let off = hankel_singular_values_with(
        &m.sys,
        GramianOptions {
            equilibrate: false,
            ..Default::default()
        },
    )
    .unwrap();
    eprintln!(
        "{name:18} unequilibrated rel err {:9.2e}",
        rel_err(&off, &exact)
    );
    let best = rel_err(&f64s(&r["ab09ad_S"]), &exact);
    Some((rel_err(&hsv, &exact), (10.0 * best).max(1e-9)))
}

fn models() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(lti_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            p.join("hsv_reference.json")
                .exists()
                .then(|| p.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_model_reproduces_slicot_hsvs_within_its_route_spread() {
    let names = models();
    assert!(names.len() >= 15, "reference files missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let (err, tol) = check(name, true);
        eprintln!("{name:18} rel err {err:9.2e}  allowed {tol:9.2e}");
        if err > tol {
            failures.push(format!("{name}: {err:e} > {tol:e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

/// Issue 9's strict comparison with SLICOT's *best* route (AB09AD with equilibration): within
/// 10x its error against the exact HSVs, with the default options plus equilibration (so
/// [`Refinement::Auto`]). On lf10 the unrefined pipeline is at 1.6e-8 where AB09AD is at
/// 8.9e-10: the Hammarling factor is exact to 2e-15 for the *computed* Schur form, and the
/// Schur form's backward error (3.5e-15) moves $\sigma_1$ by 1.6e-8 because the slowest mode is
/// $\approx2\cdot10^{-8}\|A\|_F$. One refinement step of the Gramians against the original
/// $A$ ([`dln_systems::refine`]) brings it to 7e-13. The unequilibrated error is printed
/// alongside.
#[test]
fn strict_against_slicot_best() {
    let mut failures = Vec::new();
    for name in models() {
        if let Some((err, tol)) = check_strict(&name) {
            eprintln!("{name:18} rel err {err:9.2e}  10 x SLICOT-best {tol:9.2e}");
            if err > tol {
                failures.push(format!("{name}: {err:e} > {tol:e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn lf10_needs_equilibration() {
    // cond(M) ~ 2e6: row norms of A from 1 to 1e13. Unequilibrated, sigma_4 and sigma_5 are off
    // by factors 2.3 and 22 (sigma_1..5 kept), refined or not; equilibrated, the worst is 7e-13
    // relative (1.6e-8 unrefined).
    let (on, _) = check("lf10", true);
    let (off, _) = check("lf10", false);
    assert!(on < 1e-7, "equilibrated lf10: {on:e}");
    assert!(
        off > 1e3 * on,
        "the unequilibrated error {off:e} should be far larger than {on:e}"
    );
}

/// (unrefined error, refined error, the reference's own resolution) for one model: the errors
/// against the exact HSVs where the model has them (resolution 0), else against AB09AD (EQUIL =
/// 'S'), whose resolution is the largest disagreement between SLICOT's independent routes (an
/// error difference below it cannot be told apart by this reference).
fn refined_vs_unrefined(name: &str) -> (f64, f64, f64) {
    let m = common::load(name);
    let r = read_json(&lti_dir().join(name).join("hsv_reference.json"));
    let (want, resolution) = match r.get("exact") {
        Some(e) => (f64s(e), 0.0),
        None => {
            let s_route = f64s(&r["ab09ad_S"]);
            let spread = rel_err(&f64s(&r["ab09ad_N"]), &s_route)
                .max(rel_err(&f64s(&r["sb03od_svd"]), &s_route));
            (s_route, spread)
        }
    };
    let err = |refine| {
        let o = GramianOptions {
            equilibrate: true,
            refine,
        };
        rel_err(&hankel_singular_values_with(&m.sys, o).unwrap(), &want)
    };
    (err(Refinement::Never), err(Refinement::Always), resolution)
}

#[test]
fn refinement_fixes_lf10_sigma_1() {
    let (never, always, _) = refined_vs_unrefined("lf10");
    eprintln!("lf10: unrefined {never:9.2e}, refined {always:9.2e}");
    assert!(
        never > 1e-9,
        "lf10 unrefined {never:e}: the gap this test documents is gone"
    );
    assert!(always < 1e-11, "lf10 refined {always:e}");
}

/// Refinement is safe where it is not needed: forced on every model, the error stays within 2x (or
/// 1e-12) of the unrefined error, or within the reference's own resolution (SLICOT's routes
/// disagree by 1.3e-9 on `random`: there the unrefined 1.6e-11 and the refined 5.7e-10 against
/// AB09AD cannot be ranked). Measured worst outside that: 1.6x (heat-cont_dt).
#[test]
fn refinement_never_spoils_a_model() {
    let mut failures = Vec::new();
    for name in models() {
        let (never, always, resolution) = refined_vs_unrefined(&name);
        eprintln!(
            "{name:18} unrefined {never:9.2e}  refined {always:9.2e}  reference resolution {resolution:9.2e}"
        );
        if always > (2.0 * never).max(resolution).max(1e-12) {
            failures.push(format!("{name}: {never:e} -> {always:e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
