//! The extension module `dln._dln` of the Python package `dln`: thin bindings of the library
//! crates (through the umbrella crate `dln`) for numpy arrays.
//!
//! Every function here does three things only: convert the numpy inputs (float64 or complex128,
//! any memory layout) to faer matrices, call the library with the GIL released, and build the
//! result (numpy arrays and a dict whose keys are the JSON keys of the `dln` program's report).
//! Argument normalisation (lists, integer arrays, dtype promotion) and the user-facing
//! signatures live in `python/dln/__init__.py`; the stubs are `python/dln/_dln.pyi`.
//!
//! Errors: bad data and bad arguments raise `ValueError`, numerical failures `RuntimeError`, both
//! with the library's one-line message. Long runs (flows, training) check for Ctrl-C after every
//! accepted step and raise `KeyboardInterrupt`.

mod bayes;
mod concentration;
mod convert;
mod errors;
mod network;
mod systems;

use pyo3::prelude::*;

/// The compiled part of the `dln` package.
#[pymodule]
fn _dln(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(network::moments, m)?)?;
    m.add_function(wrap_pyfunction!(network::balance, m)?)?;
    m.add_function(wrap_pyfunction!(network::flow, m)?)?;
    m.add_function(wrap_pyfunction!(network::train, m)?)?;
    m.add_function(wrap_pyfunction!(systems::hsv, m)?)?;
    m.add_function(wrap_pyfunction!(systems::gram, m)?)?;
    m.add_function(wrap_pyfunction!(systems::reduce, m)?)?;
    m.add_function(wrap_pyfunction!(systems::bayesian_bt, m)?)?;
    m.add_function(wrap_pyfunction!(bayes::sample_prior, m)?)?;
    m.add_function(wrap_pyfunction!(bayes::sample_train, m)?)?;
    m.add_function(wrap_pyfunction!(bayes::sample_fiber, m)?)?;
    m.add_function(wrap_pyfunction!(bayes::entropy, m)?)?;
    m.add_function(wrap_pyfunction!(concentration::sample_orbit, m)?)?;
    m.add_function(wrap_pyfunction!(concentration::map_estimate, m)?)?;
    m.add_function(wrap_pyfunction!(network::_time_balance, m)?)?;
    m.add_function(wrap_pyfunction!(network::_copy_layers, m)?)?;
    m.add_function(wrap_pyfunction!(systems::_time_hsv, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
