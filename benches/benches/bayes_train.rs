//! Noisy training (4.4) and prior sampling of `dln_bayes` against their unavoidable work:
//! - `noisy_step`: 50 steps of noisy training (`NoisyTraining::run_paths`, one path: per step one
//!   gradient of $E\circ\varphi$ and one exact OU step, i.e. one Gaussian per real coordinate from
//!   the xoshiro256++ `NoiseRng`, fused with the update) against 50 noiseless gradient-descent
//!   steps of the same network and loss (`network_gradient_into` + the in-place update, no
//!   allocation); `noisy_loop` is the same 50 noisy steps as a bare loop of
//!   `NoisyTraining::euler_ou_step` (without `run_paths`' set-up, rayon dispatch and its two
//!   recordings), and `ou` 50 exact OU steps alone (the noise). Frobenius loss
//!   $E(X) = \tfrac12\|X-Y\|^2$, square layers, d = 16 and 100, N = 2, 3, 4, real. The issue's
//!   target: a noisy step within 1.3× of a noiseless one. `noisy` runs on the default rayon pool
//!   (one thread per core): with a spare thread, the path draws its next step's noise there
//!   while it computes the gradient; `noisy_1thread` is the same run in a one-thread pool (no
//!   look-ahead; the same paths bit for bit).
//! - `prior_sample`: one exact sample of the Gaussian prior (`GaussianPrior::sample`, from the
//!   `NoiseRng` that `dln sample prior` uses) against filling a buffer of the same number of f64
//!   with `StandardNormal` draws from the same generator, and from ChaCha12 (`StdRng`, the
//!   generator before the switch): the ns per real coordinate of each (divide by D).
//!
//! Run: `cargo bench -p dln-benches --bench bayes_train` (filters: `noisy_step`, `prior_sample`).

use criterion::{Criterion, criterion_group, criterion_main};
use dln_algebra::Network;
use dln_bayes::ou::noise_rng;
use dln_bayes::{GaussianPrior, NoisyTraining, OrnsteinUhlenbeck};
use dln_flows::loss::Frobenius;
use dln_flows::training::{GradientWorkspace, network_gradient_into};
use dln_linalg::random;
use faer::{unzip, zip};
use rand::Rng;
use rand_distr::StandardNormal;
use std::hint::black_box;

/// Steps per timed iteration (amortises `run_paths`' set-up and its two recordings).
const STEPS: usize = 50;
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

fn noisy_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("noisy_step");
    g.sample_size(20);
    for d in [16, 100] {
        for n in [2, 3, 4] {
            let w0 = network(1, d, n);
            let mut rng = random::rng(2);
            let loss = Frobenius::new(random::scaled(
                random::gaussian::<f64, _>(&mut rng, d, d).as_ref(),
                1.0 / (d as f64).sqrt(),
            ));
            // Noiseless: gradient descent with a preallocated workspace.
            let mut w = w0.layers().to_vec();
            let mut ws = GradientWorkspace::new(&vec![d; n + 1]);
            g.bench_function(format!("gradient_d{d}_n{n}"), |b| {
                b.iter(|| {
                    let mut e = 0.0;
                    for _ in 0..STEPS {
                        e = network_gradient_into(black_box(&w), &loss, 0.0, &mut ws);
                        for (wk, gk) in w.iter_mut().zip(ws.gradient()) {
                            zip!(wk.as_mut(), gk.as_ref()).for_each(|unzip!(w, g)| *w -= H * *g);
                        }
                    }
                    black_box(e)
                })
            });
            // Noisy: the same steps with the exact OU part, as `dln sample train` runs them.
            let noisy = NoisyTraining::new(&loss, 1.0, 1.0, H).unwrap();
            g.bench_function(format!("noisy_d{d}_n{n}"), |b| {
                b.iter(|| {
                    let run = noisy
                        .run_paths(black_box(&w0), STEPS as f64 * H, 1, 1, 3, &mut ())
                        .unwrap();
                    black_box(run.steps)
                })
            });
            // The same on one thread (no spare thread: no look-ahead of the noise).
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            g.bench_function(format!("noisy_1thread_d{d}_n{n}"), |b| {
                b.iter(|| {
                    let run = one.install(|| {
                        noisy
                            .run_paths(black_box(&w0), STEPS as f64 * H, 1, 1, 3, &mut ())
                            .unwrap()
                    });
                    black_box(run.steps)
                })
            });
            // The same noisy steps as a bare loop (no run_paths overhead).
            let mut w = w0.layers().to_vec();
            let mut rng = noise_rng(3);
            let (a, sd) = noisy.ou().transition(H);
            g.bench_function(format!("noisy_loop_d{d}_n{n}"), |b| {
                b.iter(|| {
                    // From w0 every time, as `run_paths` starts (the copy is one pass).
                    for (wk, w0k) in w.iter_mut().zip(w0.layers()) {
                        wk.copy_from(w0k);
                    }
                    let mut e = 0.0;
                    for _ in 0..STEPS {
                        e = noisy
                            .euler_ou_step(black_box(&mut w), H, a, sd, &mut ws, &mut rng)
                            .0;
                    }
                    black_box(e)
                })
            });
            // The noise alone: exact OU steps (one Gaussian per coordinate and the update).
            let ou = OrnsteinUhlenbeck::new(1.0, 1.0).unwrap();
            let mut w = w0.layers().to_vec();
            let mut rng = noise_rng(4);
            g.bench_function(format!("ou_d{d}_n{n}"), |b| {
                b.iter(|| {
                    for _ in 0..STEPS {
                        ou.step(black_box(&mut w), H, &mut rng);
                    }
                })
            });
        }
    }
    g.finish();
}

fn prior_sample(c: &mut Criterion) {
    let mut g = c.benchmark_group("prior_sample");
    for (d, n) in [(16, 4), (100, 4)] {
        let widths = vec![d; n + 1];
        let prior = GaussianPrior::new(2.0, 0.5, &widths).unwrap();
        let coords = prior.dimension::<f64>();
        let mut rng = noise_rng(5);
        let mut chacha = random::rng(5);
        g.bench_function(format!("prior_d{d}_n{n}_{coords}coords"), |b| {
            b.iter(|| black_box(prior.sample::<f64, _>(&mut rng)))
        });
        let mut buf = vec![0.0_f64; coords];
        g.bench_function(format!("rng_normal_{coords}coords"), |b| {
            b.iter(|| {
                for x in buf.iter_mut() {
                    *x = rng.sample(StandardNormal);
                }
                black_box(&buf);
            })
        });
        g.bench_function(format!("chacha12_normal_{coords}coords"), |b| {
            b.iter(|| {
                for x in buf.iter_mut() {
                    *x = chacha.sample(StandardNormal);
                }
                black_box(&buf);
            })
        });
        let cprior = GaussianPrior::new(2.0, 0.5, &widths).unwrap();
        let ccoords = cprior.dimension::<dln_linalg::c64>();
        g.bench_function(format!("prior_complex_d{d}_n{n}_{ccoords}coords"), |b| {
            b.iter(|| black_box(cprior.sample::<dln_linalg::c64, _>(&mut rng)))
        });
        let mut cbuf = vec![0.0_f64; ccoords];
        g.bench_function(format!("rng_normal_{ccoords}coords"), |b| {
            b.iter(|| {
                for x in cbuf.iter_mut() {
                    *x = rng.sample(StandardNormal);
                }
                black_box(&cbuf);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, noisy_step, prior_sample);
criterion_main!(benches);
