//! Library errors as Python exceptions: bad data → `ValueError`, numerical failure →
//! `RuntimeError`, with the library's one-line message.

use dln::algebra::AlgebraError;
use dln::bayes::BayesError;
use dln::flows::FlowError;
use dln::linalg::LinalgError;
use dln::systems::SystemsError;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

fn linalg_is_data(e: &LinalgError) -> bool {
    matches!(e, LinalgError::NonFinite { .. })
}

fn algebra_is_data(e: &AlgebraError) -> bool {
    match e {
        AlgebraError::Empty
        | AlgebraError::ShapeMismatch { .. }
        | AlgebraError::NonFinite { .. } => true,
        AlgebraError::Linalg(e) => linalg_is_data(e),
        _ => false,
    }
}

/// `ValueError` for bad data, `RuntimeError` otherwise.
fn raise(data: bool, msg: String) -> PyErr {
    if data {
        PyValueError::new_err(msg)
    } else {
        PyRuntimeError::new_err(msg)
    }
}

/// An error of `dln-algebra`, prefixed with `context` (e.g. `"balancing failed"`).
pub fn algebra(context: &str, e: AlgebraError) -> PyErr {
    raise(algebra_is_data(&e), with_context(context, &e))
}

/// An error of `dln-flows`, prefixed with `context`.
pub fn flows(context: &str, e: FlowError) -> PyErr {
    let data = match &e {
        FlowError::Algebra(a) => algebra_is_data(a),
        FlowError::Linalg(l) => linalg_is_data(l),
        FlowError::InvalidOption { .. }
        | FlowError::TimeOutOfRange { .. }
        | FlowError::ShapeMismatch { .. } => true,
        _ => false,
    };
    raise(data, with_context(context, &e))
}

/// An error of `dln-bayes`, prefixed with `context`: invalid parameters and data outside a
/// formula's domain (repeated or vanishing singular values, unsupported shapes) are `ValueError`.
pub fn bayes(context: &str, e: BayesError) -> PyErr {
    match e {
        BayesError::Algebra(a) => algebra(context, a),
        BayesError::Flows(f) => flows(context, f),
        BayesError::Systems(s) => {
            let e = systems(s);
            if context.is_empty() {
                e
            } else {
                Python::attach(|py| {
                    let msg = format!("{context}: {}", e.value(py));
                    if e.is_instance_of::<PyValueError>(py) {
                        PyValueError::new_err(msg)
                    } else {
                        PyRuntimeError::new_err(msg)
                    }
                })
            }
        }
        BayesError::Linalg(l) => raise(linalg_is_data(&l), with_context(context, &l)),
        e => {
            let data = matches!(
                e,
                BayesError::InvalidParameter { .. }
                    | BayesError::InvalidWidths { .. }
                    | BayesError::RepeatedSingularValues { .. }
                    | BayesError::RankDeficient { .. }
                    | BayesError::Unsupported { .. }
            );
            raise(data, with_context(context, &e))
        }
    }
}

/// An error of `dln-systems`; non-finite entries and instability name the array (`A`, `B`, …).
pub fn systems(e: SystemsError) -> PyErr {
    match e {
        SystemsError::NonFinite { name, row, col } => {
            PyValueError::new_err(format!("{name}: non-finite entry at [{row}, {col}]"))
        }
        e @ SystemsError::Unstable { .. } => PyValueError::new_err(format!("A: {e}")),
        e @ (SystemsError::Dimension { .. } | SystemsError::InvalidArgument(_)) => {
            PyValueError::new_err(e.to_string())
        }
        SystemsError::Linalg(l) => raise(linalg_is_data(&l), l.to_string()),
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

fn with_context(context: &str, e: &dyn std::fmt::Display) -> String {
    if context.is_empty() {
        e.to_string()
    } else {
        format!("{context}: {e}")
    }
}
