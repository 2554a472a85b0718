//! Benchmarks of the DLN algebra: closed-form and iterative Kempf–Ness balancing, and the
//! structured H-solve. Each group times the unavoidable work (an SVD, the matrix products) in the
//! same run, so docs/performance.md can report ratios rather than raw times.
//!
//! Run one group at a time, e.g. `cargo bench -p dln-benches --bench algebra -- closed_form`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dln_algebra::{
    BalanceMethod, BalanceOptions, BalancedOrbit, CgOptions, FiberOperator, Network, balance,
};
use dln_linalg::random;
use faer::Mat;
use std::hint::black_box;

fn square(seed: u64, d: usize, n: usize) -> Network<f64> {
    let mut rng = random::rng(seed);
    Network::new(
        (0..n)
            .map(|_| random::gl_with_condition(&mut rng, d, 10.0))
            .collect(),
    )
    .unwrap()
}

fn widths(seed: u64, w: &[usize]) -> Network<f64> {
    let mut rng = random::rng(seed);
    Network::new(
        (1..w.len())
            .map(|k| random::gaussian(&mut rng, w[k], w[k - 1]))
            .collect(),
    )
    .unwrap()
}

/// Closed-form balancing at d = 256, N = 8 against its unavoidable work: the N-1 products forming
/// X, one SVD of X, and the N scaled products building the balanced layers.
fn closed_form(c: &mut Criterion) {
    let (d, n) = (256, 8);
    let w = square(1, d, n);
    let mut g = c.benchmark_group("closed_form");
    g.sample_size(20);
    g.bench_function("svd_route_d256_n8", |b| {
        b.iter(|| {
            let orbit = BalancedOrbit::of(black_box(&w)).unwrap();
            black_box(orbit.centre())
        })
    });
    g.bench_function("unavoidable_products_plus_svd_d256", |b| {
        b.iter(|| {
            let x = black_box(&w).product();
            let svd = x.thin_svd().unwrap();
            // N products of the size of the layers (the balanced layers Q_k Λ Q_{k-1}^*).
            let mut acc = Mat::<f64>::zeros(d, d);
            for _ in 0..n {
                acc = svd.U() * svd.V().transpose();
            }
            black_box(acc)
        })
    });
    g.bench_function("full_balance_svd_with_diagnostics_d256_n8", |b| {
        b.iter(|| {
            balance(
                black_box(&w),
                BalanceOptions {
                    method: BalanceMethod::Svd,
                    ..Default::default()
                },
            )
            .unwrap()
        })
    });
    g.finish();
}

/// Iterative Kempf–Ness (Newton on the orbit) to relative moment 1e-13, square d = 128, N = 6,
/// against the closed form at the same size; and rectangular widths [64,128,128,128,32].
fn iterative(c: &mut Criterion) {
    let mut g = c.benchmark_group("iterative");
    g.sample_size(10);
    let w = square(2, 128, 6);
    g.bench_function("closed_form_d128_n6", |b| {
        b.iter(|| BalancedOrbit::of(black_box(&w)).unwrap().centre())
    });
    g.bench_function("orbit_polar_frames_d128_n6", |b| {
        b.iter(|| {
            balance(
                black_box(&w),
                BalanceOptions {
                    method: BalanceMethod::Orbit,
                    ..Default::default()
                },
            )
            .unwrap()
        })
    });
    g.bench_function("newton_d128_n6", |b| {
        b.iter(|| {
            balance(
                black_box(&w),
                BalanceOptions {
                    method: BalanceMethod::Newton,
                    ..Default::default()
                },
            )
            .unwrap()
        })
    });
    let r = widths(3, &[64, 128, 128, 128, 32]);
    g.bench_function("orbit_polar_frames_rect_64_128_128_128_32", |b| {
        b.iter(|| {
            balance(
                black_box(&r),
                BalanceOptions {
                    method: BalanceMethod::Orbit,
                    ..Default::default()
                },
            )
            .unwrap()
        })
    });
    g.bench_function("newton_rect_64_128_128_128_32", |b| {
        b.iter(|| {
            balance(
                black_box(&r),
                BalanceOptions {
                    method: BalanceMethod::Newton,
                    tol: 1e-8,
                    ..Default::default()
                },
            )
            .unwrap()
        })
    });
    g.finish();
}

/// One structured H-solve at d = 64 for N = 2..16: the cost must grow linearly in N.
fn h_solve(c: &mut Criterion) {
    let mut g = c.benchmark_group("h_solve_d64");
    g.sample_size(10);
    for n in [2usize, 4, 8, 16] {
        let w = square(4, 64, n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &w, |b, w| {
            b.iter(|| {
                let mut op = FiberOperator::new(w);
                op.l2_gradient_generator(CgOptions::default()).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, closed_form, iterative, h_solve);
criterion_main!(benches);
