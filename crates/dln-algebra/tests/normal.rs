//! The normal-equation fiber solve: the L² velocity and projections agree with the $\mathbf H$-solve,
//! the generator recovered by the layer recursion reproduces the velocity, and the PCG iteration
//! count does not grow with the depth.

use dln_algebra::{
    CgOptions, FiberOperator, Network, NormalOperator, NormalPreconditioner,
    generator_from_tangent, tuple_norm_sq,
};
use dln_linalg::{Scalar, c64, random};
use faer::{Mat, MatRef};

fn square_net<T: Scalar>(seed: u64, d: usize, n: usize, cond: f64) -> Network<T> {
    let mut rng = random::rng(seed);
    Network::new(
        (0..n)
            .map(|_| random::gl_with_condition(&mut rng, d, cond))
            .collect(),
    )
    .unwrap()
}

fn diff_norm<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>]) -> f64 {
    let d: Vec<Mat<T>> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    tuple_norm_sq(&d).sqrt()
}

fn agrees_with_h_solve<T: Scalar>(seed: u64, d: usize, n: usize) -> usize {
    let w = square_net::<T>(seed, d, n, 4.0);
    let opts = CgOptions {
        rtol: 1e-13,
        max_iter: 5000,
    };
    let pre = NormalPreconditioner::new(w.product().as_ref(), n).unwrap();
    let m = NormalOperator::new(&w);
    let (vel, sol) = m.l2_velocity(None, &pre, opts).unwrap();
    assert!(sol.converged, "N = {n}: residual {:e}", sol.residual);
    let layers: Vec<MatRef<'_, T>> = w.layers().iter().map(|l| l.as_ref()).collect();
    let (tan, h) = FiberOperator::new(&w)
        .project_tangent(&layers, opts)
        .unwrap();
    assert!(h.converged);
    let scale = w.l2_norm_sq().sqrt();
    let err = diff_norm(&vel, &tan) / scale;
    assert!(err < 1e-9, "d = {d}, N = {n}: velocity differs by {err:e}");
    // The generator from the recursion reproduces the velocity.
    let b = generator_from_tangent(&w, &vel).expect("square invertible layers");
    let tb = w.infinitesimal_action(&b);
    let err_b = diff_norm(&tb, &vel) / scale;
    assert!(err_b < 1e-9, "d = {d}, N = {n}: T b differs by {err_b:e}");
    // Normal projection of W: the complement of the velocity.
    let (nor, _) = m.project_normal(&layers, &pre, opts).unwrap();
    let sum: Vec<Mat<T>> = nor.iter().zip(&vel).map(|(a, b)| a + b).collect();
    let err_n = diff_norm(&sum, w.layers()) / scale;
    assert!(err_n < 1e-9, "normal + tangent != W: {err_n:e}");
    sol.iterations
}

#[test]
fn normal_route_matches_h_solve_real_and_complex() {
    for (seed, n) in [(1, 2), (2, 3), (3, 5)] {
        agrees_with_h_solve::<f64>(seed, 6, n);
        agrees_with_h_solve::<c64>(seed + 10, 5, n);
    }
}

#[test]
fn iterations_do_not_grow_with_depth() {
    let its: Vec<usize> = [4, 8, 16]
        .iter()
        .map(|&n| {
            let w = square_net::<f64>(40 + n as u64, 16, n, 2.0);
            let pre = NormalPreconditioner::new(w.product().as_ref(), n).unwrap();
            let sol = NormalOperator::new(&w)
                .l2_velocity(
                    None,
                    &pre,
                    CgOptions {
                        rtol: 1e-12,
                        max_iter: 2000,
                    },
                )
                .unwrap()
                .1;
            assert!(sol.converged);
            sol.iterations
        })
        .collect();
    assert!(
        its[2] as f64 <= 2.0 * its[0] as f64,
        "iterations at N = 4, 8, 16: {its:?}"
    );
}

#[test]
fn preconditioner_is_exact_at_balance() {
    let w = square_net::<f64>(9, 8, 6, 3.0);
    let centre = dln_algebra::BalancedOrbit::of(&w).unwrap().centre();
    let pre = NormalPreconditioner::new(centre.product().as_ref(), 6).unwrap();
    let (_, sol) = NormalOperator::new(&centre)
        .l2_velocity(None, &pre, CgOptions::default())
        .unwrap();
    assert!(sol.iterations <= 2, "iterations {}", sol.iterations);
}
