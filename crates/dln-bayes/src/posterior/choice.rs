//! Which fiber sampler, with the defaults the program and the Python package share: the sampler
//! per base measure (and, for the conditional one, the network's shape) and the burn-in per sampler, chosen by the d = 16, N = 4 measurement of
//! docs/performance.md (cost per effective sample counted in factorizations).

use super::BlockGibbsOptions;
use super::graph::check_square_invertible;
use super::{
    BaseMeasure, FiberChain, FiberMcmcOptions, FiberPosterior, GraphHmcOptions, HmcOptions,
};
use crate::error::{BayesError, Result};
use dln_algebra::Network;
use dln_flows::{FlowStats, Observer, Progress, Termination};
use dln_linalg::Scalar;
use rayon::prelude::*;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// One of the fiber samplers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiberSampler {
    /// Constrained HMC ([`FiberPosterior::sample_hmc`]).
    Hmc,
    /// Constrained random-walk Metropolis ([`FiberPosterior::sample`]).
    RandomWalk,
    /// Euclidean HMC in the graph chart ([`FiberPosterior::sample_graph_hmc`]; conditional
    /// measure, square layers, invertible $X$).
    GraphHmc,
    /// Blocked Gibbs over adjacent layer pairs: a Haar rotation and HMC along each junction's $GL(d)$ orbit
    /// ([`FiberPosterior::sample_block_gibbs`]; conditional measure, square layers, invertible $X$).
    BlockGibbs,
}

impl FiberSampler {
    /// The default for `measure` and the network `w0`: constrained HMC for the Hausdorff measure;
    /// for the conditional one, blocked Gibbs where it applies (square layers of one width, depth
    /// at least 2, $X$ invertible to working precision) and the random walk otherwise.
    ///
    /// Chosen by cost per effective sample at $d = 16$, $N = 4$ (docs/performance.md): Hausdorff,
    /// 48 RATTLE steps against 63 random-walk steps; conditional, blocked Gibbs 151 effective
    /// samples/s against 1.0 (random walk) and 1.8 (graph-chart HMC) in one run, and where it does
    /// not apply 81 RATTLE steps of 2.3–2.7 random-walk steps each against 58.
    pub fn default_for<T: Scalar>(measure: BaseMeasure, w0: &Network<T>) -> Self {
        match measure {
            BaseMeasure::Conditional
                if w0.depth() >= 2 && check_square_invertible(w0, "").is_ok() =>
            {
                Self::BlockGibbs
            }
            BaseMeasure::Conditional => Self::RandomWalk,
            BaseMeasure::Hausdorff => Self::Hmc,
        }
    }

    /// `"hmc"`, `"rwm"`, `"graph-hmc"` or `"block-gibbs"`, the names of the program and the Python package.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hmc => "hmc",
            Self::RandomWalk => "rwm",
            Self::GraphHmc => "graph-hmc",
            Self::BlockGibbs => "block-gibbs",
        }
    }

    /// The sampler named `name` (see [`FiberSampler::name`]).
    ///
    /// # Errors
    /// [`BayesError::Unsupported`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        [
            Self::Hmc,
            Self::RandomWalk,
            Self::GraphHmc,
            Self::BlockGibbs,
        ]
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| BayesError::Unsupported {
            what: format!(
                "sampler: expected \"hmc\", \"rwm\", \"graph-hmc\" or \"block-gibbs\", got {name:?}"
            ),
        })
    }

    /// Default burn-in: 1000 random-walk steps, 300 trajectories for either HMC, 300 block-Gibbs
    /// sweeps. The one source of these numbers: the option structs' `Default`
    /// ([`FiberMcmcOptions`], [`HmcOptions`], [`GraphHmcOptions`], [`BlockGibbsOptions`]),
    /// `dln sample fiber` and `dln.sample_fiber` all take them from here.
    ///
    /// Measured (docs/performance.md, "Default burn-in"): on the instances of the verify checks
    /// ($d = 1$, $N = 2$) the seed-averaged start-up bias of the chain mean of $\|\mathbf W\|^2$ is
    /// within its noise for every burn-in from 100 (HMC, graph HMC) and 300 (random walk) up to
    /// 2000, so these defaults keep a margin of 3 or more; at $d = 16$, $N = 4$ no burn-in of
    /// practical length removes the drift of the random walk or the graph chart (Geweke $|z|$ of
    /// 3–6 after 1000–5000 steps or 300–2000 trajectories), which is slow mixing, not start-up:
    /// there, check a chain against a longer one.
    pub fn default_burn_in(self) -> usize {
        match self {
            Self::RandomWalk => 1000,
            Self::Hmc | Self::GraphHmc | Self::BlockGibbs => 300,
        }
    }
}

