//! Integrator properties: order of accuracy, semigroup law, dense output, X preservation, observers.

mod common;
use common::*;
use dln_algebra::{CgOptions, Network};
use dln_flows::balancing::{KirwanNessField, L2Field};
use dln_flows::integrator::OnOrbit;
use dln_flows::{Dopri5, FlowBuilder, Integrator, Observer, Progress, Rkmk5, Termination};
use dln_linalg::{Scalar, c64, rel_diff};
use faer::Mat;
use proptest::prelude::*;
use std::ops::ControlFlow;

/// d = 1, N = 2 L² flow, closed form (claim 24): w_1^2 = (G + sqrt(G^2 + 4x^2))/2, G = G0 e^{-2t}.
fn l2_exact(w2: f64, w1: f64, t: f64) -> (f64, f64) {
    let x = w2 * w1;
    let g = (w1 * w1 - w2 * w2) * (-2.0 * t).exp();
    let a = ((g + (g * g + 4.0 * x * x).sqrt()) / 2.0)
        .sqrt()
        .copysign(w1);
    (x / a, a)
}

fn fixed_step(h: f64) -> dln_flows::FlowOptions {
    FlowBuilder::new()
        .rtol(1.0)
        .atol(1.0)
        .h0(h)
        .h_max(h)
        .build()
        .unwrap()
}

#[test]
fn order_of_accuracy_is_five_for_both_integrators() {
    let (w2, w1, t_end) = (0.3, 2.0, 1.0);
    let (e2, e1) = l2_exact(w2, w1, t_end);
    let mut errs_rkmk = Vec::new();
    let mut errs_rk = Vec::new();
    for &h in &[0.1, 0.05, 0.025] {
        let mut a = Rkmk5::new(L2Field::default(), 0.0, scalar_net(w2, w1), fixed_step(h));
        a.solve(t_end, &mut ()).unwrap();
        let w = a.weights();
        errs_rkmk.push((w[1][(0, 0)] - e2).hypot(w[0][(0, 0)] - e1));
        let mut b = Dopri5::new(
            OnOrbit(L2Field::default()),
            0.0,
            scalar_net(w2, w1).into_layers(),
            fixed_step(h),
        );
        b.solve(t_end, &mut ()).unwrap();
        let w = b.weights();
        errs_rk.push((w[1][(0, 0)] - e2).hypot(w[0][(0, 0)] - e1));
    }
    for errs in [&errs_rkmk, &errs_rk] {
        // Pre-asymptotic at the largest step; the observed order approaches 5.
        let orders: Vec<f64> = errs.windows(2).map(|p| (p[0] / p[1]).log2()).collect();
        assert!(
            orders.iter().all(|&o| o > 4.0 && o < 6.0),
            "orders {orders:?} from errors {errs:?}"
        );
        assert!(orders[1] > 4.6, "orders {orders:?} from errors {errs:?}");
    }
}

#[test]
fn adaptive_error_scales_with_tolerance() {
    let (w2, w1) = (0.2, 3.0);
    let (e2, e1) = l2_exact(w2, w1, 2.0);
    let mut last = f64::INFINITY;
    for rtol in [1e-6, 1e-9, 1e-12] {
        let opts = FlowBuilder::new()
            .rtol(rtol)
            .atol(rtol * 1e-2)
            .build()
            .unwrap();
        let mut a = Rkmk5::new(L2Field::default(), 0.0, scalar_net(w2, w1), opts);
        a.solve(2.0, &mut ()).unwrap();
        let w = a.weights();
        let err = (w[1][(0, 0)] - e2).hypot(w[0][(0, 0)] - e1) / 3.0;
        assert!(err < 50.0 * rtol, "rtol {rtol}: error {err}");
        assert!(err < last);
        last = err;
    }
}

