//! Errors of the DLN algebra layer.

use dln_linalg::LinalgError;

/// A failure in `dln-algebra`: invalid user data or a numerical failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgebraError {
    /// A lower-layer numerical failure.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// A network needs at least one layer.
    #[error("a network needs at least one layer")]
    Empty,
    /// Consecutive layers do not compose: $W_{k+1}$ must have as many columns as $W_k$ has rows.
    #[error("layer W{upper} has {cols} columns but W{lower} has {rows} rows")]
    ShapeMismatch {
        /// Index $k$ of the lower layer (1-based, $W_1$ is the input layer).
        lower: usize,
        /// Index $k+1$ of the upper layer.
        upper: usize,
        /// Rows of $W_k$.
        rows: usize,
        /// Columns of $W_{k+1}$.
        cols: usize,
    },
    /// A layer contains NaN or an infinity.
    #[error("layer W{layer} has a non-finite entry at ({row}, {col})")]
    NonFinite {
        /// 1-based layer index.
        layer: usize,
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
    },
    /// A group element $A_k$ is singular to working precision.
    #[error("group element A{junction} is singular to working precision")]
    Singular {
        /// 1-based junction index $k$.
        junction: usize,
    },
    /// An iterative solver stopped before reaching its tolerance.
    #[error("{what} did not converge: {iterations} iterations, residual {residual:e}")]
    NoConvergence {
        /// Which solver.
        what: &'static str,
        /// Iterations spent.
        iterations: usize,
        /// Final (relative) residual.
        residual: f64,
    },
}

/// `Result` with [`AlgebraError`] as the default error.
pub type Result<T, E = AlgebraError> = std::result::Result<T, E>;