impl FiberPosterior {
    /// `samples` states of `sampler`'s chain from `w0`, every `thin`-th after `burn_in`
    /// transitions (default [`FiberSampler::default_burn_in`]); the other settings at their
    /// defaults.
    ///
    /// # Errors
    /// As the sampler's own method.
    #[allow(clippy::too_many_arguments)] // The chain's settings, one argument each.
    pub fn sample_with<T: Scalar, O>(
        &self,
        sampler: FiberSampler,
        w0: &Network<T>,
        samples: usize,
        burn_in: Option<usize>,
        thin: usize,
        seed: u64,
        obs: &mut O,
    ) -> Result<FiberChain<T>>
    where
        O: for<'a> Observer<Progress<'a, T>>,
    {
        let burn_in = burn_in.unwrap_or(sampler.default_burn_in());
        match sampler {
            FiberSampler::RandomWalk => {
                let opts = FiberMcmcOptions {
                    samples,
                    burn_in,
                    thin,
                    ..Default::default()
                };
                self.sample(w0, &opts, seed, obs)
            }
            FiberSampler::Hmc => {
                let opts = HmcOptions {
                    samples,
                    burn_in,
                    thin,
                    ..Default::default()
                };
                self.sample_hmc(w0, &opts, seed, obs)
            }
            FiberSampler::GraphHmc => {
                let opts = GraphHmcOptions {
                    samples,
                    burn_in,
                    thin,
                    ..Default::default()
                };
                self.sample_graph_hmc(w0, &opts, seed, obs)
            }
            FiberSampler::BlockGibbs => {
                let opts = BlockGibbsOptions {
                    samples,
                    burn_in,
                    thin,
                    ..Default::default()
                };
                self.sample_block_gibbs(w0, &opts, seed, obs)
            }
        }
    }
}

/// The seed of chain `i` of [`FiberPosterior::sample_chains`]: `seed` itself for chain 0 (so one
/// chain is [`FiberPosterior::sample_with`]), a SplitMix64 mix of `(seed, i)` otherwise
/// ([`crate::ou::path_seed`]).
fn chain_seed(seed: u64, i: usize) -> u64 {
    if i == 0 {
        seed
    } else {
        crate::ou::path_seed(seed, i)
    }
}

/// Pools the diagnostics of independent chains: the post-burn-in states are one sample of
/// $\sum_i n_i$ states whose mean is $\sum_i n_i m_i/\sum_i n_i$, with standard error
/// $\sqrt{\sum_i n_i^2\,\mathrm{SE}_i^2}/\sum_i n_i$ (independent chains) and effective sample size
/// $\sum_i \mathrm{ESS}_i$; rates are weighted by the chains' steps, counts add up, the residual
/// is the largest, and `step` is the mean of the chains' adapted steps.
fn pool(d: &[super::FiberDiagnostics]) -> super::FiberDiagnostics {
    let n: f64 = d.iter().map(|c| c.steps as f64).sum::<f64>().max(1.0);
    let w = |f: fn(&super::FiberDiagnostics) -> f64| -> f64 {
        d.iter().map(|c| c.steps as f64 * f(c)).sum::<f64>() / n
    };
    let mut p = d[0];
    p.acceptance_rate = w(|c| c.acceptance_rate);
    p.ess = d.iter().map(|c| c.ess).sum();
    p.mean_l2_norm_sq = w(|c| c.mean_l2_norm_sq);
    p.standard_error = d
        .iter()
        .map(|c| (c.steps as f64 * c.standard_error).powi(2))
        .sum::<f64>()
        .sqrt()
        / n;
    p.max_constraint_residual = d
        .iter()
        .map(|c| c.max_constraint_residual)
        .fold(0.0, f64::max);
    p.mean_moment_norm = w(|c| c.mean_moment_norm);
    p.step = d.iter().map(|c| c.step).sum::<f64>() / d.len() as f64;
    p.steps = d.iter().map(|c| c.steps).sum();
    p.projection_failures = d.iter().map(|c| c.projection_failures).sum();
    p.reverse_failures = d.iter().map(|c| c.reverse_failures).sum();
    p.flips = d.iter().map(|c| c.flips).sum();
    p
}

