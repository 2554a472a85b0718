//! The balancing flows at extreme scales, real and complex. Both flows are homogeneous: the L²
//! flow $\dot{\mathbf W} = -\mathbf w_{\mathbf b}$ is of degree 1 (the flow of $c\mathbf W$ is $c$ times the flow of
//! $\mathbf W$ at the same times) and the Kirwan–Ness flow is of degree 3 (the flow of $c\mathbf W$ at time
//! $t$ is $c$ times the flow of $\mathbf W$ at time $c^2t$). With $c = 2^{k}$, $k$ up to $\pm1000$, and the
//! absolute tolerance scaled alike, every reported quantity must be the rescaled one of the run at
//! scale 1 (to rounding), and the flows must actually move: at $2^{-500}$ the velocity of the
//! unnormalised L² flow is $\approx2^{-500}$, far below any absolute tolerance.

mod common;
use common::*;
use dln_algebra::Network;
use dln_flows::balancing::{
    BalancingFlow, BalancingOptions, BalancingRun, balancing_flow, linspace,
};
use dln_flows::{FlowBuilder, FlowError, FnObserver, Progress};
use dln_linalg::{Scalar, ScaledReal, c64, rel_diff, scale_pow2};
use std::ops::ControlFlow;

const RTOL: f64 = 1e-10;
const ATOL: f64 = 1e-12;

fn opts(flow: BalancingFlow, atol: f64) -> BalancingOptions {
    BalancingOptions {
        flow,
        integration: FlowBuilder::new().rtol(RTOL).atol(atol).build().unwrap(),
        ..Default::default()
    }
}

fn scaled<T: Scalar>(w: &Network<T>, k: i64) -> Network<T> {
    Network::new(
        w.layers()
            .iter()
            .map(|l| scale_pow2(l.as_ref(), k))
            .collect(),
    )
    .unwrap()
}

/// $|a - b|/|b|$ for scaled reals (exact exponents, so it works far outside `f64`).
fn rel_scaled(a: ScaledReal, b: ScaledReal) -> f64 {
    if b.is_zero() {
        return if a.is_zero() { 0.0 } else { f64::INFINITY };
    }
    a.sub(b).ratio(b).abs()
}

fn shift(x: ScaledReal, k: i64) -> ScaledReal {
    ScaledReal::new(x.mantissa(), x.exponent() + k)
}

/// `run` (of $2^{k}\mathbf W$) against `base` (of $\mathbf W$): the same number of samples, the relative
/// quantities equal, the absolute ones $\times2^{2k}$, the network $\times2^{k}$.
fn same_up_to_scale<T: Scalar>(run: &BalancingRun<T>, base: &BalancingRun<T>, k: i64, label: &str) {
    let tol = 1e-12;
    assert_eq!(run.samples.len(), base.samples.len(), "{label}");
    assert!(
        rel_scaled(
            run.lower_bound_scaled,
            shift(base.lower_bound_scaled, 2 * k)
        ) < tol,
        "{label}: lower bound"
    );
    for (s, b) in run.samples.iter().zip(&base.samples) {
        let at = format!("{label} at sample t = {:e}", s.t);
        assert!(
            (s.moment_norm_rel - b.moment_norm_rel).abs() <= tol * b.moment_norm_rel,
            "{at}: relative moment norm {:e} vs {:e}",
            s.moment_norm_rel,
            b.moment_norm_rel
        );
        for (name, x, y) in [
            ("moment norm", s.moment_norm_scaled, b.moment_norm_scaled),
            ("|W|^2", s.l2_norm_sq_scaled, b.l2_norm_sq_scaled),
        ] {
            assert!(
                rel_scaled(x, shift(y, 2 * k)) < tol,
                "{at}: {name} {x} vs {y} x 2^{}",
                2 * k
            );
        }
        // The gap is a difference of two nearly equal numbers: compare it against |W|^2.
        let gap_err = s.l2_gap_scaled.sub(shift(b.l2_gap_scaled, 2 * k));
        assert!(
            gap_err.ratio(s.l2_norm_sq_scaled).abs() < tol,
            "{at}: gap {} vs {}",
            s.l2_gap_scaled,
            b.l2_gap_scaled
        );
        assert!(s.product_rel_change < 1e-12, "{at}: X drifts");
    }
    let back = scaled(&run.network, -k);
    for (x, y) in back.layers().iter().zip(base.network.layers()) {
        assert!(rel_diff(x.as_ref(), y.as_ref()) < tol, "{label}: network");
    }
}

