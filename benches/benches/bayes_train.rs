//! Noisy training (4.4) and prior sampling of `dln_bayes` against their unavoidable work:
//! - `noisy_step`: the quantity, one thread, no rayon pool around: 50 steps of
//!   `NoisyTraining::euler_ou_step` (gradient of $E\circ\varphi$ into a preallocated workspace,
//!   then the fused update $W\leftarrow a(W-hG)+\mathrm{sd}\,\xi$ with the normals of the
//!   `NormalStream`) against 50 noiseless gradient-descent steps of the same network and loss
//!   (`network_gradient_into` + $W\leftarrow W-hG$); `noisy_rand_distr` is the same noisy step
//!   with the normals from `rand_distr::StandardNormal` on a xoshiro256++ generator (the
//!   previous noise, as the reference row). Frobenius loss $E(X)=\tfrac12\|X-Y\|^2$, square real
//!   layers, d = 16, 32, 64, 100, 128, N = 2, 3, 4. The target: noisy within 1.3× of
//!   gradient.
//! - `normals`: filling a buffer of 4096 standard normals with the `NormalStream` and, as the
//!   reference, with `StandardNormal` on `rand_xoshiro::Xoshiro256PlusPlus` (divide by 4096
//!   for ns per normal).
//! - `prior_sample`: one exact sample of the Gaussian prior (`GaussianPrior::sample` on the
//!   `NormalStream`, as `dln sample prior` draws) and the same on a xoshiro256++ `Rng`
//!   (`StandardNormal`): divide by the number of coordinates D for ns per coordinate.
//!
//! - `noisy_ratio` (runs only when the filter names it): the `noisy_step` comparison
//!   interleaved in one run on a shared machine — repetition outer, then (d, N), then variant —
//!   minimum of 15 repetitions of 50 steps each; also the time to draw the step's D normals
//!   alone, so the ratio can be read against (gradient + normals) / gradient, and the cost per
//!   step of `NoisyTraining::run_paths` for one path, without and with the look-ahead (the next
//!   step's normals drawn on the second core during the gradient): the difference of a 300-step
//!   and a 50-step call over 250, and the fixed cost of a call (set-up, recordings).
//!
//! Run: `cargo bench -p dln-benches --bench bayes_train` (filters: `noisy_step`, `normals`,
//! `prior_sample`, `noisy_ratio`).

use criterion::{Criterion, criterion_group, criterion_main};
use dln_algebra::Network;
use dln_bayes::{GaussianPrior, LookAhead, NoisyTraining, NormalSource, NormalStream};
use dln_flows::loss::Frobenius;
use dln_flows::training::{GradientWorkspace, network_gradient_into};
use dln_linalg::random;
use faer::{unzip, zip};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;
use std::time::Instant;

/// Steps per timed iteration.
const STEPS: usize = 50;
/// Steps of the longer `run_paths` call in `noisy_ratio`.
const LONG: usize = 300;
const H: f64 = 1e-3;

/// Layers with i.i.d. N(0, 1/(4d)) entries (operator norm about 1, so X and the gradient stay of
/// order one and the steps stay stable over the whole benchmark).
fn network(seed: u64, d: usize, n: usize) -> Network<f64> {
    let mut rng = random::rng(seed);
    let s = 0.5 / (d as f64).sqrt();
    Network::new(
        (0..n)
            .map(|_| random::scaled(random::gaussian::<f64, _>(&mut rng, d, d).as_ref(), s))
            .collect(),
    )
    .expect("finite")
}

/// The Frobenius loss $\tfrac12\|X - Y\|^2$ with $Y$ of i.i.d. N(0, 1/d) entries.
fn target(d: usize) -> Frobenius<f64> {
    let mut rng = random::rng(2);
    Frobenius::new(random::scaled(
        random::gaussian::<f64, _>(&mut rng, d, d).as_ref(),
        1.0 / (d as f64).sqrt(),
    ))
}

/// One noiseless gradient-descent step $W \leftarrow W - hG$ (the reference of both groups).
fn gradient_step(
    w: &mut [faer::Mat<f64>],
    loss: &Frobenius<f64>,
    ws: &mut GradientWorkspace<f64>,
) -> f64 {
    let e = network_gradient_into(black_box(w), loss, 0.0, ws);
    for (wk, gk) in w.iter_mut().zip(ws.gradient()) {
        zip!(wk.as_mut(), gk.as_ref()).for_each(|unzip!(w, g)| *w -= H * *g);
    }
    e
}

