//! The registry of theorem checks run by `cargo xtask verify`.
//!
//! # Conventions (read before adding a check)
//!
//! - **One file per crate.** `algebra.rs` (dln-algebra), `flows.rs` (dln-flows), `systems.rs`
//!   (dln-systems). Each file has `pub(super) fn checks() -> Vec<Check>` listing its checks in order.
//!   **Registering a file is one line**: add its module name to the [`register!`] list below.
//! - **A check** is a [`Check`]: `id`, `paper`, `statement`, and `run: fn(&mut Ctx) -> CheckResult`.
//!   - `id`: kebab-case, starting with the claim number of theory.md §8 when there is one
//!     (`claim05-lemma1-orbit`), otherwise a descriptive prefix (`kn-balance-certificate`). Unique.
//!   - `paper`: where the claim comes from (`Lemma 1`, `(2.12)`, `§8.30 [derived]`).
//!   - `statement`: the claim, in one line, with the corrected statement where theory.md §10 lists
//!     an erratum.
//!   - `.api(&["dln_algebra::fiber::FiberOperator::solve", …])`: the API items that implement the
//!     claim (full paths), for the theory guide's table. Every new check names them.
//! - **Instances.** A check loops over seeded random instances, **real and complex** (write the body
//!   generic over `T: Scalar` and call it for `f64` and `c64`), over several depths and widths
//!   ([`Ctx::square_shapes`], [`Ctx::general_widths`], [`Ctx::reps`]; `cx.thorough()` for more).
//!   Draw all randomness from `cx.rng()`: it is seeded from `--seed` and the check id.
//! - **Residuals.** For each instance call `cx.record(label, residual, tolerance)` (or
//!   `cx.record_ge(label, value, bound, tolerance)` for an inequality). The label names the field,
//!   depth, widths and sub-claim ([`label`]). The check passes when every residual is at most its
//!   tolerance and at least one instance was recorded.
//!   - Residuals are **relative** (divide by the natural scale of the quantity, e.g. $\|\mathbf W\|^2$
//!     for the moments) and never come from `==` on floats.
//!   - Tolerances **scale with size and conditioning**: $k\cdot n\cdot\varepsilon\cdot\text{cond}$ with a
//!     small constant $k$ ([`tol`]); a finite-difference derivative adds its truncation error
//!     ([`fd_tol`]); an iterative solve adds its reported residual times the amplification.
//!   - A check must be able to fail: the residual must compare two quantities computed
//!     independently (e.g. a library formula against a finite difference, or a formula of
//!     theory.md written out in the check); never a quantity against itself by construction.
//! - **Errors.** Library errors propagate with `?` (any `std::error::Error` converts into
//!   [`CheckError`]) and fail the check; panics are caught and fail the check.
//! - **Speed.** The default registry must run in well under a minute in release; put heavy instances
//!   behind `cx.thorough()`.

pub mod support;

pub use crate::verify::{CheckError, CheckResult, Ctx};
pub use support::*;

/// A named claim checked over random instances.
#[derive(Clone, Copy)]
pub struct Check {
    /// Unique kebab-case id, starting with the theory.md §8 claim number when there is one.
    pub id: &'static str,
    /// Paper reference.
    pub paper: &'static str,
    /// The (corrected) claim.
    pub statement: &'static str,
    /// Runs the instances and records their residuals.
    pub run: fn(&mut Ctx) -> CheckResult,
    /// Paths of the API items that implement the claim (e.g.
    /// `dln_algebra::fiber::FiberOperator::solve`), set with [`Check::api`]; used by the theory
    /// guide's table.
    pub api: &'static [&'static str],
}

impl Check {
    /// A check.
    pub const fn new(
        id: &'static str,
        paper: &'static str,
        statement: &'static str,
        run: fn(&mut Ctx) -> CheckResult,
    ) -> Self {
        Self {
            id,
            paper,
            statement,
            run,
            api: &[],
        }
    }

    /// Names the API items that implement the claim (full paths through the crate that owns
    /// them, e.g. `dln_algebra::fiber::FiberOperator::solve`).
    pub const fn api(mut self, paths: &'static [&'static str]) -> Self {
        self.api = paths;
        self
    }
}

/// Declares the check modules and concatenates their `checks()` in this order.
macro_rules! register {
    ($($module:ident),* $(,)?) => {
        $(pub(crate) mod $module;)*
        /// All registered checks, in order.
        pub fn registry() -> Vec<Check> {
            let mut all = Vec::new();
            $(all.extend($module::checks());)*
            all
        }
    };
}

// One entry per crate's check file.
register!(algebra, systems, flows, bayes, bayes_bbt, bayes_fiber);
