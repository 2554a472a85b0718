//! MAP estimation against training to convergence: dln-flows' training with weight decay κ from a
//! balanced start converges to balanced weights whose product is the MAP estimate of X (proximal
//! gradient on E + R), real and complex, depths 2 and 3, square and rectangular widths.

use dln_algebra::{BalancedOrbit, Network};
use dln_bayes::map::{MapOptions, map_estimate};
use dln_flows::loss::LeastSquares;
use dln_flows::training::{TrainingOptions, network_gradient, train_flow};
use dln_linalg::{Scalar, c64, random};
use faer::Mat;

fn cross_check<T: Scalar>(widths: &[usize], seed: u64) {
    let mut rng = random::rng(seed);
    let (d0, dn) = (widths[0], widths[widths.len() - 1]);
    let samples = 3 * d0;
    let u: Mat<T> = random::gaussian(&mut rng, d0, samples);
    let a: Mat<T> = random::gaussian(&mut rng, dn, d0);
    let noise: Mat<T> = random::gaussian(&mut rng, dn, samples);
    let y = &a * &u + faer::Scale(T::from_f64(0.1)) * &noise;
    let loss = LeastSquares::new(u, y).unwrap();
    let kappa = 0.3;
    // Start both from the balanced network over the best approximation of A of the bottleneck rank.
    let r = widths.iter().copied().min().unwrap();
    let svd = dln_linalg::thin_svd(a.as_ref()).unwrap();
    let keep: Vec<f64> = (0..svd.s.len())
        .map(|i| if i < r { svd.s[i] } else { 0.0 })
        .collect();
    let x0 = dln_linalg::scale_cols(svd.u.as_ref(), &keep) * svd.v.adjoint();
    let est = map_estimate(&loss, widths, kappa, x0.as_ref(), &MapOptions::default()).unwrap();
    assert!(est.converged, "{widths:?}: MAP did not converge");
    let w0: Network<T> = BalancedOrbit::new(x0.as_ref(), widths).unwrap().centre();
    let opts = TrainingOptions {
        kappa,
        ..Default::default()
    };
    let t_end = 60.0 / kappa;
    let run = train_flow(&w0, &loss, &opts, &[0.0, t_end], &mut ()).unwrap();
    let w = &run.network;
    let (_, g) = network_gradient(w.layers(), &loss, kappa);
    let gnorm = dln_algebra::tuple_norm_sq(&g).sqrt();
    assert!(
        gnorm <= 1e-8 * w.l2_norm_sq().sqrt(),
        "{widths:?}: training has not converged (|grad| = {gnorm:e})"
    );
    let x_train = w.product();
    let err = (&x_train - &est.x).norm_l2() / est.x.norm_l2();
    assert!(
        err <= 1e-6,
        "{widths:?}: training product differs from the MAP estimate by {err:e}"
    );
    // The weights at convergence are balanced (G(t) = G(0) e^{-2 kappa t}) and carry the value R(X).
    assert!(w.moment_norm() <= 1e-8 * w.l2_norm_sq());
    let rel = (0.5 * kappa * w.l2_norm_sq() - est.regulariser).abs() / est.regulariser;
    assert!(rel <= 1e-6, "{widths:?}: kappa/2 |W|^2 vs R(X): {rel:e}");
    // The MAP network is a stationary point of E(phi(W)) + kappa/2 |W|^2.
    let (_, gm) = network_gradient(est.network.layers(), &loss, kappa);
    // The Frobenius norm of a balanced layer bounds its spectral norm lambda_max.
    let lam_max = est.network.layers()[0].norm_l2();
    let bound = (widths.len() as f64 - 1.0).sqrt()
        * lam_max.powi(widths.len() as i32 - 2)
        * est.stationarity;
    let gm_norm = dln_algebra::tuple_norm_sq(&gm).sqrt();
    assert!(
        gm_norm <= bound + 1e-10 * est.network.l2_norm_sq().sqrt(),
        "{widths:?}: {gm_norm:e} > {bound:e}"
    );
}

#[test]
fn map_equals_training_to_convergence_real() {
    cross_check::<f64>(&[3, 3, 3], 1);
    cross_check::<f64>(&[3, 3, 3, 3], 2);
    cross_check::<f64>(&[4, 2, 3], 3);
}

#[test]
fn map_equals_training_to_convergence_complex() {
    cross_check::<c64>(&[3, 3, 3], 4);
    cross_check::<c64>(&[2, 3, 2, 3], 5);
}
