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

/// Layers $U_k\,\mathrm{diag}(s_k)\,V_k^\top$ with Haar $U_k, V_k$ and singular values geometric in
/// $[c^{-1/(2N)}, c^{1/(2N)}]$: each layer has condition $c^{1/N}$, so $\operatorname{cond}(X)\le c$ for
/// every depth (the class on which "iterations independent of N" is a fair question).
fn bounded_product(seed: u64, d: usize, n: usize, c: f64) -> Network<f64> {
    let mut rng = random::rng(seed);
    let top = c.powf(0.5 / n as f64);
    Network::new(
        (0..n)
            .map(|_| {
                faer::Scale(top)
                    * random::gl_with_condition::<f64, _>(&mut rng, d, c.powf(1.0 / n as f64))
            })
            .collect(),
    )
    .unwrap()
}

/// Gaussian layers with entries of variance $1/d$ (the usual random initialisation): each layer has
/// norm $\approx 2$ and condition $\sim d$, so $\operatorname{cond}(X)$ still grows with N, but more slowly
/// than for the condition-10 class.
fn gaussian_scaled(seed: u64, d: usize, n: usize) -> Network<f64> {
    let mut rng = random::rng(seed);
    let s = 1.0 / (d as f64).sqrt();
    Network::new(
        (0..n)
            .map(|_| faer::Scale(s) * random::gaussian::<f64, _>(&mut rng, d, d))
            .collect(),
    )
    .unwrap()
}

/// The L² velocity by the normal equation (PCG on $\mathcal M(Z) = NX$ with $\mathcal A_{N,X}^{-1}$, plus the
/// generator from the layer recursion) against the H-solve, d = 64, N = 2..32, interleaved in one run,
/// min of 3 (one run at N = 32): time per solve, inner iterations, $\operatorname{cond}(X)$ and the
/// velocity difference, on three classes of layers: condition 10 each ($\operatorname{cond}(X)\sim10^N$),
/// a bounded product ($\operatorname{cond}(X)\le100$ at every N, [`bounded_product`]) and Gaussian/√d.
/// One-shot timing printed to stderr; runs only when the filter names it (`-- normal_solve`).
fn normal_solve(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("normal_solve")) {
        return;
    }
    let opts = CgOptions {
        rtol: 1e-12,
        max_iter: 5000,
    };
    type Class = (&'static str, fn(usize) -> Network<f64>);
    let classes: [Class; 3] = [
        ("cond10_layers", |n| square(4, 64, n)),
        ("condX_le_100", |n| bounded_product(4, 64, n, 100.0)),
        ("gaussian_over_sqrt_d", |n| gaussian_scaled(4, 64, n)),
    ];
    for (class, make) in classes {
        for n in [2usize, 4, 8, 16, 32] {
            let w = make(n);
            let sv = w.product().singular_values().unwrap();
            let cond_x = sv.iter().copied().fold(0.0, f64::max)
                / sv.iter().copied().fold(f64::INFINITY, f64::min);
            let mut t_normal = f64::INFINITY;
            let mut t_h = f64::INFINITY;
            let mut t_svd = f64::INFINITY;
            let (mut it_normal, mut it_h, mut diff, mut consistent) = (0, 0, f64::NAN, f64::NAN);
            let mut converged = false;
            let reps = if n >= 32 { 1 } else { 3 };
            for _ in 0..reps {
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
                converged = sol.converged;
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
                "normal_solve/{class}/d64_n{n}: cond(X) {cond_x:.1e}; normal {:.1} ms ({it_normal} PCG its{}, \
                 |Tb - w|/|W| = {consistent:.1e}), svd(X) {:.1} ms, ratio {:.1}; H-solve {:.1} ms ({it_h} its), \
                 |w_H - w_normal|/|W| = {diff:.1e}",
                1e3 * t_normal,
                if converged { "" } else { ", not converged" },
                1e3 * t_svd,
                t_normal / t_svd,
                1e3 * t_h,
            );
        }
    }
}

