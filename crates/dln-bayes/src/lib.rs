//! The Bayesian reading of regularization in the deep linear network (Lindsey & Menon,
//! arXiv:2511.01137, §4.2–4.3; theory §6, §9 and claims 31, 32, 34).
//!
//! L² regularization $\tfrac\kappa2\|\mathbf W\|^2$ at inverse temperature $\beta$ is a Gaussian prior
//! on the weights $\mathbf W = (W_N,\dots,W_1)$; conditioning on the end-to-end matrix $X$ gives a
//! posterior on the fiber $\mathcal F_X$, which concentrates on the balanced orbit $\mathcal O_X$ as
//! $\beta\to\infty$. This crate provides:
//! - [`prior`]: the [`GaussianPrior`] (log-density with its normalising constant, exact sampling,
//!   closed-form moments, the push-forward law of $X$), with erratum E6 applied;
//! - [`normal`]: the vectorised ziggurat generator of standard normals ([`NormalStream`]) that
//!   drives noisy training and prior sampling, and the [`NormalSource`] trait the samplers take;
//! - [`ou`]: the OU process (4.2) with its exact transition, noisy training (4.4) with the OU part
//!   integrated exactly, independent paths in parallel, and the moment law
//!   $\mathbb E[G_k(t)] = e^{-2\kappa t}G_k(0) + c_F(d_{k-1}-d_{k+1})\frac{1-e^{-2\kappa t}}{\beta\kappa}I$;
//! - [`mod@entropy`]: $S(X) = \log\operatorname{vol}(\mathcal O_X)$ (claims 31, 32) with its normalisation,
//!   its gradient, and the free energy $E - \beta^{-1}S$ as a loss for the learning flow;
//! - [`map`]: the effective regulariser $R(X) = \min_{\mathcal F_X}\frac\kappa2\|\mathbf W\|^2 = \frac\kappa2N\sum_i\sigma_i^{2/N}$
//!   (value, gradient, proximal map) and MAP estimation of $X$ by proximal gradient;
//! - [`posterior`]: the posterior $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ on the fiber $\mathcal F_X$
//!   against its Hausdorff measure or the conditional law of the prior ([`BaseMeasure`]), by a
//!   constrained Metropolis chain with the reverse-projection check or constrained HMC (RATTLE with
//!   the reverse check, [`FiberPosterior::sample_hmc`]);
//! - [`bbt`]: Bayesian balanced truncation — a Gaussian prior on the initial state of a linear
//!   system (its reachability Gramian), the Fisher information of noisy outputs (the observability
//!   Gramian), the posterior, and the optimal low-rank posterior update from balanced truncation;
//! - [`small_noise`]: the $\beta\to\infty$ limit, the exact sampler of the uniform law on the balanced
//!   orbit $\mathcal O_X$ and the Laplace expansion $\mathbb E\|\mathbf W\|^2 = N\sum_i\sigma_i^{2/N} + k/(\beta\kappa) + O(\beta^{-2})$.
//!
//! # Conventions
//! - $c_F = 1$ over $\mathbb R$ and $2$ over $\mathbb C$ ([`c_f`]); the real dimension of the weight
//!   space is $D = c_F\sum_k d_kd_{k-1}$ ([`real_dimension`]). Densities are with respect to
//!   Lebesgue measure on these $D$ real coordinates; a complex Brownian motion has independent
//!   standard real Brownian motions on the real and imaginary parts.
//! - Layers and moments follow `dln-algebra`: $W_1$ is the input layer,
//!   $G_k = W_kW_k^* - W_{k+1}^*W_{k+1}$.
//! - Every sampler takes an explicit seeded generator (`dln_linalg::random::rng`) or a seed, and is
//!   reproducible from it (the parallel path sampler derives one stream per path from the seed).
//!
//! # Example
//! ```
//! use dln_bayes::GaussianPrior;
//! use dln_linalg::random;
//! let prior = GaussianPrior::new(2.0, 0.5, &[3, 4, 2]).unwrap();
//! let mut rng = random::rng(5);
//! let w = prior.sample::<f64, _>(&mut rng);
//! assert_eq!(w.widths(), vec![3, 4, 2]);
//! // E||W||^2 = D / (beta kappa) with D = 3*4 + 4*2 = 20.
//! assert!((prior.mean_l2_norm_sq::<f64>() - 20.0).abs() < 1e-12);
//! // Under the prior E[G_1] = (d_0 - d_2)/(beta kappa) I: rectangular widths are imbalanced.
//! assert!((prior.mean_moments::<f64>()[0] - 1.0).abs() < 1e-12);
//! ```
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod bbt;
pub mod entropy;
mod error;
pub mod map;
pub mod normal;
pub mod ou;
pub mod posterior;
pub mod prior;
pub mod small_noise;

pub use bbt::BayesianBalancing;
pub use entropy::{Entropy, FreeEnergy, entropy, entropy_gradient};
pub use error::{BayesError, Result};
pub use map::{EffectiveRegulariser, MapEstimate, MapOptions, map_estimate};
pub use normal::{NormalSource, NormalStream};
pub use ou::{LookAhead, NoisyTraining, OrnsteinUhlenbeck};
pub use posterior::BlockGibbsOptions;
pub use posterior::{
    BaseMeasure, FiberChain, FiberDiagnostics, FiberMcmcOptions, FiberPosterior, FiberSampler,
    GraphHmcOptions, HmcOptions,
};
pub use prior::{DensityConvention, GaussianPrior, c_f, real_dimension};
pub use small_noise::{LaplaceExpansion, OrbitSampler};
