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

    /// Default burn-in: 1000 random-walk steps, 300 trajectories for either HMC. The one source of
    /// these numbers: the option structs' `Default` ([`FiberMcmcOptions`], [`HmcOptions`],
    /// [`GraphHmcOptions`]), `dln sample fiber` and `dln.sample_fiber` all take them from here.
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
            Self::Hmc | Self::GraphHmc => 300,
            Self::BlockGibbs => 300, // sweeps
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
