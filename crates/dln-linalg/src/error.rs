//! Errors of the linear-algebra layer.

/// A numerical failure in `dln-linalg`.
///
/// Shape mismatches are a caller's programming error and panic (documented under `# Panics`);
/// everything that depends on the *values* of the data comes back as a `LinalgError`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LinalgError {
    /// An eigen- or singular-value decomposition did not converge.
    #[error("{what} did not converge")]
    NoConvergence {
        /// Which decomposition failed.
        what: &'static str,
    },
    /// A matrix required to be positive (semi)definite has an eigenvalue below the admissible level.
    #[error("matrix is not positive {kind}: eigenvalue {eigenvalue:e} (tolerance {tolerance:e})")]
    NotPositive {
        /// `"definite"` or `"semidefinite"`.
        kind: &'static str,
        /// The offending (smallest) eigenvalue.
        eigenvalue: f64,
        /// The level below which it was rejected.
        tolerance: f64,
    },
    /// The input contains NaN or an infinity.
    #[error("matrix has a non-finite entry at ({row}, {col})")]
    NonFinite {
        /// Row of the first non-finite entry.
        row: usize,
        /// Column of the first non-finite entry.
        col: usize,
    },
    /// A result exists mathematically but does not fit in `f64` (the input itself was finite).
    #[error("{what} is not representable in f64 (magnitude {magnitude})")]
    NotRepresentable {
        /// What overflowed or underflowed, e.g. `"the end-to-end matrix"`.
        what: &'static str,
        /// Its magnitude in scaled form.
        magnitude: crate::ScaledReal,
    },
    /// A matrix required to be invertible is singular to working precision.
    #[error("matrix is singular to working precision (reciprocal condition {rcond:e})")]
    Singular {
        /// Estimated reciprocal condition number.
        rcond: f64,
    },
}

/// `Result` with [`LinalgError`] as the default error.
pub type Result<T, E = LinalgError> = std::result::Result<T, E>;