fn l2_at_scales<T: Scalar>(seed: u64, widths: &[usize]) {
    let w: Network<T> = net(seed, widths, 1.0);
    let times = linspace(0.5, 3);
    let base = balancing_flow(&w, &opts(BalancingFlow::L2, ATOL), &times, &mut ()).unwrap();
    // The flow moves: G(t) = G(0)e^{-2t}.
    let r = base.samples[2].moment_norm / base.samples[0].moment_norm;
    assert!((r / (-1.0f64).exp() - 1.0).abs() < 1e-7, "decay {r}");
    for k in [-1000, -500, -3, 3, 500, 1000] {
        let label = format!("L2 x2^{k} {}", std::any::type_name::<T>());
        let run = balancing_flow(
            &scaled(&w, k),
            &opts(BalancingFlow::L2, ATOL * 2f64.powi(k as i32)),
            &times,
            &mut (),
        )
        .unwrap_or_else(|e| panic!("{label}: {e}"));
        same_up_to_scale(&run, &base, k, &label);
        for (s, b) in run.samples.iter().zip(&base.samples) {
            assert_eq!(s.t.to_bits(), b.t.to_bits(), "{label}: times in user units");
        }
    }
}

#[test]
fn l2_flow_is_scale_covariant_real() {
    l2_at_scales::<f64>(1, &[3, 4, 3]);
    l2_at_scales::<f64>(2, &[3, 3, 3, 3]);
}

#[test]
fn l2_flow_is_scale_covariant_complex() {
    l2_at_scales::<c64>(3, &[3, 4, 3]);
}

/// The Kirwan–Ness flow of $2^{k}\mathbf W$ at times $2^{-2k}t$ is $2^{k}$ times the flow of $\mathbf W$ at
/// times $t$.
fn kn_at_scales<T: Scalar>(seed: u64, widths: &[usize]) {
    let w: Network<T> = net(seed, widths, 1.0);
    let times = linspace(0.5, 3);
    let base = balancing_flow(&w, &opts(BalancingFlow::KirwanNess, ATOL), &times, &mut ()).unwrap();
    assert!(
        base.samples[2].moment_norm_rel < 0.9 * base.samples[0].moment_norm_rel,
        "the flow moves"
    );
    for k in [-500, -3, 3, 500] {
        let label = format!("KN x2^{k} {}", std::any::type_name::<T>());
        let user_times: Vec<f64> = times.iter().map(|t| t * 2f64.powi(-2 * k as i32)).collect();
        let mut last_seen = None;
        let mut obs = FnObserver(|p: &Progress<'_, T>| {
            last_seen = Some((p.t, p.t_end, dln_algebra::tuple_norm_sq(p.weights)));
            ControlFlow::Continue(())
        });
        let run = balancing_flow(
            &scaled(&w, k),
            &opts(BalancingFlow::KirwanNess, ATOL * 2f64.powi(k as i32)),
            &user_times,
            &mut obs,
        )
        .unwrap_or_else(|e| panic!("{label}: {e}"));
        same_up_to_scale(&run, &base, k, &label);
        for (s, t) in run.samples.iter().zip(&user_times) {
            assert_eq!(s.t.to_bits(), t.to_bits(), "{label}: times in user units");
        }
        // The observer sees the caller's units: the last step ends at the caller's t_end, with
        // weights of the caller's size.
        let (t, t_end, w2) = last_seen.expect("observed");
        assert_eq!(t_end.to_bits(), user_times[2].to_bits(), "{label}");
        assert!((t / t_end - 1.0).abs() < 1e-12, "{label}: observer t {t:e}");
        let w2_want = base.samples[2].l2_norm_sq * 4f64.powi(k as i32);
        if w2_want.is_normal() {
            assert!(
                (w2 / w2_want - 1.0).abs() < 1e-10,
                "{label}: observer weights"
            );
        }
    }
}

