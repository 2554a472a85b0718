//! Deep linear networks and balancedness: the umbrella crate of the `dln` workspace.
//!
//! It re-exports the five layers under short names and adds a [`prelude`] and one error type,
//! [`Error`], that any of them converts into:
//!
//! | module | crate | what it owns |
//! |---|---|---|
//! | [`linalg`] | `dln-linalg` | the scalar fields `f64`/`c64`, Hermitian matrix functions, random matrices |
//! | [`algebra`] | `dln-algebra` | networks $\mathbf W = (W_N,\dots,W_1)$, the group action, moments, Kempf–Ness balancing |
//! | [`flows`] | `dln-flows` | gradient and balancing flows in time |
//! | [`systems`] | `dln-systems` | linear systems $(A,B,C,D)$: Gramians, Hankel singular values, balanced truncation |
//! | [`bayes`] | `dln-bayes` | the Bayesian reading: Gaussian prior, noisy training, entropy of the balanced orbit |
//!
//! # Example
//! ```
//! use dln::prelude::*;
//! # fn main() -> Result<(), dln::Error> {
//! let mut rng = dln::linalg::random::rng(3);
//! let layers = (0..3).map(|_| dln::linalg::random::gaussian::<f64, _>(&mut rng, 4, 4)).collect();
//! let w = Network::new(layers)?;
//! let b = balance(&w, BalanceOptions::default())?;
//! assert!(b.network.moment_norm() <= 1e-10 * b.network.l2_norm_sq());
//! # Ok(()) }
//! ```

// Library crates never print (ARCHITECTURE.md; checked by `cargo xtask tidy`).
#![deny(clippy::print_stdout, clippy::print_stderr)]

/// Dense linear algebra over $\mathbb F\in\\{\mathbb R,\mathbb C\\}$. Re-exported from `dln-linalg`.
pub use dln_linalg as linalg;

/// The algebra of the deep linear network: [`Network`](algebra::Network), moments, balancing.
/// Re-exported from `dln-algebra`.
pub use dln_algebra as algebra;

/// Flows on the space of weights. Re-exported from `dln-flows`.
pub use dln_flows as flows;

/// Linear time-invariant systems and their balanced realizations. Re-exported from `dln-systems`.
pub use dln_systems as systems;

/// The Bayesian reading of regularization: prior, noisy training, entropy. Re-exported from
/// `dln-bayes`.
pub use dln_bayes as bayes;

pub mod resources;

/// The names most programs need: `use dln::prelude::*;`.
pub mod prelude {
    pub use crate::Error;
    pub use dln_algebra::{
        BalanceInfo, BalanceMethod, BalanceOptions, Balanced, BalancedOrbit, Network, balance,
    };
    pub use dln_flows::{FlowBuilder, Observer};
    pub use dln_linalg::{Scalar, c64};
    pub use dln_systems::model::{Sampling, StateSpace};
}

/// Any error of the `dln` crates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A failure in [`linalg`].
    #[error(transparent)]
    Linalg(#[from] dln_linalg::LinalgError),
    /// A failure in [`algebra`].
    #[error(transparent)]
    Algebra(#[from] dln_algebra::AlgebraError),
    /// A failure in [`flows`].
    #[error(transparent)]
    Flows(#[from] dln_flows::FlowError),
    /// A failure in [`systems`].
    #[error(transparent)]
    Systems(#[from] dln_systems::SystemsError),
    /// A failure in [`bayes`].
    #[error(transparent)]
    Bayes(#[from] dln_bayes::BayesError),
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
