//! Benchmarks of `dln-flows`, each against the unavoidable work measured in the same run:
//! - `l2_flow`: the L² balancing flow to t = 10 (RKMK5) at d = 32 (N = 4, 16) and d = 64 (N = 6),
//!   normal-equation solver, with the H-solve at d = 32, N = 4 for comparison; a one-shot timing
//!   (too long for repeated sampling), printed to stderr with steps, evaluations, inner iterations,
//!   ‖X(t)−X(0)‖/‖X(0)‖ and the decay law at t = 5 and 10. Runs only when the
//!   filter names it: `cargo bench -p dln-benches --bench flows -- l2_flow`.
//! - `training_gradient`: one full-batch least-squares gradient at d = 512, N = 8, n = 4096 against
//!   exactly the matrix products it needs (N−1 forward, 2 for E'(X), 2(N−1) backward).
//! - `learning_flow`: one learning-flow velocity −A_{N,X}(E'(X)) at d = 256, N = 8 against one SVD.
//!
//! Reference: numpy/scipy take 270 s for the L² flow to t = 10 at d = 32, N = 6 (notes §1).

use criterion::{Criterion, criterion_group, criterion_main};
use dln_algebra::Network;
use dln_flows::FlowBuilder;
use dln_flows::balancing::{BalancingFlow, BalancingOptions, FiberSolver, Scheme, balancing_flow};
use dln_flows::learning::learning_velocity;
use dln_flows::loss::{Frobenius, LeastSquares};
use dln_flows::training::network_gradient;
use dln_linalg::random;
use faer::Mat;
use std::hint::black_box;
use std::time::Instant;

fn gaussian_net(seed: u64, d: usize, n: usize) -> Network<f64> {
    let mut rng = random::rng(seed);
    let s = 1.0 / (d as f64).sqrt();
    Network::new(
        (0..n)
            .map(|_| random::scaled(random::gaussian::<f64, _>(&mut rng, d, d).as_ref(), s))
            .collect(),
    )
    .unwrap()
}

fn l2_flow(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("l2_flow")) {
        return;
    }
    let t_end = 10.0;
    // (d, N, solver); layers with condition number 2 (X has condition <= 2^N). Extra cases via
    // DLN_BENCH_L2_BIG=1 (d = 128, N = 8) and the H-solve comparison at d = 32, N = 4.
    let mut cases = vec![
        (32, 4, FiberSolver::Normal),
        (32, 4, FiberSolver::H),
        (32, 16, FiberSolver::Normal),
        (64, 6, FiberSolver::Normal),
    ];
    if std::env::var_os("DLN_BENCH_L2_BIG").is_some() {
        cases.push((128, 8, FiberSolver::Normal));
    }
    for (d, n, solver) in cases {
        let mut rng = random::rng(1);
        let w0 = Network::new(
            (0..n)
                .map(|_| random::gl_with_condition::<f64, _>(&mut rng, d, 2.0))
                .collect(),
        )
        .unwrap();
        let opts = BalancingOptions {
            flow: BalancingFlow::L2,
            scheme: Scheme::Structured,
            integration: FlowBuilder::new().rtol(1e-10).atol(1e-12).build().unwrap(),
            solver,
            ..Default::default()
        };
        let start = Instant::now();
        let run = balancing_flow(&w0, &opts, &[0.0, 5.0, t_end], &mut ()).unwrap();
        let secs = start.elapsed().as_secs_f64();
        let (s0, s5, s1) = (run.samples[0], run.samples[1], run.samples[2]);
        eprintln!(
            "l2_flow/{solver:?}_d{d}_n{n}_t{t_end}: {secs:.2} s, {} steps ({} rejected), {} evaluations, \
             {} linear iterations ({:.1}/evaluation, {} H solves), |X(t)-X(0)|/|X(0)| = {:.2e}, \
             decay law |G(5)|/(|G(0)| e^-10) - 1 = {:.2e}, at t = 10: {:.2e}",
            run.stats.n_steps,
            run.stats.n_rejected,
            run.stats.n_evals,
            run.cg_iterations,
            run.cg_iterations as f64 / run.stats.n_evals as f64,
            run.h_solves,
            s1.product_rel_change,
            s5.moment_norm / (s0.moment_norm * (-10.0f64).exp()) - 1.0,
            s1.moment_norm / (s0.moment_norm * (-2.0 * t_end).exp()) - 1.0,
        );
    }
}

fn training_gradient(c: &mut Criterion) {
    let (d, n, samples) = (512, 8, 4096);
    let w = gaussian_net(2, d, n);
    let mut rng = random::rng(3);
    let u: Mat<f64> = random::gaussian(&mut rng, d, samples);
    let y: Mat<f64> = random::gaussian(&mut rng, d, samples);
    let loss = LeastSquares::new(u.clone(), y.clone()).unwrap();
    let mut g = c.benchmark_group("training_gradient");
    g.sample_size(10);
    g.bench_function("network_gradient_d512_n8_n4096", |b| {
        b.iter(|| black_box(network_gradient(black_box(w.layers()), &loss, 1e-3)))
    });
    // The same products, bare: forward prefix products, XU and R U^*, suffix and gradient products.
    g.bench_function("bare_products_3n_minus_1", |b| {
        b.iter(|| {
            let l = black_box(w.layers());
            let mut p = vec![l[0].clone()];
            for k in 1..n {
                let next = &l[k] * &p[k - 1];
                p.push(next);
            }
            let r = &p[n - 1] * &u - &y;
            let mut s = &r * u.adjoint();
            let mut out = Vec::with_capacity(n);
            for k in (2..=n).rev() {
                out.push(&s * p[k - 2].adjoint());
                s = l[k - 1].adjoint() * &s;
            }
            out.push(s);
            black_box(out)
        })
    });
    g.finish();
}

fn learning_flow(c: &mut Criterion) {
    let (d, n) = (256, 8);
    let w = gaussian_net(4, d, n);
    let x = w.product();
    let loss = Frobenius::new(random::gaussian::<f64, _>(&mut random::rng(5), d, d));
    let mut g = c.benchmark_group("learning_flow");
    g.sample_size(20);
    g.bench_function("velocity_d256_n8", |b| {
        b.iter(|| black_box(learning_velocity(black_box(x.as_ref()), &loss, n, 0.0).unwrap()))
    });
    g.bench_function("svd_d256", |b| {
        b.iter(|| black_box(black_box(&x).svd().unwrap()))
    });
    g.bench_function("thin_svd_d256", |b| {
        b.iter(|| black_box(black_box(&x).thin_svd().unwrap()))
    });
    g.finish();
}

criterion_group!(benches, l2_flow, training_gradient, learning_flow);
criterion_main!(benches);