#[test]
fn kirwan_ness_flow_is_scale_covariant_with_time_rescaled() {
    kn_at_scales::<f64>(4, &[3, 4, 3]);
    kn_at_scales::<c64>(5, &[3, 3, 3]);
}

/// At weights $\times2^{-500}$ the Kirwan–Ness flow's speed is $\approx2^{-1000}$: over $t = 1$ nothing
/// moves (to rounding), which is the right answer; at $\times2^{1000}$ the time $t = 1$ is $2^{2000}$
/// of the flow's time units: an error that says what is not representable.
#[test]
fn kirwan_ness_flow_at_the_ends_of_the_range() {
    let w: Network<f64> = net(6, &[3, 4, 3], 1.0);
    let tiny = scaled(&w, -500);
    let run = balancing_flow(
        &tiny,
        &opts(BalancingFlow::KirwanNess, ATOL * 2f64.powi(-500)),
        &[0.0, 1.0],
        &mut (),
    )
    .unwrap();
    let (a, b) = (&run.samples[0], &run.samples[1]);
    assert!((b.moment_norm_rel / a.moment_norm_rel - 1.0).abs() < 1e-14);
    for (x, y) in run.network.layers().iter().zip(tiny.layers()) {
        assert!(rel_diff(x.as_ref(), y.as_ref()) < 1e-14);
    }
    let huge = scaled(&w, 1000);
    let err = balancing_flow(
        &huge,
        &opts(BalancingFlow::KirwanNess, 1.0),
        &[0.0, 1.0],
        &mut (),
    )
    .unwrap_err();
    assert!(
        matches!(&err, FlowError::NotRepresentable { what } if what.contains("time scale")),
        "{err}"
    );
}

/// Layers of very different magnitudes ($2^{600}$ and $2^{-450}$): dividing both by $\|\mathbf W\|\approx2^{600}$ would
/// push the small layer's entries into the subnormal range (losing bits: the lower bound would be
/// off by $\approx10^{-7}$); the normalisation stops short of that, and the flow follows its decay law.
#[test]
fn l2_flow_with_layers_of_very_different_magnitudes() {
    let w: Network<f64> = net(7, &[3, 3, 3], 1.0);
    let base = balancing_flow(&w, &opts(BalancingFlow::L2, ATOL), &[0.0, 0.5], &mut ()).unwrap();
    let layers = vec![
        scale_pow2(w.layers()[0].as_ref(), 600),
        scale_pow2(w.layers()[1].as_ref(), -450),
    ];
    let lopsided = Network::new(layers).unwrap();
    let run = balancing_flow(
        &lopsided,
        &opts(BalancingFlow::L2, ATOL * 2f64.powi(600)),
        &[0.0, 0.5],
        &mut (),
    )
    .unwrap();
    // The product is the same (X = 2^150 X_base); G(t) = G(0)e^{-2t} holds.
    let r = run.samples[1]
        .moment_norm_scaled
        .ratio(run.samples[0].moment_norm_scaled);
    assert!((r / (-1.0f64).exp() - 1.0).abs() < 1e-7, "decay {r}");
    assert!(run.samples[1].product_rel_change < 1e-12);
    assert!(
        rel_scaled(run.lower_bound_scaled, shift(base.lower_bound_scaled, 150)) < 1e-12,
        "lower bound"
    );
}