fn x_preservation<T: Scalar>(seed: u64) {
    let w0: Network<T> = net(seed, &[6, 6, 6, 6, 6], 1.0);
    let x0 = w0.product();
    let opts = FlowBuilder::new().rtol(1e-8).atol(1e-10).build().unwrap();
    let mut a = Rkmk5::new(L2Field::default(), 0.0, w0.clone(), opts);
    a.solve(10.0, &mut ()).unwrap();
    let drift = rel_diff(a.network().product().as_ref(), x0.as_ref());
    assert!(drift <= 1e-12, "RKMK L2 drift {drift}");
    let mut k = Rkmk5::new(KirwanNessField, 0.0, w0.clone(), opts);
    k.solve(10.0, &mut ()).unwrap();
    let drift = rel_diff(k.network().product().as_ref(), x0.as_ref());
    assert!(drift <= 1e-12, "RKMK Kirwan-Ness drift {drift}");
    // The generic integrator keeps X only to about its tolerance: the drift is visible.
    let mut g = Dopri5::new(OnOrbit(L2Field::default()), 0.0, w0.layers().to_vec(), opts);
    g.solve(10.0, &mut ()).unwrap();
    let drift_rk = rel_diff(
        Network::new(g.weights().to_vec())
            .unwrap()
            .product()
            .as_ref(),
        x0.as_ref(),
    );
    assert!(
        drift_rk < 1e-5 && drift_rk > 1e-13,
        "Dopri5 drift {drift_rk}"
    );
}

#[test]
fn structure_preserving_keeps_x_to_rounding_real() {
    x_preservation::<f64>(1);
}

#[test]
fn structure_preserving_keeps_x_to_rounding_complex() {
    x_preservation::<c64>(2);
}

#[test]
fn dense_output_matches_stepping_to_the_sample() {
    let w0: Network<f64> = net(4, &[3, 4, 3], 1.0);
    let t_eval = [0.0, 0.13, 0.4, 0.77, 1.0];
    let opts = FlowBuilder::new().rtol(1e-10).atol(1e-12).build().unwrap();
    let traj = Rkmk5::new(L2Field::default(), 0.0, w0.clone(), opts)
        .solve_dense(&t_eval, &mut ())
        .unwrap();
    assert_eq!(traj.t.len(), t_eval.len());
    for (t, w) in traj.t.iter().zip(&traj.w) {
        let mut b = Rkmk5::new(L2Field::default(), 0.0, w0.clone(), opts);
        b.solve(*t, &mut ()).unwrap();
        let d = tuple_dist(w, b.weights()) / tuple_norm(b.weights());
        assert!(d < 1e-8, "t = {t}: dense output differs by {d}");
        // Dense output of the RKMK stays on the orbit too.
        let x = Network::new(w.clone()).unwrap().product();
        assert!(rel_diff(x.as_ref(), w0.product().as_ref()) < 1e-13);
    }
}

