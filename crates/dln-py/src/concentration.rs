//! The two limits of the Bayesian reading that have no program command: exact samples of the
//! small-noise limit of the fiber posterior (`sample_orbit`, the uniform law on the balanced orbit
//! $\mathcal O_X$) and the MAP estimate of $X$ under weight decay (`map_estimate`).

use crate::convert::{AnyLayers, AnyMat, Elem, any_mat, layers, to_numpy};
use crate::errors;
use crate::network::{nonneg, positive};
use dln::algebra::Network;
use dln::bayes::map::{MapOptions, map_estimate as lib_map_estimate};
use dln::bayes::small_noise::OrbitSampler;
use dln::flows::loss::LeastSquares;
use dln::linalg::{c64, random};
use faer::Mat;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Samples drawn between two checks for Ctrl-C.
const ORBIT_CHUNK: usize = 64;

fn sample_orbit_impl<T: Elem>(
    py: Python<'_>,
    ws: Vec<Mat<T>>,
    samples: usize,
    seed: u64,
) -> PyResult<Py<PyAny>> {
    let net = Network::new(ws).map_err(|e| errors::algebra("ws", e))?;
    let sampler = OrbitSampler::of(&net).map_err(|e| errors::bayes("ws", e))?;
    let x = net.product();
    let x_norm = dln::linalg::frob_sq(x.as_ref()).sqrt();
    let mut rng = random::rng(seed);
    let mut nets: Vec<Network<T>> = Vec::with_capacity(samples);
    while nets.len() < samples {
        let n = ORBIT_CHUNK.min(samples - nets.len());
        py.detach(|| nets.extend((0..n).map(|_| sampler.sample(&mut rng))));
        py.check_signals()?;
    }
    let (mut residual, mut moment, mut l2) = (0.0_f64, 0.0_f64, 0.0_f64);
    for w in &nets {
        let r = dln::linalg::rel_diff(w.product().as_ref(), x.as_ref());
        residual = residual.max(if x_norm > 0.0 { r } else { 0.0 });
        moment = moment.max(w.moment_norm());
        l2 += w.l2_norm_sq() / samples as f64;
    }
    let orbit = sampler.orbit();
    let d = PyDict::new(py);
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("widths", net.widths())?;
    d.set_item("samples", samples)?;
    d.set_item("seed", seed)?;
    d.set_item("rank", orbit.rank())?;
    d.set_item("l2_norm_sq", orbit.l2_lower_bound())?;
    d.set_item("mean_l2_norm_sq", l2)?;
    d.set_item("max_constraint_residual", residual)?;
    d.set_item("max_moment_norm", moment)?;
    Ok((crate::bayes::stacked(py, &nets), d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

/// sample_orbit(ws, samples, seed)
/// --
///
/// Exact samples of the small-noise limit of the fiber posterior (see `dln.sample_orbit`).
#[pyfunction]
pub fn sample_orbit(
    py: Python<'_>,
    ws: &Bound<'_, PyAny>,
    samples: usize,
    seed: u64,
) -> PyResult<Py<PyAny>> {
    if samples == 0 {
        return Err(PyValueError::new_err("samples must be at least 1, got 0"));
    }
    let w = layers(ws, "ws")?;
    let (widths, complex) = crate::bayes::layer_widths(&w);
    crate::bayes::check_stack_memory("samples", samples, &widths, complex, 0)?;
    match w {
        AnyLayers::Real(v) => sample_orbit_impl(py, v, samples, seed),
        AnyLayers::Complex(v) => sample_orbit_impl(py, v, samples, seed),
    }
}

fn map_impl<T: Elem>(
    py: Python<'_>,
    u: Mat<T>,
    y: Mat<T>,
    x0: Mat<T>,
    widths: &[usize],
    kappa: f64,
    opts: MapOptions,
) -> PyResult<Py<PyAny>> {
    let loss = LeastSquares::new(u, y).map_err(|e| errors::flows("", e))?;
    let est = py
        .detach(|| lib_map_estimate(&loss, widths, kappa, x0.as_ref(), &opts))
        .map_err(|e| errors::bayes("MAP estimate failed", e))?;
    let d = PyDict::new(py);
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("widths", widths)?;
    d.set_item("kappa", kappa)?;
    d.set_item("objective", est.objective)?;
    d.set_item("regulariser", est.regulariser)?;
    d.set_item("stationarity", est.stationarity)?;
    d.set_item("iterations", est.iterations)?;
    d.set_item("converged", est.converged)?;
    d.set_item("step", est.step)?;
    let ws: Vec<_> = est
        .network
        .layers()
        .iter()
        .map(|w| to_numpy(py, w.as_ref()).into_any())
        .collect();
    Ok((to_numpy(py, est.x.as_ref()), ws, d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

fn to_complex(m: AnyMat) -> Mat<c64> {
    match m {
        AnyMat::Real(m) => Mat::from_fn(m.nrows(), m.ncols(), |i, j| c64::new(m[(i, j)], 0.0)),
        AnyMat::Complex(m) => m,
    }
}

/// map_estimate(inputs, targets, widths, kappa, x0, max_iter, tol, step)
/// --
///
/// MAP estimate of X under least squares and weight decay (see `dln.map_estimate`).
#[pyfunction]
#[pyo3(signature = (inputs, targets, widths, kappa, x0, max_iter, tol, step))]
#[allow(clippy::too_many_arguments)] // The Python signature.
pub fn map_estimate(
    py: Python<'_>,
    inputs: &Bound<'_, PyAny>,
    targets: &Bound<'_, PyAny>,
    widths: Vec<usize>,
    kappa: f64,
    x0: &Bound<'_, PyAny>,
    max_iter: usize,
    tol: f64,
    step: f64,
) -> PyResult<Py<PyAny>> {
    if widths.len() < 2 || widths.contains(&0) {
        return Err(PyValueError::new_err(format!(
            "widths: need at least two positive widths d0,…,dN, got {widths:?}"
        )));
    }
    let kappa = nonneg("kappa", kappa)?;
    let opts = MapOptions {
        max_iter,
        tol: positive("tol", tol)?,
        step: positive("step", step)?,
    };
    let (u, y, x0) = (
        any_mat(inputs, "inputs")?,
        any_mat(targets, "targets")?,
        any_mat(x0, "x0")?,
    );
    match (u, y, x0) {
        (AnyMat::Real(u), AnyMat::Real(y), AnyMat::Real(x0)) => {
            map_impl(py, u, y, x0, &widths, kappa, opts)
        }
        (u, y, x0) => map_impl(
            py,
            to_complex(u),
            to_complex(y),
            to_complex(x0),
            &widths,
            kappa,
            opts,
        ),
    }
}