/// The observer of one pooled chain: it counts the chain's transitions into the pooled progress,
/// passes that progress on to the caller's observer when no other chain is doing so (so the
/// caller's observer — a progress bar, Ctrl-C, a Python callback — is polled as long as any
/// chain runs), and stops its chain as soon as the caller's observer has asked any chain to stop
/// or another chain has failed.
struct PooledObserver<'s, 'o, O> {
    inner: &'s Mutex<&'o mut O>,
    stop: &'s AtomicBool,
    done: &'s AtomicUsize,
    total: usize,
    /// This chain was stopped by the pool (its error is then not its own).
    stopped: bool,
}

impl<O> PooledObserver<'_, '_, O> {
    fn halt(&mut self) -> ControlFlow<()> {
        self.stopped = true;
        ControlFlow::Break(())
    }
}

impl<T: Scalar, O> Observer<Progress<'_, T>> for PooledObserver<'_, '_, O>
where
    O: for<'a> Observer<Progress<'a, T>>,
{
    fn on_start(&mut self, _name: &str, _p: &Progress<'_, T>) -> ControlFlow<()> {
        if self.stop.load(Ordering::Relaxed) {
            return self.halt();
        }
        ControlFlow::Continue(())
    }

    fn on_step(&mut self, p: &Progress<'_, T>) -> ControlFlow<()> {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.stop.load(Ordering::Relaxed) {
            return self.halt();
        }
        if let Ok(mut obs) = self.inner.try_lock() {
            // Stop is set under this lock: once the caller's observer has asked to stop, it is
            // not called again.
            if self.stop.load(Ordering::Relaxed) {
                return self.halt();
            }
            let pooled = Progress {
                t: done as f64,
                h: 1.0,
                t_end: self.total as f64,
                weights: p.weights,
                stats: FlowStats {
                    n_steps: done,
                    ..p.stats
                },
            };
            if obs.on_step(&pooled).is_break() {
                self.stop.store(true, Ordering::Relaxed);
                return self.halt();
            }
        }
        ControlFlow::Continue(())
    }
}