struct StopAfter(usize, usize);
impl<T: Scalar> Observer<Progress<'_, T>> for StopAfter {
    fn on_step(&mut self, p: &Progress<'_, T>) -> ControlFlow<()> {
        self.1 += 1;
        if p.stats.n_steps >= self.0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[test]
fn observer_can_stop_a_run() {
    let w0: Network<f64> = net(5, &[3, 3, 3], 1.0);
    let mut a = Rkmk5::new(
        KirwanNessField,
        0.0,
        w0,
        FlowBuilder::new().build().unwrap(),
    );
    let mut obs = StopAfter(3, 0);
    let traj = a.solve_dense(&[0.0, 100.0], &mut obs).unwrap();
    assert_eq!(traj.termination, Termination::Interrupted);
    assert_eq!(obs.1, 3);
    assert_eq!(traj.t.len(), 1);
    assert!(a.t() < 100.0);
}

#[test]
fn invalid_options_and_times_are_errors() {
    assert!(FlowBuilder::new().atol(0.0).build().is_err());
    assert!(FlowBuilder::new().h0(f64::NAN).build().is_err());
    let w0: Network<f64> = net(5, &[2, 2, 2], 1.0);
    let mut a = Rkmk5::new(
        KirwanNessField,
        0.0,
        w0,
        FlowBuilder::new().build().unwrap(),
    );
    a.solve(1.0, &mut ()).unwrap();
    assert!(a.set_stop_time(0.5).is_err());
    assert!(a.interpolate(-1.0).is_err());
}

#[test]
fn diverging_field_reports_when() {
    // W' = W^2 (1x1) blows up at t = 1 from w = 1.
    let f =
        |_t: f64, w: &[Mat<f64>]| -> dln_flows::Result<Vec<Mat<f64>>> { Ok(vec![&w[0] * &w[0]]) };
    let mut a = Dopri5::new(
        f,
        0.0,
        vec![Mat::from_fn(1, 1, |_, _| 1.0)],
        FlowBuilder::new().build().unwrap(),
    );
    let err = a.solve(2.0, &mut ()).unwrap_err();
    match err {
        dln_flows::FlowError::StepSizeTooSmall { t, .. }
        | dln_flows::FlowError::Diverged { t, .. } => {
            assert!((t - 1.0).abs() < 1e-2, "failure reported at t = {t}")
        }
        e => panic!("unexpected error {e}"),
    }
}

fn semigroup<T: Scalar>(seed: u64, n: usize, d: usize, s: f64, t: f64) -> f64 {
    let widths = vec![d; n + 1];
    let w0: Network<T> = net(seed, &widths, 1.0);
    let opts = FlowBuilder::new().rtol(1e-11).atol(1e-13).build().unwrap();
    let mut a = Rkmk5::new(
        L2Field::new(CgOptions {
            rtol: 1e-13,
            max_iter: 1000,
        }),
        0.0,
        w0.clone(),
        opts,
    );
    a.solve(s + t, &mut ()).unwrap();
    let mut b1 = Rkmk5::new(
        L2Field::new(CgOptions {
            rtol: 1e-13,
            max_iter: 1000,
        }),
        0.0,
        w0,
        opts,
    );
    b1.solve(s, &mut ()).unwrap();
    let mid = b1.into_network();
    let mut b2 = Rkmk5::new(
        L2Field::new(CgOptions {
            rtol: 1e-13,
            max_iter: 1000,
        }),
        s,
        mid,
        opts,
    );
    b2.solve(s + t, &mut ()).unwrap();
    tuple_dist(a.weights(), b2.weights()) / tuple_norm(a.weights())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn semigroup_law(seed in any::<u64>(), n in 2usize..5, d in 1usize..5, s in 0.05f64..1.0, t in 0.05f64..1.0) {
        prop_assert!(semigroup::<f64>(seed, n, d, s, t) < 1e-8);
        prop_assert!(semigroup::<c64>(seed, n, d, s, t) < 1e-8);
    }
}

/// A flow on the time scale 2^-500 (ẇ = −2^500 w) is integrated to t = 10·2^-500 and matches
/// e^{-10}: the weighted error norm does not overflow (ratios ≈ 1e158 against `atol`) and the
/// smallest admissible step is relative to |t|, not 1e-14 in absolute time. Both failed before
/// (step size driven to 0, or "fell below the minimum" at t = 0).
#[test]
fn fast_time_scale_is_followed() {
    let lambda = 2f64.powi(500);
    let f = move |_t: f64, w: &[Mat<f64>]| -> dln_flows::Result<Vec<Mat<f64>>> {
        Ok(vec![faer::Scale(-lambda) * &w[0]])
    };
    let mut a = Dopri5::new(
        f,
        0.0,
        vec![Mat::from_fn(1, 1, |_, _| 1.0)],
        FlowBuilder::new().rtol(1e-10).atol(1e-12).build().unwrap(),
    );
    let t_end = 10.0 / lambda;
    a.solve(t_end, &mut ()).unwrap();
    let w = a.weights()[0][(0, 0)];
    let want = (-10.0f64).exp();
    assert!((w / want - 1.0).abs() < 1e-6, "w = {w:e}, want {want:e}");
}
