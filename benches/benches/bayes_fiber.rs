//! The fiber-posterior MCMC of `dln_bayes::posterior` at d = 16, N = 4 (fiber of real dimension
//! 768, normal matrix 256 × 256): effective samples of ‖W‖² per second, and the time of one chain
//! step against its unavoidable work (forming and Cholesky-factoring the 256 × 256 matrix of
//! dφ dφ* at the proposed point, needed for the reverse projection and for log J_φ).
//!
//! The same for constrained HMC (`FiberPosterior::sample_hmc`): ESS of ‖W‖² per second, and the
//! time of one RATTLE step against its unavoidable work (the same matrix and Cholesky at the new
//! point; for the conditional measure with the exact force also the inverse of that matrix for
//! ∇log J_φ).
//!
//! And the sampler that meets the goal, block Gibbs over layer pairs
//! (`FiberSampler::BlockGibbs`, conditional measure): ESS of ‖W‖² per second for one chain and for
//! two independent chains on the two cores (`FiberPosterior::sample_chains`), 4000 retained
//! sweeps in all, **each chain's burn-in counted in the time**.
//!
//! Run: `cargo bench -p dln-benches --bench bayes_fiber`. The ESS/s figures are printed (stderr)
//! from long seeded chains (random walk, HMC and block Gibbs in the same process) before the
//! criterion groups.

use criterion::{Criterion, criterion_group, criterion_main};
use dln_algebra::{Network, NormalOperator};
use dln_bayes::{BaseMeasure, FiberMcmcOptions, FiberPosterior, FiberSampler, HmcOptions};
use dln_linalg::random;
use faer::Side;
use faer::linalg::solvers::{DenseSolveCore, Llt};
use std::hint::black_box;
use std::time::Instant;

const D: usize = 16;
const N: usize = 4;

/// A sample of the prior at βκ = 1 (i.i.d. N(0, 1) entries): a typical point of a typical fiber.
fn start(seed: u64) -> Network<f64> {
    let mut rng = random::rng(seed);
    Network::new((0..N).map(|_| random::gaussian(&mut rng, D, D)).collect()).unwrap()
}

/// One long chain per base measure: ESS of ‖W‖² per second of post-burn-in sampling.
fn ess_per_second() {
    let w0 = start(1);
    for measure in [BaseMeasure::Hausdorff, BaseMeasure::Conditional] {
        let post = FiberPosterior::new(1.0, 1.0, measure).unwrap();
        // Burn-in (adapts the step), then a timed run from its end state with the step frozen.
        let burn = FiberMcmcOptions {
            samples: 1,
            burn_in: 1000,
            ..Default::default()
        };
        let warm = post.sample(&w0, &burn, 1, &mut ()).unwrap();
        let opts = FiberMcmcOptions {
            samples: 4000,
            burn_in: 0,
            step: Some(warm.diagnostics.step),
            ..Default::default()
        };
        let t = Instant::now();
        let chain = post.sample(&warm.samples[0], &opts, 2, &mut ()).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let d = chain.diagnostics;
        eprintln!(
            "fiber MCMC d={D} N={N} {}: {} steps in {secs:.2} s ({:.3} ms/step), acceptance {:.3}, \
             ESS(‖W‖²) {:.1} → {:.2} effective samples/s; max residual {:.1e}",
            measure.name(),
            d.steps,
            1e3 * secs / d.steps as f64,
            d.acceptance_rate,
            d.ess,
            d.ess / secs,
            d.max_constraint_residual
        );
        // HMC: burn-in (adapts h), then a timed run with h frozen.
        let burn = HmcOptions {
            samples: 1,
            burn_in: 150,
            ..Default::default()
        };
        let warm = post.sample_hmc(&w0, &burn, 1, &mut ()).unwrap();
        let opts = HmcOptions {
            samples: 300,
            burn_in: 0,
            step: Some(warm.diagnostics.step),
            ..Default::default()
        };
        let t = Instant::now();
        let chain = post
            .sample_hmc(&warm.samples[0], &opts, 2, &mut ())
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let d = chain.diagnostics;
        eprintln!(
            "fiber HMC  d={D} N={N} {}: {} trajectories of {} RATTLE steps (h = {:.3}) in {secs:.2} s \
             ({:.3} ms/RATTLE step), acceptance {:.3}, ESS(‖W‖²) {:.1} → {:.2} effective samples/s; \
             max residual {:.1e}; mean ‖W‖² {:.2} ± {:.2}",
            measure.name(),
            d.steps,
            d.leapfrog_steps,
            d.step,
            1e3 * secs / (d.steps * d.leapfrog_steps) as f64,
            d.acceptance_rate,
            d.ess,
            d.ess / secs,
            d.max_constraint_residual,
            d.mean_l2_norm_sq,
            d.standard_error
        );
    }
}

