//! Errors of the Bayesian layer.

use dln_algebra::AlgebraError;
use dln_flows::FlowError;
use dln_linalg::LinalgError;
use dln_systems::SystemsError;

/// A failure in `dln-bayes`: an invalid parameter, data outside a formula's domain, or a failure
/// of a lower layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BayesError {
    /// A failure in the linear-algebra layer.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// A failure in the algebra layer.
    #[error(transparent)]
    Algebra(#[from] AlgebraError),
    /// A failure in the flow layer.
    #[error(transparent)]
    Flows(#[from] FlowError),
    /// A failure in the linear-systems layer.
    #[error(transparent)]
    Systems(#[from] SystemsError),
    /// A parameter is out of range (e.g. $\beta\le0$, $\kappa\le0$, zero samples).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Offending value.
        value: f64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The widths do not describe a network ($N\ge1$ layers, every width positive).
    #[error("invalid widths {widths:?}: {reason}")]
    InvalidWidths {
        /// The widths $d_0,\dots,d_N$.
        widths: Vec<usize>,
        /// Why they were rejected.
        reason: &'static str,
    },
    /// Two singular values of $X$ coincide to working precision: the orbit map is not free there
    /// and $S(X)$ is not defined ($-\infty$).
    #[error(
        "singular values {i} and {j} of X coincide to working precision ({si:e} vs {sj:e}): the entropy is not defined"
    )]
    RepeatedSingularValues {
        /// 1-based index of the larger one.
        i: usize,
        /// 1-based index of the smaller one.
        j: usize,
        /// $\sigma_i$.
        si: f64,
        /// $\sigma_j$.
        sj: f64,
    },
    /// $X$ is singular to working precision where full rank is required.
    #[error(
        "X is rank deficient to working precision (smallest singular value {smallest:e}, largest {largest:e})"
    )]
    RankDeficient {
        /// $\sigma_{\min}$.
        smallest: f64,
        /// $\sigma_{\max}$.
        largest: f64,
    },
    /// The shape of $X$ or of the layers is outside a formula's domain.
    #[error("{what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },
}

/// `Result` with [`BayesError`] as the default error.
pub type Result<T, E = BayesError> = std::result::Result<T, E>;

/// Checks $\beta>0$, finite.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(BayesError::InvalidParameter {
            name,
            value,
            reason: "must be finite and positive",
        })
    }
}