fn noisy_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("noisy_step");
    g.sample_size(20);
    for d in [16, 32, 64, 100, 128] {
        for n in [2, 3, 4] {
            let w0 = network(1, d, n);
            let loss = target(d);
            let noisy = NoisyTraining::new(&loss, 1.0, 1.0, H).unwrap();
            let (a, sd) = noisy.ou().transition(H);
            let mut ws = GradientWorkspace::new(&vec![d; n + 1]);
            let mut w = w0.layers().to_vec();
            // Each iteration restarts from w0 (one copy pass; the same in every variant).
            let restart = |w: &mut Vec<faer::Mat<f64>>| {
                for (wk, w0k) in w.iter_mut().zip(w0.layers()) {
                    wk.copy_from(w0k);
                }
            };
            g.bench_function(format!("gradient_d{d}_n{n}"), |b| {
                b.iter(|| {
                    restart(&mut w);
                    let mut e = 0.0;
                    for _ in 0..STEPS {
                        e = gradient_step(&mut w, &loss, &mut ws);
                    }
                    black_box(e)
                })
            });
            let mut stream = NormalStream::new(3);
            g.bench_function(format!("noisy_d{d}_n{n}"), |b| {
                b.iter(|| {
                    restart(&mut w);
                    let mut e = 0.0;
                    for _ in 0..STEPS {
                        e = noisy
                            .euler_ou_step(black_box(&mut w), H, a, sd, &mut ws, &mut stream)
                            .0;
                    }
                    black_box(e)
                })
            });
            let mut xo = Xoshiro256PlusPlus::seed_from_u64(3);
            g.bench_function(format!("noisy_rand_distr_d{d}_n{n}"), |b| {
                b.iter(|| {
                    restart(&mut w);
                    let mut e = 0.0;
                    for _ in 0..STEPS {
                        e = noisy
                            .euler_ou_step(black_box(&mut w), H, a, sd, &mut ws, &mut xo)
                            .0;
                    }
                    black_box(e)
                })
            });
        }
    }
    g.finish();
}

