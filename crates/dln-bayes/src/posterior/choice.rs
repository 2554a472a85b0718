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
use dln_flows::{Observer, Progress};
use dln_linalg::Scalar;

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
/// chain is [`FiberPosterior::sample_with`]), a SplitMix64 mix of `(seed, i)` otherwise.
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

impl FiberPosterior {
    /// `chains` independent chains of `sampler` from `w0`, run in parallel (rayon), pooled:
    /// `samples` retained states in all (chain $i$ keeps $\lfloor S/C\rfloor$, one more for
    /// $i < S \bmod C$), each chain with its own burn-in; chain 0 is seeded with `seed` and reports
    /// progress to `obs` (so `chains = 1` is exactly [`FiberPosterior::sample_with`]), chain $i$
    /// with a mix of `(seed, i)`. The samples are concatenated chain by chain; the diagnostics are
    /// pooled (effective sample sizes add up, the standard error is that of the pooled mean of
    /// independent chains). On a machine with several cores this multiplies the effective samples
    /// per second by up to the number of cores, at the price of one burn-in per chain.
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
        let (first, rest) = rayon::join(
            || self.sample_with(sampler, w0, len(0), burn_in, thin, seed, obs),
            || {
                use rayon::prelude::*;
                (1..chains)
                    .into_par_iter()
                    .map(|i| {
                        self.sample_with(
                            sampler,
                            w0,
                            len(i),
                            burn_in,
                            thin,
                            chain_seed(seed, i),
                            &mut (),
                        )
                    })
                    .collect::<Result<Vec<_>>>()
            },
        );
        let mut all = vec![first?];
        all.extend(rest?);
        let diagnostics = pool(&all.iter().map(|c| c.diagnostics).collect::<Vec<_>>());
        let x = all[0].x.clone();
        let samples = all.into_iter().flat_map(|c| c.samples).collect();
        Ok(FiberChain {
            samples,
            x,
            diagnostics,
        })
    }
}
