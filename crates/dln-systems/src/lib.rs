//! Balanced realizations of linear systems, and their link to the deep linear network.
//!
//! Realizations $(A,B,C,D)$ of one transfer function $G(z) = C(zI-A)^{-1}B + D$ form an orbit of
//! $GL_n$ acting by $(A,B,C)\mapsto(MAM^{-1}, MB, CM^{-1})$; balanced realizations are the
//! Kempf–Ness minimizers of an invariant norm on that orbit (theory §5). This crate is the
//! numerical core: Schur forms with reordering, Sylvester and Lyapunov equations (Bartels–Stewart
//! and Hammarling), Gramians and Hankel singular values from Cholesky factors, balanced truncation
//! (square-root, balancing-free), singular perturbation approximation, the additive
//! stable/unstable split, $\mathcal H_2$ and $\mathcal H_\infty$ norms, and the moment map
//! $\mu_{LS} = AA^*-A^*A+BB^*-C^*C$ of the realization action.
//!
//! # Guide
//! - Build a model with [`model::StateSpace::continuous`] or [`model::StateSpace::discrete`]
//!   (shapes and finiteness are checked, errors name the matrix).
//! - Gramians and Hankel singular values: [`gramian::gramian_factors`],
//!   [`gramian::hankel_singular_values`], [`gramian::balanced_realization`].
//! - Model reduction: [`reduction::reduce`] (balanced truncation or singular perturbation, fixed
//!   order or tolerance, optional stable/unstable split), with the a-priori bounds and the
//!   measured error [`reduction::Reduction::hinf_error`].
//! - Norms: [`norms::hinf_norm`], [`norms::h2_norm`]; equations: [`lyapunov`], [`sylvester`];
//!   Schur forms: [`schur`]; the link to the deep linear network: [`realization`].
//! - Minimal realizations (any system, unstable included): [`minreal::minimal_realization`].
//! - Reference problems for tests and benchmarks (feature `reference`): `reference`.
//!
//! # Example
//! Balanced truncation of a stable model keeps the error between $\sigma_{r+1}$ and
//! $2\sum_{k>r}\sigma_k$:
//! ```
//! use dln_systems::gramian::hankel_singular_values;
//! use dln_systems::model::StateSpace;
//! use dln_systems::reduction::{reduce, OrderSelection, ReductionOptions};
//! use faer::Mat;
//! # fn main() -> dln_systems::Result<()> {
//! let n = 6;
//! let a = Mat::from_fn(n, n, |i, j| if i == j { -(i as f64 + 1.0) } else if j == i + 1 { 0.5 } else { 0.0 });
//! let b = Mat::from_fn(n, 1, |i, _| 1.0 / (i as f64 + 1.0));
//! let c = Mat::from_fn(1, n, |_, j| 1.0 + j as f64);
//! let sys = StateSpace::continuous(a, b, c, Mat::zeros(1, 1))?;
//! let hsv = hankel_singular_values(&sys)?;
//! assert!(hsv.windows(2).all(|w| w[1] <= w[0]));
//! let red = reduce(&sys, ReductionOptions { order: OrderSelection::Fixed(2), ..Default::default() })?;
//! let err = red.hinf_error()?.value;
//! assert_eq!(red.order, 2);
//! assert!(hsv[2] <= err * (1.0 + 1e-8) && err <= 2.0 * hsv[2..].iter().sum::<f64>() * (1.0 + 1e-8));
//! # Ok(()) }
//! ```

// Library crates never print (ARCHITECTURE.md; checked by `cargo xtask tidy`).
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![allow(non_snake_case)] // matrices are named as in the mathematics: A, B, C, D, P, Q.

pub mod equil;
mod error;
pub mod gramian;
pub mod lyapunov;
pub mod minreal;
pub mod model;
pub mod norms;
pub mod realization;
pub mod reduction;
#[cfg(feature = "reference")]
pub mod reference;
pub mod refine;
pub mod schur;
pub mod split;
pub mod sylvester;

pub use error::{Result, SystemsError};