/// The `noisy_step` comparison, interleaved, minimum over repetitions (module documentation).
/// Printed to stderr; runs only when the filter names it (`-- noisy_ratio`).
fn noisy_ratio(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("noisy_ratio")) {
        return;
    }
    const REPS: usize = 15;
    struct Case {
        d: usize,
        n: usize,
        w0: Network<f64>,
        loss: Frobenius<f64>,
        ws: GradientWorkspace<f64>,
        w: Vec<faer::Mat<f64>>,
        z: Vec<f64>,
        best: [f64; 8],
    }
    let mut cases: Vec<Case> = [16, 32, 64, 100, 128]
        .into_iter()
        .flat_map(|d| [2, 3, 4].map(|n| (d, n)))
        .map(|(d, n)| {
            let w0 = network(1, d, n);
            let loss = target(d);
            Case {
                d,
                n,
                ws: GradientWorkspace::new(&vec![d; n + 1]),
                w: w0.layers().to_vec(),
                w0,
                loss,
                z: vec![0.0; n * d * d],
                best: [f64::INFINITY; 8],
            }
        })
        .collect();
    let mut stream = NormalStream::new(3);
    let mut xo = Xoshiro256PlusPlus::seed_from_u64(3);
    for _ in 0..REPS {
        for c in &mut cases {
            // β = 10⁴: weak noise, so that even the 300-step runs stay near the start (at β = 1
            // the d = 16 paths diverge within 300 steps); the cost of a step does not depend on β.
            let noisy = NoisyTraining::new(&c.loss, 1e4, 1.0, H).unwrap();
            let (a, sd) = noisy.ou().transition(H);
            for variant in 0..8 {
                for (wk, w0k) in c.w.iter_mut().zip(c.w0.layers()) {
                    wk.copy_from(w0k);
                }
                let t0 = Instant::now();
                if variant >= 4 {
                    // The whole `run_paths` of one path (as `dln sample train --paths 1`): set-up,
                    // Strang splitting (one extra half OU step), one recording; LONG or STEPS
                    // steps, so that the difference is the cost per step without the fixed part.
                    let mode = [LookAhead::Never, LookAhead::Always][(variant - 4) % 2];
                    let steps = if variant < 6 { STEPS } else { LONG };
                    black_box(
                        noisy
                            .clone()
                            .with_look_ahead(mode)
                            .run_paths(&c.w0, steps as f64 * H, 1, 1, 7, &mut ())
                            .unwrap(),
                    );
                }
                for _ in 0..STEPS * usize::from(variant < 4) {
                    match variant {
                        0 => {
                            black_box(gradient_step(&mut c.w, &c.loss, &mut c.ws));
                        }
                        1 => {
                            black_box(noisy.euler_ou_step(
                                &mut c.w,
                                H,
                                a,
                                sd,
                                &mut c.ws,
                                &mut stream,
                            ));
                        }
                        2 => {
                            black_box(noisy.euler_ou_step(&mut c.w, H, a, sd, &mut c.ws, &mut xo));
                        }
                        _ => {
                            stream.fill_normals(&mut c.z);
                            black_box(&c.z);
                        }
                    }
                }
                let t = t0.elapsed().as_secs_f64();
                c.best[variant] = c.best[variant].min(t);
            }
        }
    }
    for c in &cases {
        let [grad, noisy, rd, normals] = [0, 1, 2, 3].map(|v| 1e6 * c.best[v] / STEPS as f64);
        // Per step of `run_paths`: (time of LONG steps - time of STEPS steps) / (LONG - STEPS).
        let per_step = |v: usize| 1e6 * (c.best[v + 2] - c.best[v]) / (LONG - STEPS) as f64;
        let (paths, ahead) = (per_step(4), per_step(5));
        let fixed = |v: usize| 1e6 * c.best[v] - STEPS as f64 * per_step(v);
        eprintln!(
            "noisy_ratio/d{}_n{}: gradient {grad:.2} µs, noisy {noisy:.2} µs = {:.3}x \
             (rand_distr noise {rd:.2} µs = {:.3}x); D = {} normals alone {normals:.2} µs \
             ({:.2} ns each), reference (gradient + normals)/gradient = {:.3}x; run_paths one \
             path {paths:.2} µs/step = {:.3}x, with look-ahead {ahead:.2} µs/step = {:.3}x \
             (fixed cost per call {:.0} / {:.0} µs)",
            c.d,
            c.n,
            noisy / grad,
            rd / grad,
            c.z.len(),
            1e3 * normals / c.z.len() as f64,
            (grad + normals) / grad,
            paths / grad,
            ahead / grad,
            fixed(4),
            fixed(5)
        );
    }
}

fn normals(c: &mut Criterion) {
    let mut g = c.benchmark_group("normals");
    let mut buf = vec![0.0_f64; 4096];
    let mut stream = NormalStream::new(5);
    g.bench_function("stream_4096", |b| {
        b.iter(|| {
            stream.fill_normals(&mut buf);
            black_box(&buf);
        })
    });
    let mut xo = Xoshiro256PlusPlus::seed_from_u64(5);
    g.bench_function("rand_distr_xoshiro_4096", |b| {
        b.iter(|| {
            xo.fill_normals(&mut buf);
            black_box(&buf);
        })
    });
    g.finish();
}

fn prior_sample(c: &mut Criterion) {
    let mut g = c.benchmark_group("prior_sample");
    for (d, n) in [(16, 4), (100, 4)] {
        let widths = vec![d; n + 1];
        let prior = GaussianPrior::new(2.0, 0.5, &widths).unwrap();
        let coords = prior.dimension::<f64>();
        let mut stream = NormalStream::new(5);
        let mut xo = Xoshiro256PlusPlus::seed_from_u64(5);
        g.bench_function(format!("prior_d{d}_n{n}_{coords}coords"), |b| {
            b.iter(|| black_box(prior.sample::<f64, _>(&mut stream)))
        });
        g.bench_function(format!("prior_rand_distr_d{d}_n{n}_{coords}coords"), |b| {
            b.iter(|| black_box(prior.sample::<f64, _>(&mut xo)))
        });
        let ccoords = prior.dimension::<dln_linalg::c64>();
        g.bench_function(format!("prior_complex_d{d}_n{n}_{ccoords}coords"), |b| {
            b.iter(|| black_box(prior.sample::<dln_linalg::c64, _>(&mut stream)))
        });
    }
    g.finish();
}

criterion_group!(benches, noisy_step, normals, prior_sample, noisy_ratio);
criterion_main!(benches);