/// Block Gibbs (conditional measure), one chain and two chains on the two cores: ESS of ‖W‖² per
/// second of the whole call, burn-ins included.
fn block_gibbs_ess_per_second() {
    let w0 = start(1);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    for chains in [1, 2] {
        let t = Instant::now();
        let chain = post
            .sample_chains(
                FiberSampler::BlockGibbs,
                &w0,
                chains,
                4000,
                None,
                1,
                4,
                &mut (),
            )
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let d = chain.diagnostics;
        eprintln!(
            "fiber block-Gibbs d={D} N={N} conditional, {chains} chain(s): 4000 sweeps + burn-in in \
             {secs:.2} s, ESS(‖W‖²) {:.1} → {:.0} effective samples/s; max residual {:.1e}; \
             mean ‖W‖² {:.2} ± {:.2}",
            d.ess,
            d.ess / secs,
            d.max_constraint_residual,
            d.mean_l2_norm_sq,
            d.standard_error
        );
    }
}

fn fiber_step(c: &mut Criterion) {
    block_gibbs_ess_per_second();
    ess_per_second();
    let w0 = start(1);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    let warm = post
        .sample(
            &w0,
            &FiberMcmcOptions {
                samples: 1,
                burn_in: 300,
                ..Default::default()
            },
            1,
            &mut (),
        )
        .unwrap();
    let w = warm.samples[0].clone();
    let opts = FiberMcmcOptions {
        samples: 20,
        burn_in: 0,
        step: Some(warm.diagnostics.step),
        ..Default::default()
    };
    let mut g = c.benchmark_group("fiber_mcmc");
    g.sample_size(10);
    g.bench_function("chain_20_steps_d16_n4_conditional", |b| {
        b.iter(|| black_box(post.sample(black_box(&w), &opts, 3, &mut ()).unwrap()))
    });
    // The unavoidable work of one step, 20 times: the 256 × 256 normal matrix and its Cholesky.
    g.bench_function("unavoidable_20x_matrix_and_cholesky_d16_n4", |b| {
        b.iter(|| {
            for _ in 0..20 {
                let op = NormalOperator::new(black_box(&w));
                let m = op.matrix();
                black_box(Llt::new(m.as_ref(), Side::Lower).unwrap());
            }
        })
    });
    // HMC: one trajectory of L RATTLE steps against L times the unavoidable work (matrix and
    // Cholesky at each new point, plus the inverse for ∇log J_φ with the conditional force).
    let warm = post
        .sample_hmc(
            &w0,
            &HmcOptions {
                samples: 1,
                burn_in: 60,
                ..Default::default()
            },
            1,
            &mut (),
        )
        .unwrap();
    let w = warm.samples[0].clone();
    let l = warm.diagnostics.leapfrog_steps;
    let opts = HmcOptions {
        samples: 1,
        burn_in: 0,
        step: Some(warm.diagnostics.step),
        flip_probability: 0.0,
        ..Default::default()
    };
    eprintln!("HMC trajectory: {l} RATTLE steps");
    g.bench_function("hmc_one_trajectory_d16_n4_conditional", |b| {
        b.iter(|| black_box(post.sample_hmc(black_box(&w), &opts, 3, &mut ()).unwrap()))
    });
    g.bench_function(
        "unavoidable_per_trajectory_matrix_cholesky_inverse_d16_n4",
        |b| {
            b.iter(|| {
                for _ in 0..l {
                    let op = NormalOperator::new(black_box(&w));
                    let m = op.matrix();
                    let llt = Llt::new(m.as_ref(), Side::Lower).unwrap();
                    black_box(llt.inverse());
                }
            })
        },
    );
    g.finish();
}

criterion_group!(benches, fiber_step);
criterion_main!(benches);
