//! Training flows and losses: gradients, claims 26 and 27, divergence reporting, fast-slow split.

mod common;
use common::*;
use dln_algebra::{CgOptions, FiberOperator, Network};
use dln_flows::FlowError;
use dln_flows::balancing::linspace;
use dln_flows::loss::{Frobenius, LeastSquares, Loss, MatrixCompletion, MatrixSensing};
use dln_flows::training::{
    GradientWorkspace, TrainingOptions, gradient_descent, network_gradient, network_gradient_into,
    split_velocity, train_flow,
};
use dln_linalg::{Scalar, c64, random, re_inner};
use faer::Mat;

fn losses<T: Scalar>(seed: u64, m: usize, n: usize) -> Vec<Box<dyn Loss<T>>> {
    let mut rng = random::rng(seed);
    let u: Mat<T> = random::gaussian(&mut rng, n, 7);
    let y: Mat<T> = random::gaussian(&mut rng, m, 7);
    let sensors: Vec<Mat<T>> = (0..5).map(|_| random::gaussian(&mut rng, m, n)).collect();
    let meas: Vec<f64> = (0..5).map(|i| i as f64 * 0.3 - 0.5).collect();
    let target: Mat<T> = random::gaussian(&mut rng, m, n);
    let mask = Mat::from_fn(m, n, |i, j| if (i + 2 * j) % 3 == 0 { 0.0 } else { 1.0 });
    vec![
        Box::new(LeastSquares::new(u, y).unwrap()),
        Box::new(MatrixSensing::new(sensors, meas).unwrap()),
        Box::new(MatrixCompletion::new(target.clone(), mask).unwrap()),
        Box::new(Frobenius::new(target)),
    ]
}

