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

// Library crates never print (ARCHITECTURE.md; checked by `cargo xtask tidy`).
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![allow(non_snake_case)] // matrices are named as in the mathematics: A, B, C, D, P, Q.

pub mod equil;
mod error;
pub mod gramian;
pub mod lyapunov;
pub mod model;
pub mod norms;
pub mod realization;
pub mod reduction;
pub mod schur;
pub mod split;
pub mod sylvester;

pub use error::{Result, SystemsError};
