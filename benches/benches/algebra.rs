//! Benchmarks of the DLN algebra: closed-form and iterative Kempf–Ness balancing, and the
//! structured H-solve. Each group times the unavoidable work (an SVD, the matrix products) in the
//! same run, so docs/performance.md can report ratios rather than raw times.
//!
//! Run one group at a time, e.g. `cargo bench -p dln-benches --bench algebra -- closed_form`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dln_algebra::{
    BalanceMethod, BalanceOptions, BalancedOrbit, CgOptions, FiberOperator, Network,
    NormalOperator, NormalPreconditioner, balance, generator_from_tangent, tuple_norm_sq,
};
use dln_linalg::random;
use faer::Mat;
use std::hint::black_box;
use std::time::Instant;

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

/// The L² velocity by the normal equation (PCG on $\mathcal M(Z) = NX$ with $\mathcal A_{N,X}^{-1}$, plus the
/// generator from the layer recursion) against the H-solve, d = 64, N = 2..32, interleaved in one run,
/// min of 3: time per solve, inner iterations and the velocity difference. One-shot timing printed
/// to stderr; runs only when the filter names it (`-- normal_solve`).
fn normal_solve(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("normal_solve")) {
        return;
    }
    let opts = CgOptions {
        rtol: 1e-12,
        max_iter: 5000,
    };
    for n in [2usize, 4, 8, 16, 32] {
        let w = square(4, 64, n);
        let mut t_normal = f64::INFINITY;
        let mut t_h = f64::INFINITY;
        let mut t_svd = f64::INFINITY;
        let (mut it_normal, mut it_h, mut diff, mut consistent) = (0, 0, f64::NAN, f64::NAN);
        for _ in 0..3 {
            let start = Instant::now();
            let x = w.product();
            let _ = black_box(x.svd().unwrap());
            t_svd = t_svd.min(start.elapsed().as_secs_f64());

            let start = Instant::now();
            let m = NormalOperator::new(&w);
            let pre = NormalPreconditioner::new(m.product().as_ref(), n).unwrap();
            let (vel, sol) = m.l2_velocity(None, &pre, opts).unwrap();
            let b = generator_from_tangent(&w, &vel);
            t_normal = t_normal.min(start.elapsed().as_secs_f64());
            it_normal = sol.iterations;
            if let Some(b) = b {
                let tb = w.infinitesimal_action(&b);
                let d: Vec<Mat<f64>> = tb.iter().zip(&vel).map(|(a, v)| a - v).collect();
                consistent = tuple_norm_sq(&d).sqrt() / w.l2_norm_sq().sqrt();
            }
            if n <= 8 {
                let start = Instant::now();
                let mut op = FiberOperator::new(&w);
                let h = op.l2_gradient_generator(opts).unwrap();
                t_h = t_h.min(start.elapsed().as_secs_f64());
                it_h = h.iterations;
                let tb = w.infinitesimal_action(&h.b);
                let d: Vec<Mat<f64>> = tb.iter().zip(&vel).map(|(a, v)| a - v).collect();
                diff = tuple_norm_sq(&d).sqrt() / w.l2_norm_sq().sqrt();
            }
        }
        eprintln!(
            "normal_solve/d64_n{n}: normal {:.1} ms ({it_normal} PCG its, |Tb - w|/|W| = {consistent:.1e}), \
             svd(X) {:.1} ms, ratio {:.1}; H-solve {:.1} ms ({it_h} its), |w_H - w_normal|/|W| = {diff:.1e}",
            1e3 * t_normal,
            1e3 * t_svd,
            t_normal / t_svd,
            1e3 * t_h,
        );
    }
}

criterion_group!(benches, closed_form, iterative, h_solve, normal_solve);
criterion_main!(benches);