/// Loss gradients and the network gradient against central finite differences.
fn gradients<T: Scalar>(seed: u64) {
    let widths = [3, 4, 2, 5];
    let w: Network<T> = net(seed, &widths, 0.8);
    let dir: Network<T> = net(seed + 1, &widths, 1.0);
    for loss in losses::<T>(seed, 5, 3) {
        let kappa = 0.3;
        let (_, g) = network_gradient(w.layers(), loss.as_ref(), kappa);
        let f = |s: f64| -> f64 {
            let layers: Vec<Mat<T>> = w
                .layers()
                .iter()
                .zip(dir.layers())
                .map(|(a, d)| a + faer::Scale(T::from_f64(s)) * d)
                .collect();
            let net = Network::new(layers).unwrap();
            loss.value(net.product().as_ref()) + 0.5 * kappa * net.l2_norm_sq()
        };
        let h = 1e-5;
        let fd = (f(h) - f(-h)) / (2.0 * h);
        let an: f64 = g
            .iter()
            .zip(dir.layers())
            .map(|(a, b)| re_inner(a.as_ref(), b.as_ref()))
            .sum();
        assert!(
            (fd - an).abs() < 1e-6 * an.abs().max(1.0),
            "fd {fd} vs analytic {an}"
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    gradients::<f64>(1);
    gradients::<c64>(2);
}

/// Claims 26, 27: G(t) = G(0) e^{-2 kappa t} for every loss; kappa = 0 conserves G.
fn decay_law<T: Scalar>(seed: u64) {
    let widths = [3, 4, 4, 2];
    let w0: Network<T> = net(seed, &widths, 0.7);
    let g0 = w0.moments();
    for loss in losses::<T>(seed, 2, 3) {
        for kappa in [0.0, 0.25, 1.0] {
            let opts = TrainingOptions {
                kappa,
                integration: tight(),
                split: false,
            };
            let run = train_flow(&w0, &loss.as_ref(), &opts, &linspace(1.5, 4), &mut ()).unwrap();
            let n0 = run.samples[0].moment_norm;
            for s in &run.samples {
                let rel = (s.moment_norm / (n0 * (-2.0 * kappa * s.t).exp()) - 1.0).abs();
                assert!(rel < 1e-8, "kappa {kappa}, t {}: rel err {rel}", s.t);
            }
            let g_end = run.network.moments();
            let factor = (-2.0 * kappa * 1.5).exp();
            for (a, b) in g_end.iter().zip(&g0) {
                let e = faer::Scale(T::from_f64(factor)) * b;
                assert!(dln_linalg::rel_diff(a.as_ref(), e.as_ref()) < 1e-7);
            }
            // The loss decreases along unregularized training.
            if kappa == 0.0 {
                for p in run.samples.windows(2) {
                    assert!(p[1].loss <= p[0].loss + 1e-12);
                }
            }
        }
    }
}

/// Training from a tiny initialisation ($\|\mathbf W(0)\|\approx2^{-500}$) with the default tolerances
/// keeps $\mathbf G$ (conserved at $\kappa = 0$): the absolute tolerance is read in units of
/// $\|\mathbf W(0)\|$. With `atol = 1e-12` taken literally the integrator took 8 steps to t = 5 and
/// $\|\mathbf G\|$ grew 6.5e6-fold (issue 12).
fn tiny_initialisation<T: Scalar>(seed: u64) {
    // Depth 2: the gradient is as small as the weights, so they move (and grow) at unit rate.
    let w: Network<T> = net(seed, &[3, 4, 2], 0.7);
    let tiny = T::from_f64(2f64.powi(-500));
    let w0 = Network::new(w.layers().iter().map(|l| faer::Scale(tiny) * l).collect()).unwrap();
    let mut rng = random::rng(seed + 1);
    let loss = Frobenius::new(random::gaussian::<T, _>(&mut rng, 2, 3));
    let run = train_flow(
        &w0,
        &loss,
        &TrainingOptions::default(),
        &linspace(5.0, 3),
        &mut (),
    )
    .unwrap();
    let n0 = run.samples[0].moment_norm;
    assert!(n0 > 0.0);
    for s in &run.samples {
        let rel = (s.moment_norm / n0 - 1.0).abs();
        assert!(rel < 1e-6, "t {}: ‖G‖ changed by {rel} relative", s.t);
    }
}

#[test]
fn tiny_initialisation_conserves_moments() {
    tiny_initialisation::<f64>(21);
    tiny_initialisation::<c64>(22);
}

/// Finite weights whose loss overflows f64 are refused as not representable (both routes), not
/// reported as a divergence at t = 0.
#[test]
fn overflowing_initial_loss_is_not_representable() {
    let w: Network<f64> = net(23, &[3, 4, 2], 0.7);
    let huge = 2f64.powi(500);
    let w0 = Network::new(w.layers().iter().map(|l| faer::Scale(huge) * l).collect()).unwrap();
    let mut rng = random::rng(24);
    let loss = Frobenius::new(random::gaussian::<f64, _>(&mut rng, 2, 3));
    let flow = train_flow(
        &w0,
        &loss,
        &TrainingOptions::default(),
        &linspace(1.0, 2),
        &mut (),
    );
    let gd = gradient_descent(&w0, &loss, 0.0, 1e-3, 10, 1, &mut ());
    for err in [flow.err(), gd.err()] {
        let msg = err.expect("must be refused").to_string();
        assert!(
            msg.contains("not representable") && msg.contains("initial weights"),
            "{msg}"
        );
    }
}

#[test]
fn claim_26_27_moment_decay_real() {
    decay_law::<f64>(10);
}

#[test]
fn claim_26_27_moment_decay_complex() {
    decay_law::<c64>(11);
}

#[test]
fn gradient_descent_reduces_loss_and_reports_divergence() {
    let w0: Network<f64> = net(20, &[3, 3, 3], 0.5);
    let mut rng = random::rng(21);
    let loss = Frobenius::new(random::gaussian::<f64, _>(&mut rng, 3, 3));
    let run = gradient_descent(&w0, &loss, 0.0, 0.01, 200, 50, &mut ()).unwrap();
    assert_eq!(run.samples.len(), 5);
    assert!(run.samples.last().unwrap().loss < run.samples[0].loss);
    // G changes only at O(lr^2) per step.
    let dg = (run.samples.last().unwrap().moment_norm - run.samples[0].moment_norm).abs();
    assert!(dg < 0.05 * run.samples[0].moment_norm);
    // A huge step size diverges: an error saying when and what, not a panic.
    let big: Network<f64> = net(22, &[3, 3, 3], 3.0);
    match gradient_descent(&big, &loss, 0.0, 10.0, 10_000, 1, &mut ()) {
        Err(FlowError::Diverged { t, step, what }) => {
            assert!(step > 0 && step < 10_000);
            assert!((t - 10.0 * step as f64).abs() < 1e-9 * t.max(1.0));
            assert!(what.contains("not finite"));
        }
        other => panic!("expected divergence, got {other:?}"),
    }
    assert!(gradient_descent(&w0, &loss, 0.0, -1.0, 1, 1, &mut ()).is_err());
}

#[test]
fn bad_data_shapes_are_errors() {
    let u = Mat::<f64>::zeros(3, 10);
    let y = Mat::<f64>::zeros(2, 9);
    assert!(matches!(
        LeastSquares::new(u, y),
        Err(FlowError::ShapeMismatch { .. })
    ));
    let mut u = Mat::<f64>::zeros(3, 4);
    u[(1, 1)] = f64::NAN;
    assert!(LeastSquares::new(u, Mat::<f64>::zeros(2, 4)).is_err());
    assert!(MatrixCompletion::new(Mat::<f64>::zeros(2, 2), Mat::zeros(2, 3)).is_err());
}

/// The split: the tangent part is -kappa w_b with H(b) = G; it vanishes at balanced points;
/// the normal part is orthogonal to the fiber.
fn split<T: Scalar>(seed: u64) {
    let w: Network<T> = net(seed, &[3, 3, 3, 3], 1.0);
    let cg = CgOptions {
        rtol: 1e-13,
        max_iter: 2000,
    };
    for loss in losses::<T>(seed, 3, 3) {
        let kappa = 0.7;
        let s = split_velocity(&w, loss.as_ref(), kappa, cg).unwrap();
        let b = FiberOperator::new(&w)
            .solve(&w.moments(), None, cg)
            .unwrap()
            .b;
        let wb: Vec<Mat<T>> = w
            .infinitesimal_action(&b)
            .into_iter()
            .map(|m| faer::Scale(T::from_f64(-kappa)) * &m)
            .collect();
        assert!(tuple_dist(&s.tangent, &wb) < 1e-9 * tuple_norm(&wb));
        let adj = w
            .infinitesimal_action_adjoint(&s.normal.iter().map(|m| m.as_ref()).collect::<Vec<_>>());
        assert!(tuple_norm(&adj) < 1e-9 * s.normal_norm() * tuple_norm(w.layers()));
        // Balanced point: no tangent part.
        let bal = dln_algebra::balance(&w, Default::default())
            .unwrap()
            .network;
        let s = split_velocity(&bal, loss.as_ref(), kappa, cg).unwrap();
        assert!(s.tangent_norm() < 1e-9 * s.normal_norm().max(1.0));
    }
}

#[test]
fn fast_slow_split_real_and_complex() {
    split::<f64>(30);
    split::<c64>(31);
}

#[test]
fn training_records_split_norms() {
    let w0: Network<f64> = net(40, &[2, 3, 3, 2], 1.0);
    let loss = Frobenius::new(Mat::<f64>::identity(2, 2));
    let opts = TrainingOptions {
        kappa: 2.0,
        split: true,
        ..Default::default()
    };
    let run = train_flow(&w0, &loss, &opts, &linspace(2.0, 5), &mut ()).unwrap();
    let tan: Vec<f64> = run
        .samples
        .iter()
        .map(|s| s.tangent_norm.unwrap())
        .collect();
    // The regularizing part dies out with |G| (which decays at rate 2 kappa = 4; the tangent part
    // is kappa |w_b|, H(b) = G, so it decays somewhat slower as the weights shrink).
    assert!(
        tan.windows(2).all(|p| p[1] < p[0]) && tan[4] < 0.05 * tan[0],
        "tangent norms {tan:?}"
    );
    assert!(run.samples.iter().all(|s| s.normal_norm.is_some()));
}

/// One workspace reused across networks and losses gives what fresh buffers give (every buffer is
/// overwritten), and `value_and_gradient_into` agrees with `value_and_gradient` for every loss,
/// including when the destination holds garbage.
fn workspace_reuse<T: Scalar>(seed: u64) {
    for widths in [vec![3, 5], vec![3, 4, 2, 5], vec![3, 6, 6, 6, 5]] {
        let mut ws = GradientWorkspace::<T>::new(&widths);
        for (i, loss) in losses::<T>(seed, 5, 3).iter().enumerate() {
            let w: Network<T> = net(seed + i as u64, &widths, 0.8);
            let x = w.product();
            let (e, de) = loss.value_and_gradient(x.as_ref());
            let mut into = Mat::<T>::from_fn(5, 3, |_, _| T::from_f64(f64::NAN));
            let e_into = loss.value_and_gradient_into(x.as_ref(), into.as_mut());
            assert!(
                (e - e_into).abs() <= 1e-14 * e.abs().max(1.0),
                "{e} vs {e_into}"
            );
            assert!((&de - &into).norm_l2() <= 1e-14 * de.norm_l2().max(1.0));
            for kappa in [0.0, 0.3] {
                let (e1, g1) = network_gradient(w.layers(), loss.as_ref(), kappa);
                let e2 = network_gradient_into(w.layers(), loss.as_ref(), kappa, &mut ws);
                assert!((e1 - e2).abs() <= 1e-14 * e1.abs().max(1.0));
                for (a, b) in g1.iter().zip(ws.gradient()) {
                    assert!((a - b).norm_l2() <= 1e-13 * a.norm_l2().max(1.0));
                }
            }
        }
    }
}

#[test]
fn gradient_workspace_reuse_real_and_complex() {
    workspace_reuse::<f64>(40);
    workspace_reuse::<c64>(41);
}
