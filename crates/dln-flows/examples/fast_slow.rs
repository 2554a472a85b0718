//! The fast–slow decomposition measured: full regularized training against the two-stage
//! approximation (balance in the fiber, then the learning flow with weight decay), for several κ.
//! Prints the table recorded in `docs/fast_slow.md`.
//!
//! Run: `cargo run --release -p dln-flows --example fast_slow`.

use dln_algebra::{CgOptions, Network};
use dln_flows::FlowBuilder;
use dln_flows::balancing::linspace;
use dln_flows::fast_slow::two_stage;
use dln_flows::loss::LeastSquares;
use dln_flows::training::split_velocity;
use dln_linalg::random;

fn main() {
    let (d, n, samples) = (6, 4, 40);
    let mut rng = random::rng(1);
    let w0 = Network::new(
        (0..n)
            .map(|_| {
                random::scaled(
                    random::gaussian::<f64, _>(&mut rng, d, d).as_ref(),
                    1.0 / (d as f64).sqrt(),
                )
            })
            .collect(),
    )
    .unwrap();
    let u = random::gaussian::<f64, _>(&mut rng, d, samples);
    let a = random::gaussian::<f64, _>(&mut rng, d, d);
    let loss = LeastSquares::new(u.clone(), &a * &u).unwrap();
    let opts = FlowBuilder::new().rtol(1e-10).atol(1e-12).build().unwrap();
    println!(
        "d = {d}, N = {n}, least squares on {samples} samples, W0 Gaussian (|G0| = {:.3e}, |W0|^2 = {:.3e})",
        w0.moment_norm(),
        w0.l2_norm_sq()
    );
    let s = split_velocity(&w0, &loss, 1.0, CgOptions::default()).unwrap();
    println!(
        "at W0, kappa = 1: |V_tan| = {:.3e}, |V_nor| = {:.3e}",
        s.tangent_norm(),
        s.normal_norm()
    );
    let x0 = w0.product().norm_l2();
    println!(
        "{:>8} {:>6} {:>22} {:>14}",
        "kappa", "T", "max_t |dX(t)|/|X(0)|", "|G(T)|/|G0|"
    );
    for kappa in [0.01, 0.1, 1.0, 10.0, 100.0] {
        let t_end = 1.0;
        let r = two_stage(&w0, &loss, kappa, opts, &linspace(t_end, 21)).unwrap();
        let dev = r
            .x_full
            .iter()
            .zip(&r.x_two_stage)
            .map(|(a, b)| (a - b).norm_l2() / x0)
            .fold(0.0, f64::max);
        println!(
            "{kappa:>8} {t_end:>6} {dev:>22.3e} {:>14.3e}",
            r.moment_norm.last().unwrap() / r.moment_norm[0]
        );
    }
}
