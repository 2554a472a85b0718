//! The learning flow: the operator A_{N,X}, claims 28 and 29, two-stage approximation.

mod common;
use common::*;
use dln_algebra::kempf_ness::{BalanceMethod, BalanceOptions, balance};
use dln_algebra::{BalancedOrbit, CgOptions, FiberOperator, Network};
use dln_flows::balancing::linspace;
use dln_flows::fast_slow::two_stage;
use dln_flows::learning::{LearningOperator, horizontal_lift, learning_flow, product_differential};
use dln_flows::loss::{Frobenius, LeastSquares, Loss};
use dln_flows::training::{TrainingOptions, network_gradient, train_flow};
use dln_linalg::{Scalar, c64, psd_pow, random, rel_diff};
use faer::Mat;
use proptest::prelude::*;

/// A_{N,X}(P) against the definition with fractional matrix powers.
fn a_by_powers<T: Scalar>(x: &Mat<T>, p: &Mat<T>, n: usize) -> Mat<T> {
    let xx = x * x.adjoint();
    let xtx = x.adjoint() * x;
    let mut out = Mat::<T>::zeros(p.nrows(), p.ncols());
    for j in 1..=n {
        // (XX^*)^0 = I by definition (not the range projector).
        let pow = |a: &Mat<T>, e: usize| {
            if e == 0 {
                Mat::<T>::identity(a.nrows(), a.ncols())
            } else {
                psd_pow(a.as_ref(), e as f64 / n as f64).unwrap()
            }
        };
        let (left, right) = (pow(&xx, n - j), pow(&xtx, j - 1));
        out += left * p * right;
    }
    out
}

fn operator_matches_definition<T: Scalar>(seed: u64, m: usize, k: usize, rank: usize, n: usize) {
    let mut rng = random::rng(seed);
    let x: Mat<T> = random::low_rank(&mut rng, m, k, rank);
    let p: Mat<T> = random::gaussian(&mut rng, m, k);
    let a = LearningOperator::new(x.as_ref(), n)
        .unwrap()
        .apply(p.as_ref());
    let b = a_by_powers(&x, &p, n);
    assert!(
        rel_diff(a.as_ref(), b.as_ref()) < 1e-9,
        "{m}x{k} rank {rank} N {n}: {}",
        rel_diff(a.as_ref(), b.as_ref())
    );
}

#[test]
fn operator_matches_fractional_power_definition() {
    for (m, k, r, n) in [
        (4, 4, 4, 3),
        (5, 3, 3, 2),
        (3, 5, 2, 4),
        (4, 4, 2, 1),
        (4, 4, 4, 6),
    ] {
        operator_matches_definition::<f64>(m as u64 + 10 * k as u64, m, k, r, n);
        operator_matches_definition::<c64>(7 + m as u64, m, k, r, n);
    }
}

#[test]
fn operator_is_accurate_for_nearly_equal_singular_values() {
    // sigma_1 = 1, sigma_2 = 1 + 1e-12: the quotient form would cancel; K_12 must be ~ N.
    let n = 5;
    let x = Mat::from_fn(
        2,
        2,
        |i, j| if i == j { 1.0 + 1e-12 * i as f64 } else { 0.0 },
    );
    let op = LearningOperator::<f64>::new(x.as_ref(), n).unwrap();
    let k = op.weights();
    assert!((k[(0, 1)] - n as f64).abs() < 1e-10);
    assert!((k[(1, 0)] - n as f64).abs() < 1e-10);
    // Zero X: A = N=1 identity only for p = ... ; K_ij = 0 for N >= 2, and the inverse refuses.
    let z = Mat::<f64>::zeros(2, 2);
    let op = LearningOperator::<f64>::new(z.as_ref(), 3).unwrap();
    assert!(op.weights().norm_max() < 1e-300);
    assert!(
        op.apply_inverse(Mat::<f64>::identity(2, 2).as_ref())
            .is_err()
    );
}

fn balanced<T: Scalar>(seed: u64, widths: &[usize]) -> Network<T> {
    let w: Network<T> = net(seed, widths, 1.0);
    let orbit = BalancedOrbit::of(&w).unwrap();
    let mut rng = random::rng(seed + 9);
    let q: Vec<Mat<T>> = (1..widths.len() - 1)
        .map(|k| random::orthonormal_columns(&mut rng, widths[k], orbit.rank()))
        .collect();
    orbit.point(&q)
}

