//! `Reduction::compare_error`: a certified ‖G − G_r‖∞ against the a-priori bound 2Σ_{k>r}σ_k.
//!
//! lf10 at r = 3 (equilibrated, as `dln reduce` does by default) has the slow-mode indicator
//! ε·‖A‖_F/min|Re λ| ≈ 1e-8, so the computed reduced model may differ from the exact balanced
//! truncation by about that much relative to ‖G‖, and the comparison must allow for it. When the
//! projections were built from the back-transformed Gramian factors (original coordinates, dense
//! RS), the certified error was 6.73e-10 against the bound 6.40e-10 (5 % above); built in real
//! Schur coordinates (`reduce` today) it is the bound to 4e-8 relative. The comparison must not
//! call that a violation, and must say nothing on well-conditioned models.

mod common;

use dln_systems::model::FrequencyEvaluator;
use dln_systems::reduction::{BoundStatus, OrderSelection, ReductionOptions, reduce};

fn reduced(name: &str, r: usize) -> (common::Model, dln_systems::reduction::Reduction) {
    let m = common::load(name);
    let red = reduce(
        &m.sys,
        ReductionOptions {
            order: OrderSelection::Fixed(r),
            equilibrate: true,
            ..Default::default()
        },
    )
    .unwrap();
    (m, red)
}

#[test]
fn lf10_order_3_reaches_the_bound_within_the_sensitivity() {
    let (m, red) = reduced("lf10", 3);
    let err = red.hinf_error().unwrap();
    let c = red.compare_error(&err);
    assert_ne!(
        c.status,
        BoundStatus::AboveBound,
        "{c:?}, indicator {:e}",
        red.slow_mode_indicator
    );
    // Measured 1 + 4.1e-8 (excess 2.6e-17, sensitivity 8.4e-11); the back-transformed route gave
    // 1.05. The slow-mode indicator allows 4 eps kappa_slow = 4e-8 relative to 2 sum sigma.
    assert!((c.ratio - 1.0).abs() < 1e-6, "ratio {}, {c:?}", c.ratio);
    assert!(c.excess <= c.sensitivity, "{c:?}");
    assert!(
        (1e-9..1e-7).contains(&red.slow_mode_indicator),
        "{}",
        red.slow_mode_indicator
    );
    // The certificate is attained: the error of the returned model, sampled near the certified
    // peak against the equilibrated realization (the one reduced; the unequilibrated lf10
    // response is itself inaccurate, cond(M) ~ 2e6), reaches the bound too.
    let (eq, _) = dln_systems::equil::equilibrate(&m.sys).unwrap();
    let e = FrequencyEvaluator::new(&eq.sub(&red.system).unwrap()).unwrap();
    let w0 = err.frequency;
    let sampled = (0..201)
        .map(|k| {
            e.sigma_max(w0 * 10f64.powf(-0.01 + 1e-4 * f64::from(k)))
                .unwrap()
        })
        .fold(0.0, f64::max);
    assert!(
        sampled > red.error_bound * (1.0 - 1e-6) && sampled <= err.upper * (1.0 + 1e-6),
        "sampled {sampled:e}, bound {:e}, certified {:e}",
        red.error_bound,
        err.value
    );
}

#[test]
fn well_conditioned_models_are_within_the_bound() {
    for (name, r) in [
        ("build", 10),
        ("CDplayer", 12),
        ("build_dt", 8),
        ("slicot_ab09ad", 3),
    ] {
        let (_, red) = reduced(name, r);
        let err = red.hinf_error().unwrap();
        let c = red.compare_error(&err);
        assert_eq!(c.status, BoundStatus::WithinBound, "{name}: {c:?}");
        assert!(c.ratio <= 1.0 + 1e-8 && c.ratio >= 0.0, "{name}: {c:?}");
        assert!(c.sensitivity >= 0.0 && c.rounding >= 0.0);
    }
}
