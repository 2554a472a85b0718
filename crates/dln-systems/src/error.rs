//! Errors of the linear-systems layer.

use dln_linalg::LinalgError;

/// A failure in `dln-systems`: invalid user data or a numerical failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SystemsError {
    /// A lower-layer numerical failure.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// Matrix dimensions of a realization are inconsistent.
    #[error("dimension mismatch: {what}")]
    Dimension {
        /// Which matrices disagree, with their shapes.
        what: String,
    },
    /// A matrix of the realization holds NaN or an infinity.
    #[error("matrix {name} has a non-finite entry at ({row}, {col})")]
    NonFinite {
        /// `"A"`, `"B"`, `"C"` or `"D"`.
        name: &'static str,
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
    },
    /// Stability is required but $A$ has an eigenvalue outside the stability region.
    #[error("system is not stable: eigenvalue {re:+e}{im:+e}i lies outside the {region}")]
    Unstable {
        /// Real part of the offending eigenvalue.
        re: f64,
        /// Imaginary part of the offending eigenvalue.
        im: f64,
        /// `"open left half-plane"` or `"open unit disc"`.
        region: &'static str,
    },
    /// An iteration (QR algorithm, reordering, norm bisection) did not converge.
    #[error("{what} did not converge after {iterations} iterations")]
    NoConvergence {
        /// Which algorithm.
        what: &'static str,
        /// Iterations spent.
        iterations: usize,
    },
    /// A result is well defined but lies outside the range of `f64` (e.g. Hankel singular values
    /// of a system with entries $10^{300}$ and $10^{-300}$): the input is fine, the answer cannot be
    /// stored.
    #[error("{quantity} is not representable in f64: {detail}")]
    NotRepresentable {
        /// Which quantity, e.g. `"Hankel singular value"`.
        quantity: &'static str,
        /// Its value as mantissa·2^exponent, or the entry that overflows.
        detail: String,
    },
    /// A requested parameter is outside its admissible range (e.g. order greater than n).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A linear matrix equation (Sylvester, Lyapunov, Stein) is not uniquely solvable to working
    /// precision: eigenvalues of its coefficients (nearly) violate the solvability condition
    /// ($\lambda_i+\mu_j\ne0$, resp. $\lambda_i\mu_j\ne1$).
    #[error("{equation} is singular to working precision: {detail}")]
    SingularEquation {
        /// Which equation, e.g. `"Lyapunov equation AX + XA^T + Q = 0"`.
        equation: &'static str,
        /// The offending eigenvalues.
        detail: String,
    },
}

/// `Result` with [`SystemsError`] as the default error.
pub type Result<T, E = SystemsError> = std::result::Result<T, E>;
