//! The algebra of the deep linear network (DLN) $X = W_N\cdots W_1$.
//!
//! Geometric invariant theory for the DLN (Lindsey & Menon, *Regularization implies balancedness
//! in the deep linear network*, arXiv:2511.01137), for arbitrary widths $d_0,\dots,d_N$ and any
//! rank, over $\mathbb R$ and $\mathbb C$:
//! - [`Network`]: the weights $\mathbf W = (W_N,\dots,W_1)$, $W_k\in\mathbb F^{d_k\times d_{k-1}}$, and
//!   $X = \varphi(\mathbf W)$;
//! - [`action`]: the group $G = \prod_{k=1}^{N-1}GL(d_k)$, $W_k\mapsto A_kW_kA_{k-1}^{-1}$, its compact
//!   subgroup and the infinitesimal action $\mathbf w_{\mathbf a}$;
//! - [`moment`]: the moments $G_k = W_kW_k^* - W_{k+1}^*W_{k+1}$ (the moment map), the regularizers
//!   and their lower bounds $N\sum_i\sigma_i^{2/N}$;
//! - [`orbit`]: the centre of a fiber and its balanced orbit from the SVD of $X$;
//! - [`fiber`]: the Gram operator $\mathbf H$ (Definition 8), its linear-in-$N$ solve, the tangent and
//!   normal projections;
//! - [`kempf_ness`]: balancing any $\mathbf W$ with a certificate.
//!
//! Sign convention: $G_k$ is the lower layer's $WW^*$ minus the upper layer's $W^*W$; $W_1$ is the
//! input layer.
//!
//! # Example
//! ```
//! use dln_algebra::{Network, kempf_ness::{balance, BalanceOptions}};
//! use dln_linalg::random;
//! let mut rng = random::rng(1);
//! let layers = (0..4).map(|_| random::gaussian::<f64, _>(&mut rng, 5, 5)).collect();
//! let w = Network::new(layers).unwrap();
//! let b = balance(&w, BalanceOptions::default()).unwrap();
//! assert!(b.info.product_rel_change < 1e-10);
//! assert!(b.network.moment_norm() <= 1e-10 * b.network.l2_norm_sq());
//! assert!(b.info.gap() < 1e-10);
//! ```

// Library crates never print (ARCHITECTURE.md; checked by `cargo xtask tidy`).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod action;
mod error;
pub mod fiber;
pub mod kempf_ness;
pub mod moment;
mod network;
pub mod orbit;

pub use dln_linalg::ScaledReal;
pub use error::{AlgebraError, Result};
pub use fiber::{
    CgOptions, CgSolution, FiberOperator, NormalOperator, NormalPreconditioner, NormalSolution,
    generator_from_tangent,
};
pub use kempf_ness::{BalanceInfo, BalanceMethod, BalanceOptions, Balanced, ScaledNorms, balance};
pub use network::{Network, tuple_inner, tuple_norm_sq};
pub use orbit::BalancedOrbit;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