/// Where the time of one normal-route solve goes, bounded class ($\operatorname{cond}(X)\le100$), d = 64,
/// N = 2..32, under faer's global parallelism (`Rayon`, the default) and with it set to `Seq`:
/// forming $S_j$, $P_j$, $S_jS_j^*$, $P_j^*P_j$ ([`NormalOperator::new`]), the preconditioner (one SVD
/// of $X$), PCG (iterations and time per iteration), $d\varphi^*(Z)$ and the layer recursion
/// ([`generator_from_tangent`]). Interleaved (repetition outer, N, then parallelism inner), min of
/// `REPS`; per-N figures divided by N so "linear in N" reads as a flat column. Printed to stderr;
/// runs only when the filter names it (`-- normal_parts`).
fn normal_parts(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("normal_parts")) {
        return;
    }
    const REPS: usize = 7;
    let depths = [2usize, 3, 4, 6, 8, 12, 16, 24, 32];
    let pars = [
        ("rayon", faer::get_global_parallelism()),
        ("seq", faer::Par::Seq),
    ];
    let opts = CgOptions {
        rtol: 1e-12,
        max_iter: 5000,
    };
    let nets: Vec<Network<f64>> = depths
        .iter()
        .map(|&n| bounded_product(4, 64, n, 100.0))
        .collect();
    // [depth][par] -> [form, pre, pcg, adjoint, recursion, total], min over reps; iterations.
    let mut best = vec![[[f64::INFINITY; 6]; 2]; depths.len()];
    let mut iters = vec![0usize; depths.len()];
    for _ in 0..REPS {
        for (i, w) in nets.iter().enumerate() {
            let n = w.depth();
            for (p, &(_, par)) in pars.iter().enumerate() {
                faer::set_global_parallelism(par);
                let t0 = Instant::now();
                let m = NormalOperator::new(w);
                let t1 = Instant::now();
                let pre = NormalPreconditioner::new(m.product().as_ref(), n).unwrap();
                let t2 = Instant::now();
                let rhs = faer::Scale(n as f64) * m.product();
                let sol = m.solve(rhs.as_ref(), None, &pre, opts).unwrap();
                let t3 = Instant::now();
                let nz = m.differential_adjoint(sol.z.as_ref());
                let vel: Vec<Mat<f64>> =
                    w.layers().iter().zip(nz).map(|(wk, nk)| wk - nk).collect();
                let t4 = Instant::now();
                let b = generator_from_tangent(w, &vel);
                let t5 = Instant::now();
                black_box(b);
                iters[i] = sol.iterations;
                let parts = [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0];
                for (b, t) in best[i][p].iter_mut().zip(parts) {
                    *b = b.min(t.as_secs_f64());
                }
            }
        }
    }
    faer::set_global_parallelism(pars[0].1);
    for (i, &n) in depths.iter().enumerate() {
        for (p, &(label, _)) in pars.iter().enumerate() {
            let [form, pre, pcg, adj, rec, total] = best[i][p].map(|t| 1e3 * t);
            let it = iters[i].max(1) as f64;
            eprintln!(
                "normal_parts/{label}/d64_n{n}: total {total:.2} ms ({:.3} ms/N); form {form:.2}, \
                 pre(SVD) {pre:.2}, PCG {pcg:.2} ({} its, {:.3} ms/it, {:.4} ms/it/N), adjoint {adj:.2}, \
                 recursion {rec:.2} ms",
                total / n as f64,
                iters[i],
                pcg / it,
                pcg / it / n as f64,
            );
        }
    }
}

/// CPU time of this process (user + system, all threads) in clock ticks, from `/proc/self/stat`
/// (Linux; `None` elsewhere). On a shared machine it excludes the time the process waits for a
/// core, which wall-clock minima do not filter reliably at load 8–10 on 2 cores.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime and stime are fields 14, 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Newton Kempf–Ness against the closed form (`Orbit`, the canonical minimizer from N SVDs), in one
/// run, interleaved: the ratio of the wall-clock minima over `REPS` calls and the ratio of the
/// summed process CPU times (robust to a shared machine; tick resolution 10 ms, averaged over the
/// calls), Newton and inner iterations, H-solve fallbacks and the gap of the Newton iterate itself.
/// Square d = 128, N = 6 to ‖μ‖ ≤ 1e-13‖W‖² and to 1e-8 (closed orbit: the gap is quadratic in
/// ‖μ‖, so 1e-8 already gives a gap at rounding level) and widths [64,128,128,128,32] to 1e-8
/// (orbit not closed). Printed to stderr; runs only when the filter names it
/// (`-- newton_vs_closed_form`).
fn newton_vs_closed_form(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("newton_vs_closed_form")) {
        return;
    }
    const REPS: usize = 10;
    let cases = [
        ("square_d128_n6_tol1e-13", square(2, 128, 6), 1e-13),
        ("square_d128_n6_tol1e-8", square(2, 128, 6), 1e-8),
        (
            "rect_64_128_128_128_32",
            widths(3, &[64, 128, 128, 128, 32]),
            1e-8,
        ),
    ];
    for (label, w, tol) in cases {
        let (mut t_orbit, mut t_newton) = (f64::INFINITY, f64::INFINITY);
        let (mut cpu_orbit, mut cpu_newton) = (0u64, 0u64);
        let mut last = None;
        for _ in 0..REPS {
            let (c0, start) = (cpu_ticks(), Instant::now());
            let o = balance(
                black_box(&w),
                BalanceOptions {
                    method: BalanceMethod::Orbit,
                    ..Default::default()
                },
            )
            .unwrap();
            t_orbit = t_orbit.min(start.elapsed().as_secs_f64());
            cpu_orbit += cpu_ticks().zip(c0).map_or(0, |(a, b)| a - b);
            black_box(o);
            let (c0, start) = (cpu_ticks(), Instant::now());
            let nw = balance(
                black_box(&w),
                BalanceOptions {
                    method: BalanceMethod::Newton,
                    tol,
                    ..Default::default()
                },
            )
            .unwrap();
            t_newton = t_newton.min(start.elapsed().as_secs_f64());
            cpu_newton += cpu_ticks().zip(c0).map_or(0, |(a, b)| a - b);
            last = Some(nw.info);
        }
        let i = last.unwrap();
        eprintln!(
            "newton_vs_closed_form/{label}: wall min newton {:.1} ms, orbit {:.1} ms, ratio {:.1}; \
             CPU total newton {cpu_newton} ticks, orbit {cpu_orbit} ticks, ratio {:.1}; \
             {} Newton its, {} inner its, {} H-solves, orbit closed {}, iterate gap {:.1e}, gap {:.1e}",
            1e3 * t_newton,
            1e3 * t_orbit,
            t_newton / t_orbit,
            cpu_newton as f64 / cpu_orbit.max(1) as f64,
            i.iterations,
            i.cg_iterations,
            i.h_solves,
            i.orbit_closed,
            i.iterate_gap.unwrap_or(f64::NAN),
            i.gap(),
        );
    }
}

criterion_group!(
    benches,
    closed_form,
    iterative,
    h_solve,
    normal_solve,
    normal_parts,
    newton_vs_closed_form
);
criterion_main!(benches);
