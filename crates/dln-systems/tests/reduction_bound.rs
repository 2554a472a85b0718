//! `Reduction::compare_error`: a certified ‖G − G_r‖∞ against the a-priori bound 2Σ_{k>r}σ_k.
//!
//! lf10 at r = 3 (equilibrated, as `dln reduce` does by default) is the known case where the
//! certified error of the computed reduced model is 5 % above the bound of the exact reduction:
//! its slow-mode indicator ε·‖A‖_F/min|Re λ| ≈ 1e-8 makes the computed model differ from the
//! exact balanced truncation by about that much relative to ‖G‖. The comparison must say so, and
//! say nothing on well-conditioned models.

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
fn lf10_order_3_is_above_the_bound_within_the_sensitivity() {
    let (m, red) = reduced("lf10", 3);
    let err = red.hinf_error().unwrap();
    let c = red.compare_error(&err);
    assert_eq!(
        c.status,
        BoundStatus::AboveBoundWithinSensitivity,
        "{c:?}, indicator {:e}",
        red.slow_mode_indicator
    );
    // The numbers of the issue: 6.73e-10 against 6.40e-10.
    assert!((c.ratio - 1.05).abs() < 0.02, "ratio {}", c.ratio);
    assert!(
        c.excess > 100.0 * c.rounding && c.excess <= c.sensitivity,
        "{c:?}"
    );
    assert!(
        (1e-9..1e-7).contains(&red.slow_mode_indicator),
        "{}",
        red.slow_mode_indicator
    );
    // The excess is real, not an artefact of the certificate: the error of the returned model,
    // sampled near the certified peak against the equilibrated realization (the one reduced; the
    // unequilibrated lf10 response is itself inaccurate, cond(M) ~ 2e6), exceeds the bound too.
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
        sampled > red.error_bound * 1.02 && sampled <= err.upper * (1.0 + 1e-6),
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
