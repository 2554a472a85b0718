//! Errors of the flow layer.

use dln_algebra::AlgebraError;
use dln_linalg::LinalgError;

/// A failure in `dln-flows`: an invalid option, invalid data, or a numerical failure during a run.
///
/// Every variant raised during a run carries the time `t` (and, for discrete iterations, the
/// step number) at which it happened, so a caller can report *when* and *what*.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A failure in the algebra layer.
    #[error(transparent)]
    Algebra(#[from] AlgebraError),
    /// A failure in the linear-algebra layer.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
    /// The run produced a non-finite value (loss, weights or vector field).
    #[error("diverged at t = {t} (step {step}): {what}")]
    Diverged {
        /// Time at which the non-finite value appeared.
        t: f64,
        /// Number of accepted steps (or iterations) before it appeared.
        step: usize,
        /// What became non-finite.
        what: &'static str,
    },
    /// The adaptive step size fell below the admissible minimum.
    #[error("step size {h:e} fell below the minimum at t = {t:e}")]
    StepSizeTooSmall {
        /// Time of the failed step.
        t: f64,
        /// The rejected step size.
        h: f64,
    },
    /// The step budget was exhausted before the stop time.
    #[error("maximum number of steps ({max_steps}) reached at t = {t}")]
    MaxStepsReached {
        /// Time reached.
        t: f64,
        /// The budget.
        max_steps: usize,
    },
    /// A tolerance or other option is out of range.
    #[error("invalid option {name} = {value}: {reason}")]
    InvalidOption {
        /// Option name.
        name: &'static str,
        /// Offending value.
        value: f64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A requested time lies outside the admissible range.
    #[error("time {requested} is outside [{from}, {to}]")]
    TimeOutOfRange {
        /// Requested time.
        requested: f64,
        /// Lower end of the admissible interval.
        from: f64,
        /// Upper end of the admissible interval.
        to: f64,
    },
    /// Data (inputs, targets, masks, measurements) do not have the shape the network needs.
    #[error("{what}: expected {expected_rows}x{expected_cols}, found {rows}x{cols}")]
    ShapeMismatch {
        /// Which array.
        what: &'static str,
        /// Expected rows.
        expected_rows: usize,
        /// Expected columns.
        expected_cols: usize,
        /// Actual rows.
        rows: usize,
        /// Actual columns.
        cols: usize,
    },
    /// The conjugate-gradient solve for a fiber generator did not reach its tolerance.
    #[error(
        "fiber solve H(b) = c did not converge at t = {t}: {iterations} iterations, residual {residual:e}"
    )]
    SolveFailed {
        /// Time of the failed solve.
        t: f64,
        /// Iterations spent.
        iterations: usize,
        /// Final relative residual.
        residual: f64,
    },
    /// An operation that needs a balanced network was given an unbalanced one.
    #[error("network is not balanced: |G| = {moment_norm:e} exceeds {tolerance:e}")]
    NotBalanced {
        /// $\|\mathbf G\|$.
        moment_norm: f64,
        /// The admissible level.
        tolerance: f64,
    },
    /// A quantity the run needs is outside the `f64` range although the input is finite (e.g. the
    /// Kirwan–Ness flow's normalised time $t\cdot2^{2e}$ for weights of norm $\approx2^{e}$).
    #[error("not representable in f64: {what}")]
    NotRepresentable {
        /// Which quantity, and its size.
        what: String,
    },
    /// The learning-flow operator $\mathcal A_{N,X}$ is singular on the given argument (rank-deficient $X$, $N\ge2$).
    #[error(
        "the operator A_(N,X) is singular (rank-deficient X): cannot invert it on this argument"
    )]
    SingularOperator,
}

/// `Result` with [`FlowError`] as the default error.
pub type Result<T, E = FlowError> = std::result::Result<T, E>;