/// Claim 29: d phi d phi^* = A_{N,X} at balanced W; the horizontal lift has norm^2 = g^N(Z, Z),
/// maps to Z and is orthogonal to the fiber.
fn claim_29<T: Scalar>(seed: u64, widths: &[usize]) {
    let w: Network<T> = balanced(seed, widths);
    let n = w.depth();
    let x = w.product();
    let mut rng = random::rng(seed + 1);
    let p: Mat<T> = random::gaussian(&mut rng, x.nrows(), x.ncols());
    // d phi^*(P)_k = (W_N..W_{k+1})^* P (W_{k-1}..W_1)^* is the network gradient for E'(X) = P.
    struct Fixed<T: Scalar>(Mat<T>);
    impl<T: Scalar> Loss<T> for Fixed<T> {
        fn shape(&self) -> (usize, usize) {
            self.0.shape()
        }
        fn value_and_gradient(&self, _x: faer::MatRef<'_, T>) -> (f64, Mat<T>) {
            (0.0, self.0.clone())
        }
    }
    let (_, adj) = network_gradient(w.layers(), &Fixed(p.clone()), 0.0);
    let op = LearningOperator::new(x.as_ref(), n).unwrap();
    let lhs = product_differential(&w, &adj);
    assert!(rel_diff(lhs.as_ref(), op.apply(p.as_ref()).as_ref()) < 1e-11);
    // Lift of a velocity Z in the range of A.
    let z = op.apply(p.as_ref());
    let lift = horizontal_lift(&w, z.as_ref(), 1e-10).unwrap();
    assert!(rel_diff(product_differential(&w, &lift).as_ref(), z.as_ref()) < 1e-10);
    let g = op.metric(z.as_ref()).unwrap();
    let norm_sq: f64 = dln_algebra::tuple_norm_sq(&lift);
    assert!(
        (norm_sq / g - 1.0).abs() < 1e-10,
        "|lift|^2 = {norm_sq}, g^N = {g}"
    );
    // Horizontal: orthogonal to the fiber, and of least norm: adding a fiber direction w_a increases it.
    let views: Vec<_> = lift.iter().map(|m| m.as_ref()).collect();
    let (tan, _) = FiberOperator::new(&w)
        .project_tangent(&views, CgOptions::default())
        .unwrap();
    assert!(tuple_norm(&tan) < 1e-9 * norm_sq.sqrt());
    // Unbalanced input is refused.
    let unbalanced: Network<T> = net(seed + 5, widths, 1.0);
    assert!(horizontal_lift(&unbalanced, z.as_ref(), 1e-10).is_err());
}

#[test]
fn claim_29_riemannian_submersion() {
    claim_29::<f64>(1, &[4, 4, 4, 4]);
    claim_29::<c64>(2, &[3, 3, 3, 3, 3]);
    claim_29::<f64>(3, &[3, 5, 4, 2]);
    claim_29::<c64>(4, &[2, 4, 3]);
}

/// Claim 28: full training from a balanced start reproduces the learning flow.
fn claim_28<T: Scalar>(seed: u64, widths: &[usize], kappa: f64) {
    let w0: Network<T> = balanced(seed, widths);
    let mut rng = random::rng(seed + 2);
    let n0 = widths[0];
    let nn = *widths.last().unwrap();
    let loss = LeastSquares::new(
        random::gaussian::<T, _>(&mut rng, n0, 9),
        random::gaussian::<T, _>(&mut rng, nn, 9),
    )
    .unwrap();
    let t_eval = linspace(1.0, 5);
    let opts = TrainingOptions {
        kappa,
        integration: tight(),
        split: false,
    };
    let full = train_flow(&w0, &loss, &opts, &t_eval, &mut ()).unwrap();
    let x0 = w0.product();
    let slow = learning_flow(
        x0.as_ref(),
        &loss,
        w0.depth(),
        kappa,
        tight(),
        &t_eval,
        &mut (),
    )
    .unwrap();
    for (s, (e, x)) in full.samples.iter().zip(slow.loss.iter().zip(&slow.x)) {
        assert!(
            (s.loss - e).abs() < 1e-8 * e.abs().max(1e-3),
            "t = {}: {} vs {}",
            s.t,
            s.loss,
            e
        );
        assert!(s.moment_norm < 1e-9 * s.l2_norm_sq);
        let _ = x;
    }
    let xf = full.network.product();
    let d = rel_diff(slow.x.last().unwrap().as_ref(), xf.as_ref());
    assert!(d < 1e-8, "X differs by {d}");
}

#[test]
fn claim_28_training_from_balanced_start_is_the_learning_flow() {
    claim_28::<f64>(10, &[3, 3, 3, 3], 0.0);
    claim_28::<c64>(11, &[3, 3, 3], 0.0);
    claim_28::<f64>(12, &[2, 4, 3, 3], 0.3);
    claim_28::<c64>(13, &[3, 3, 3, 3], 0.5);
}

#[test]
fn two_stage_deviation_shrinks_with_kappa() {
    let w0: Network<f64> = net(20, &[3, 3, 3, 3], 1.0);
    let loss = Frobenius::new(random::gaussian::<f64, _>(&mut random::rng(21), 3, 3));
    let opts = dln_flows::FlowBuilder::new()
        .rtol(1e-9)
        .atol(1e-11)
        .build()
        .unwrap();
    let devs: Vec<f64> = [1.0, 10.0, 100.0]
        .iter()
        .map(|&k| {
            two_stage(&w0, &loss, k, opts, &linspace(0.05, 3))
                .unwrap()
                .max_deviation()
        })
        .collect();
    assert!(
        devs[2] < devs[1] && devs[1] < devs[0],
        "deviations {devs:?}"
    );
    let bal = balance(
        &w0,
        BalanceOptions {
            method: BalanceMethod::Svd,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(bal.info.product_rel_change < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn submersion_identity_random(seed in any::<u64>(), n in 2usize..5, d in 1usize..5) {
        let widths = vec![d; n + 1];
        let w: Network<f64> = balanced(seed, &widths);
        let x = w.product();
        let op = LearningOperator::new(x.as_ref(), n).unwrap();
        let z: Mat<f64> = op.apply(random::gaussian::<f64, _>(&mut random::rng(seed ^ 5), d, d).as_ref());
        let lift = horizontal_lift(&w, z.as_ref(), 1e-9).unwrap();
        let g = op.metric(z.as_ref()).unwrap();
        prop_assert!((dln_algebra::tuple_norm_sq(&lift) - g).abs() <= 1e-8 * g.max(1e-12));
    }
}