impl FiberPosterior {
    /// `chains` independent chains of `sampler` from `w0`, run in parallel (rayon), pooled:
    /// `samples` retained states in all (chain $i$ keeps $\lfloor S/C\rfloor$, one more for
    /// $i < S \bmod C$), each chain with its own burn-in; chain 0 is seeded with `seed` (so
    /// `chains = 1` is exactly [`FiberPosterior::sample_with`]), chain $i$ with a mix of
    /// `(seed, i)`. The samples are concatenated chain by chain; the diagnostics are pooled
    /// (effective sample sizes add up, the standard error is that of the pooled mean of
    /// independent chains) and include the split-$\hat R$ of $\|\mathbf W\|^2$ between the chains
    /// ([`super::split_rhat`] over each chain's retained samples; `None` when a chain keeps fewer
    /// than 4). On a machine with several cores this multiplies the effective samples per second
    /// by up to the number of cores, at the price of one burn-in per chain.
    ///
    /// With two or more chains `obs` sees one pooled run: `on_start` once, then `on_step` with
    /// the transitions of all chains counted together (time = transitions done, of
    /// $\sum_i(\text{burn-in} + S_i\cdot\text{thin})$; the weights of whichever chain reported),
    /// polled as long as any chain runs, and `on_finish` once. When it asks to stop, **every**
    /// chain stops at its next transition and the call returns the observer's error; when one
    /// chain fails, the others stop too and that chain's error is returned.
    ///
    /// # Errors
    /// As the sampler's own method, for any chain.
    ///
    /// # Panics
    /// If `chains == 0` or `samples < chains`.
    #[allow(clippy::too_many_arguments)] // The chain's settings, one argument each.
    pub fn sample_chains<T: Scalar, O>(
        &self,
        sampler: FiberSampler,
        w0: &Network<T>,
        chains: usize,
        samples: usize,
        burn_in: Option<usize>,
        thin: usize,
        seed: u64,
        obs: &mut O,
    ) -> Result<FiberChain<T>>
    where
        O: for<'a> Observer<Progress<'a, T>> + Send,
    {
        assert!(
            chains >= 1 && samples >= chains,
            "sample_chains: need 1 <= chains <= samples (got {chains} chains, {samples} samples)"
        );
        let len = |i: usize| samples / chains + usize::from(i < samples % chains);
        if chains == 1 {
            return self.sample_with(sampler, w0, samples, burn_in, thin, seed, obs);
        }
        let burn = burn_in.unwrap_or(sampler.default_burn_in());
        let total = (0..chains)
            .map(|i| len(i).saturating_mul(thin).saturating_add(burn))
            .fold(0usize, usize::saturating_add);
        let start = Progress {
            t: 0.0,
            h: 1.0,
            t_end: total as f64,
            weights: w0.layers(),
            stats: FlowStats::default(),
        };
        if obs.on_start(sampler.name(), &start).is_break() {
            return Err(super::stopped());
        }
        let stop = AtomicBool::new(false);
        let done = AtomicUsize::new(0);
        let inner = Mutex::new(obs);
        let runs: Vec<(Result<FiberChain<T>>, bool)> = (0..chains)
            .into_par_iter()
            .map(|i| {
                let mut pooled = PooledObserver {
                    inner: &inner,
                    stop: &stop,
                    done: &done,
                    total,
                    stopped: false,
                };
                let run = self.sample_with(
                    sampler,
                    w0,
                    len(i),
                    burn_in,
                    thin,
                    chain_seed(seed, i),
                    &mut pooled,
                );
                if run.is_err() && !pooled.stopped {
                    // A chain's own failure ends the others early.
                    stop.store(true, Ordering::Relaxed);
                }
                (run, pooled.stopped)
            })
            .collect();
        let obs = inner.into_inner().unwrap_or_else(PoisonError::into_inner);
        let mut all = Vec::with_capacity(chains);
        let mut interrupted = false;
        for (run, stopped) in runs {
            match run {
                Ok(c) => all.push(c),
                Err(e) if !stopped => return Err(e),
                Err(_) => interrupted = true,
            }
        }
        if interrupted {
            return Err(super::stopped());
        }
        let mut diagnostics = pool(&all.iter().map(|c| c.diagnostics).collect::<Vec<_>>());
        let traces: Vec<Vec<f64>> = all
            .iter()
            .map(|c| c.samples.iter().map(Network::l2_norm_sq).collect())
            .collect();
        diagnostics.rhat = super::split_rhat(&traces.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let x = all[0].x.clone();
        let last = all[chains - 1]
            .samples
            .last()
            .map_or_else(|| w0.layers().to_vec(), |n| n.layers().to_vec());
        obs.on_finish(
            &Progress {
                t: total as f64,
                h: 1.0,
                t_end: total as f64,
                weights: &last,
                stats: FlowStats {
                    n_steps: total,
                    ..FlowStats::default()
                },
            },
            &Termination::StopTimeReached,
        );
        let samples = all.into_iter().flat_map(|c| c.samples).collect();
        Ok(FiberChain {
            samples,
            x,
            diagnostics,
        })
    }
}
