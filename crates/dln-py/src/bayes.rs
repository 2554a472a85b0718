//! The Bayesian layer: `sample_prior`, `sample_train`, `sample_fiber`, `entropy` (the program's
//! commands `dln sample prior`, `dln sample train`, `dln sample fiber`, `dln entropy`).
//!
//! Samples are returned as the program writes them: one array per layer, `W1..WN` stacked along a
//! leading sample axis ($S\times d_k\times d_{k-1}$), C-ordered. The same seed gives the same samples
//! as the program.

use crate::convert::{AnyLayers, AnyMat, Elem, any_mat, layers};
use crate::errors;
use crate::network::{PyObserver, positive};
use dln::algebra::Network;
use dln::bayes::entropy::{Entropy, NORMALIZATION, entropy as lib_entropy};
use dln::bayes::ou::expected_moments;
use dln::bayes::{BaseMeasure, FiberPosterior, FiberSampler, GaussianPrior, NoisyTraining};
use dln::flows::loss::LeastSquares;
use dln::flows::{Observer, Progress};
use dln::linalg::{Scalar, c64};
use faer::{Mat, MatRef};
use numpy::PyArray3;
use numpy::ndarray::Array3;
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// The networks `nets` (all of the same widths) as stacked numpy arrays `W1..WN`, shape
/// $S\times d_k\times d_{k-1}$.
pub(crate) fn stacked<'py, T: Elem>(
    py: Python<'py>,
    nets: &[Network<T>],
) -> Vec<Bound<'py, PyAny>> {
    let depth = nets.first().map_or(0, Network::depth);
    (1..=depth)
        .map(|k| {
            let (r, c) = nets[0].w(k).shape();
            let a = Array3::from_shape_fn((nets.len(), r, c), |(s, i, j)| nets[s].w(k)[(i, j)]);
            PyArray3::from_owned_array(py, a).into_any()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// sample_prior

/// Samples drawn between two checks for Ctrl-C.
const PRIOR_CHUNK: usize = 256;

fn sample_prior_impl<T: Elem>(
    py: Python<'_>,
    prior: &GaussianPrior,
    samples: usize,
    seed: u64,
) -> PyResult<Py<PyAny>> {
    // One generator for all samples, drawn in order: the program's stream
    // (`NormalStream::new(seed)`).
    let mut rng = dln::bayes::NormalStream::new(seed);
    let mut nets: Vec<Network<T>> = Vec::with_capacity(samples);
    while nets.len() < samples {
        let n = PRIOR_CHUNK.min(samples - nets.len());
        py.detach(|| {
            for _ in 0..n {
                nets.push(prior.sample::<T, _>(&mut rng));
            }
        });
        py.check_signals()?;
    }
    let (mean_l2, mean_g) = py.detach(|| {
        let s = nets.len() as f64;
        (
            nets.iter().map(Network::l2_norm_sq).sum::<f64>() / s,
            nets.iter().map(Network::moment_norm).sum::<f64>() / s,
        )
    });
    let d = PyDict::new(py);
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("widths", prior.widths().to_vec())?;
    d.set_item("beta", prior.beta())?;
    d.set_item("kappa", prior.kappa())?;
    d.set_item("samples", samples)?;
    d.set_item("seed", seed)?;
    d.set_item("dimension", prior.dimension::<T>())?;
    d.set_item("mean_l2_norm_sq", mean_l2)?;
    d.set_item("expected_l2_norm_sq", prior.mean_l2_norm_sq::<T>())?;
    d.set_item(
        "standard_error",
        (prior.var_l2_norm_sq::<T>() / samples as f64).sqrt(),
    )?;
    d.set_item("mean_moment_norm", mean_g)?;
    d.set_item("expected_moments", prior.mean_moments::<T>())?;
    Ok((stacked(py, &nets), d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

/// sample_prior(widths, beta, kappa, samples, complex, seed)
/// --
///
/// Exact samples of the Gaussian prior (see `dln.sample_prior`).
#[pyfunction]
pub fn sample_prior(
    py: Python<'_>,
    widths: Vec<usize>,
    beta: f64,
    kappa: f64,
    samples: usize,
    complex: bool,
    seed: u64,
) -> PyResult<Py<PyAny>> {
    if widths.len() < 2 || widths.contains(&0) {
        return Err(PyValueError::new_err(format!(
            "widths: need at least two positive widths d0,…,dN, got {widths:?}"
        )));
    }
    let beta = positive("beta", beta)?;
    let kappa = positive("kappa", kappa)?;
    if samples == 0 {
        return Err(PyValueError::new_err("samples must be at least 1, got 0"));
    }
    check_stack_memory("samples", samples, &widths, complex, 0)?;
    let prior = GaussianPrior::new(beta, kappa, &widths).map_err(|e| errors::bayes("", e))?;
    if complex {
        sample_prior_impl::<c64>(py, &prior, samples, seed)
    } else {
        sample_prior_impl::<f64>(py, &prior, samples, seed)
    }
}

// ---------------------------------------------------------------------------------------------
// sample_train

/// The settings of a noisy-training run (the program's `dln sample train` flags).
struct NoisyArgs {
    beta: f64,
    kappa: f64,
    t_end: f64,
    dt: f64,
    paths: usize,
    records: usize,
    seed: u64,
}

fn sample_train_impl<T: Elem>(
    py: Python<'_>,
    a: &NoisyArgs,
    w0: Vec<Mat<T>>,
    u: Mat<T>,
    y: Mat<T>,
) -> PyResult<Py<PyAny>> {
    let w0 = Network::new(w0).map_err(|e| errors::algebra("init", e))?;
    let loss = LeastSquares::new(u, y).map_err(|e| errors::flows("", e))?;
    let nt = NoisyTraining::new(loss, a.beta, a.kappa, a.dt).map_err(|e| errors::bayes("", e))?;
    let mut obs = PyObserver::new(None);
    let run = py.detach(|| nt.run_paths(&w0, a.t_end, a.paths, a.records - 1, a.seed, &mut obs));
    obs.finish()?;
    let run = run.map_err(|e| errors::bayes("noisy training failed", e))?;
    let t_last = run.t.last().copied().unwrap_or(0.0);
    let law = expected_moments(&w0, a.beta, a.kappa, t_last);
    let last = run.mean_moments.last().cloned().unwrap_or_default();
    let deviation = law
        .iter()
        .zip(&last)
        .map(|(e, m)| (e - m).norm_l2())
        .fold(0.0, f64::max);
    let d = PyDict::new(py);
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("widths", w0.widths())?;
    d.set_item("beta", a.beta)?;
    d.set_item("kappa", a.kappa)?;
    d.set_item("t_end", a.t_end)?;
    d.set_item("h", run.h)?;
    d.set_item("steps", run.steps)?;
    d.set_item("paths", a.paths)?;
    d.set_item("seed", a.seed)?;
    d.set_item("t", run.t.clone())?;
    d.set_item("mean_moment_norm", run.mean_moment_norm.clone())?;
    d.set_item("mean_loss", run.mean_loss.clone())?;
    d.set_item("moment_law_deviation", deviation)?;
    d.set_item("discretisation_allowance", run.discretisation_allowance)?;
    Ok((stacked(py, &run.finals), d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

fn promote_mat<T: Scalar>(m: MatRef<'_, T>) -> Mat<c64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
        c64::new(m[(i, j)].re(), m[(i, j)].im())
    })
}

fn promote_any(m: AnyMat) -> Mat<c64> {
    match m {
        AnyMat::Real(m) => promote_mat(m.as_ref()),
        AnyMat::Complex(m) => m,
    }
}

fn shape_of(m: &AnyMat) -> (usize, usize) {
    match m {
        AnyMat::Real(m) => (m.nrows(), m.ncols()),
        AnyMat::Complex(m) => (m.nrows(), m.ncols()),
    }
}

/// sample_train(inputs, targets, init, beta, kappa, t_end, dt, paths, records, seed)
/// --
///
/// Independent paths of noisy training (see `dln.sample_train`).
#[pyfunction]
#[pyo3(signature = (inputs, targets, init, beta, kappa, t_end, dt, paths, records, seed))]
pub fn sample_train(
    py: Python<'_>,
    inputs: &Bound<'_, PyAny>,
    targets: &Bound<'_, PyAny>,
    init: &Bound<'_, PyAny>,
    beta: f64,
    kappa: f64,
    t_end: f64,
    dt: f64,
    paths: usize,
    records: usize,
    seed: u64,
) -> PyResult<Py<PyAny>> {
    let a = NoisyArgs {
        beta: positive("beta", beta)?,
        kappa: positive("kappa", kappa)?,
        t_end: positive("t_end", t_end)?,
        dt: positive("dt", dt)?,
        paths,
        records,
        seed,
    };
    if paths == 0 {
        return Err(PyValueError::new_err("paths must be at least 1, got 0"));
    }
    if records < 2 {
        return Err(PyValueError::new_err(format!(
            "records must be at least 2, got {records}"
        )));
    }
    let w0 = layers(init, "init")?;
    let (widths, complex) = layer_widths(&w0);
    check_stack_memory("paths", paths, &widths, complex, 0)?;
    let u = any_mat(inputs, "inputs")?;
    let y = any_mat(targets, "targets")?;
    let (d0, dn) = match &w0 {
        AnyLayers::Real(v) => (v[0].ncols(), v[v.len() - 1].nrows()),
        AnyLayers::Complex(v) => (v[0].ncols(), v[v.len() - 1].nrows()),
    };
    let (su, sy) = (shape_of(&u), shape_of(&y));
    if su.0 != d0 {
        return Err(PyValueError::new_err(format!(
            "inputs: has {} rows but the input layer W1 of init has {d0} columns",
            su.0
        )));
    }
    if sy.0 != dn {
        return Err(PyValueError::new_err(format!(
            "targets: has {} rows but the output layer of init has {dn} rows",
            sy.0
        )));
    }
    if sy.1 != su.1 || su.1 == 0 {
        return Err(PyValueError::new_err(format!(
            "targets: has {} columns (samples) but inputs has {} (need the same, at least 1)",
            sy.1, su.1
        )));
    }
    match (w0, u, y) {
        (AnyLayers::Real(w), AnyMat::Real(u), AnyMat::Real(y)) => {
            sample_train_impl(py, &a, w, u, y)
        }
        (w, u, y) => {
            let w = match w {
                AnyLayers::Real(w) => w.iter().map(|m| promote_mat(m.as_ref())).collect(),
                AnyLayers::Complex(w) => w,
            };
            sample_train_impl(py, &a, w, promote_any(u), promote_any(y))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sample_fiber

/// Time between two checks for Ctrl-C during a chain (its steps take microseconds: checking at
/// each one would cost more than the step).
const SIGNAL_INTERVAL: Duration = Duration::from_millis(20);

/// Runs Python's signal handlers at most every [`SIGNAL_INTERVAL`]; a pending `KeyboardInterrupt`
/// stops the run.
struct SignalCheck {
    last: Instant,
    error: Option<PyErr>,
}

impl SignalCheck {
    fn new() -> Self {
        Self {
            last: Instant::now(),
            error: None,
        }
    }

    fn finish(&mut self) -> PyResult<()> {
        self.error.take().map_or(Ok(()), Err)
    }
}

impl<T: Elem> Observer<Progress<'_, T>> for SignalCheck {
    fn on_step(&mut self, _: &Progress<'_, T>) -> ControlFlow<()> {
        if self.last.elapsed() < SIGNAL_INTERVAL {
            return ControlFlow::Continue(());
        }
        self.last = Instant::now();
        match Python::attach(|py| py.check_signals()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

/// The settings of a fiber chain (the program's `dln sample fiber` flags).
struct FiberArgs {
    beta: f64,
    kappa: f64,
    measure: BaseMeasure,
    /// `None`: the library's default for the measure and the network.
    sampler: Option<FiberSampler>,
    samples: usize,
    /// `None`: the library's default for the sampler.
    burn_in: Option<usize>,
    thin: usize,
    seed: u64,
    /// Independent chains, pooled.
    chains: usize,
}

fn sample_fiber_impl<T: Elem>(
    py: Python<'_>,
    a: &FiberArgs,
    ws: Vec<Mat<T>>,
) -> PyResult<Py<PyAny>> {
    let w0 = Network::new(ws).map_err(|e| errors::algebra("ws", e))?;
    let post = FiberPosterior::new(a.beta, a.kappa, a.measure).map_err(|e| errors::bayes("", e))?;
    // The library's defaults, as the program's (`FiberSampler::default_for`,
    // `FiberSampler::default_burn_in`).
    let sampler = a
        .sampler
        .unwrap_or_else(|| FiberSampler::default_for(a.measure, &w0));
    let burn_in = a.burn_in.unwrap_or(sampler.default_burn_in());
    let mut obs = SignalCheck::new();
    let chain = py.detach(|| {
        post.sample_chains(
            sampler,
            &w0,
            a.chains,
            a.samples,
            Some(burn_in),
            a.thin,
            a.seed,
            &mut obs,
        )
    });
    obs.finish()?;
    let chain = chain.map_err(|e| errors::bayes("ws", e))?;
    let g = chain.diagnostics;
    let d = PyDict::new(py);
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("widths", w0.widths())?;
    d.set_item("beta", a.beta)?;
    d.set_item("kappa", a.kappa)?;
    d.set_item("measure", a.measure.name())?;
    d.set_item("sampler", sampler.name())?;
    d.set_item("leapfrog_steps", g.leapfrog_steps)?;
    d.set_item("samples", a.samples)?;
    d.set_item("chains", a.chains)?;
    d.set_item("burn_in", burn_in)?;
    d.set_item("thin", a.thin)?;
    d.set_item("seed", a.seed)?;
    d.set_item("fiber_dimension", g.fiber_dimension)?;
    d.set_item("acceptance_rate", g.acceptance_rate)?;
    d.set_item("ess", g.ess)?;
    d.set_item("steps", g.steps)?;
    d.set_item("mean_l2_norm_sq", g.mean_l2_norm_sq)?;
    d.set_item("standard_error", g.standard_error)?;
    d.set_item("max_constraint_residual", g.max_constraint_residual)?;
    d.set_item("mean_moment_norm", g.mean_moment_norm)?;
    d.set_item("step", g.step)?;
    d.set_item("projection_failures", g.projection_failures)?;
    d.set_item("reverse_failures", g.reverse_failures)?;
    d.set_item("flips", g.flips)?;
    // Only with two or more chains, as the program's `--json` (no nulls).
    if let Some(r) = g.rhat {
        d.set_item("rhat", r)?;
    }
    Ok((stacked(py, &chain.samples), d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

/// sample_fiber(ws, beta, kappa, samples, measure, sampler, seed, burn_in, thin)
/// --
///
/// Samples of the posterior on the fiber of X = WN...W1 (see `dln.sample_fiber`).
#[pyfunction]
#[pyo3(signature = (ws, beta, kappa, samples, measure, sampler, seed, burn_in, thin, chains))]
#[allow(clippy::too_many_arguments)] // The Python signature, one argument per program flag.
pub fn sample_fiber(
    py: Python<'_>,
    ws: &Bound<'_, PyAny>,
    beta: f64,
    kappa: f64,
    samples: usize,
    measure: &str,
    sampler: Option<&str>,
    seed: u64,
    burn_in: Option<usize>,
    thin: usize,
    chains: usize,
) -> PyResult<Py<PyAny>> {
    let measure = match measure {
        "hausdorff" => BaseMeasure::Hausdorff,
        "conditional" => BaseMeasure::Conditional,
        other => {
            return Err(PyValueError::new_err(format!(
                "measure: expected \"hausdorff\" or \"conditional\", got {other:?}"
            )));
        }
    };
    let sampler = sampler
        .map(|name| FiberSampler::from_name(name).map_err(|e| PyValueError::new_err(e.to_string())))
        .transpose()?;
    let a = FiberArgs {
        beta: positive("beta", beta)?,
        kappa: positive("kappa", kappa)?,
        measure,
        sampler,
        samples,
        burn_in,
        thin,
        seed,
        chains,
    };
    if samples == 0 {
        return Err(PyValueError::new_err("samples must be at least 1, got 0"));
    }
    if thin == 0 {
        return Err(PyValueError::new_err("thin must be at least 1, got 0"));
    }
    if chains == 0 || chains > samples {
        return Err(PyValueError::new_err(format!(
            "chains must be between 1 and samples ({samples}), got {chains}"
        )));
    }
    let w = layers(ws, "ws")?;
    // One f64 of ‖W‖² per post-burn-in step is kept for the effective sample size.
    let trace = 8 * (samples as u128) * (thin as u128);
    let (widths, complex) = layer_widths(&w);
    check_stack_memory("samples", samples, &widths, complex, trace)?;
    match w {
        AnyLayers::Real(v) => sample_fiber_impl(py, &a, v),
        AnyLayers::Complex(v) => sample_fiber_impl(py, &a, v),
    }
}

/// The widths $d_0,\dots,d_N$ of a list of layers, and whether they are complex.
pub(crate) fn layer_widths(w: &AnyLayers) -> (Vec<usize>, bool) {
    fn widths<T>(v: &[faer::Mat<T>]) -> Vec<usize> {
        std::iter::once(v.first().map_or(0, |w| w.ncols()))
            .chain(v.iter().map(|w| w.nrows()))
            .collect()
    }
    match w {
        AnyLayers::Real(v) => (widths(v), false),
        AnyLayers::Complex(v) => (widths(v), true),
    }
}

/// Refuses, before anything is allocated, `count` stacked networks of `widths` (plus `extra`
/// bytes) above the memory limit of [`dln::resources`]: `MemoryError` naming `what`, where an
/// allocation failure would abort the interpreter.
pub(crate) fn check_stack_memory(
    what: &str,
    count: usize,
    widths: &[usize],
    complex: bool,
    extra: u128,
) -> PyResult<()> {
    let bytes = dln::resources::stacked_networks_bytes(count as u128, widths, complex)
        .saturating_add(extra);
    dln::resources::check_memory(&format!("{what}={count}"), bytes)
        .map_err(|e| PyMemoryError::new_err(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// entropy

fn entropy_dict<'py>(
    py: Python<'py>,
    e: &Entropy,
    d: usize,
    complex: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let r = PyDict::new(py);
    r.set_item("entropy", e.entropy)?;
    r.set_item("depth", e.depth)?;
    r.set_item("field", if complex { "complex" } else { "real" })?;
    r.set_item("d", d)?;
    r.set_item("log_group_volume", e.log_group_volume)?;
    r.set_item("log_density_sq", e.log_density_sq)?;
    r.set_item("normalization", NORMALIZATION)?;
    Ok(r)
}

fn entropy_of<'py, T: Elem>(
    py: Python<'py>,
    x: &Mat<T>,
    depth: usize,
    array: &str,
) -> PyResult<Bound<'py, PyDict>> {
    if let Err(e) = dln::linalg::check_finite(x.as_ref()) {
        return Err(PyValueError::new_err(format!("{array}: {e}")));
    }
    let e = py
        .detach(|| lib_entropy(x.as_ref(), depth))
        .map_err(|e| errors::bayes(array, e))?;
    entropy_dict(py, &e, x.nrows(), T::IS_COMPLEX)
}

fn entropy_of_network<'py, T: Elem>(
    py: Python<'py>,
    ws: Vec<Mat<T>>,
) -> PyResult<Bound<'py, PyDict>> {
    let net = Network::new(ws).map_err(|e| errors::algebra("ws", e))?;
    let x = py.detach(|| net.product());
    entropy_of(py, &x, net.depth(), &format!("W1..W{}", net.depth()))
}

/// entropy(x, depth, ws)
/// --
///
/// The entropy of the balanced orbit of X (see `dln.entropy`).
#[pyfunction]
#[pyo3(signature = (x=None, depth=None, ws=None))]
pub fn entropy<'py>(
    py: Python<'py>,
    x: Option<&Bound<'py, PyAny>>,
    depth: Option<usize>,
    ws: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    match (x, depth, ws) {
        (Some(x), Some(depth), None) => {
            if depth == 0 {
                return Err(PyValueError::new_err("depth must be at least 1, got 0"));
            }
            match any_mat(x, "X")? {
                AnyMat::Real(x) => entropy_of(py, &x, depth, "X"),
                AnyMat::Complex(x) => entropy_of(py, &x, depth, "X"),
            }
        }
        (Some(_), None, None) => Err(PyValueError::new_err("an X input needs depth=N")),
        (None, None, Some(ws)) => match layers(ws, "ws")? {
            AnyLayers::Real(v) => entropy_of_network(py, v),
            AnyLayers::Complex(v) => entropy_of_network(py, v),
        },
        (None, Some(_), Some(_)) => Err(PyValueError::new_err(
            "depth is taken from the weights ws = [W1, ..., WN]; omit it",
        )),
        _ => Err(PyValueError::new_err(
            "give either x and depth, or ws (not both)",
        )),
    }
}
