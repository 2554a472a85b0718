//! Networks: `moments`, `balance`, `flow`, `train` (the program's commands of the same names).

use crate::convert::{AnyLayers, AnyMat, Elem, any_mat, layers, to_numpy};
use crate::errors;
use dln::algebra::{BalanceMethod, BalanceOptions, BalancedOrbit, Network, balance as kn_balance};
use dln::flows::balancing::{BalancingFlow, BalancingOptions, Scheme, balancing_flow, linspace};
use dln::flows::loss::LeastSquares;
use dln::flows::training::{TrainingOptions, gaussian_init, gradient_descent, train_flow};
use dln::flows::{FlowBuilder, Observer, Progress};
use dln::linalg::c64;
use faer::Mat;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};
use std::ops::ControlFlow;

/// `ValueError` unless `x` is finite and $>0$ (the program's `positive_f64`).
pub(crate) fn positive(name: &str, x: f64) -> PyResult<f64> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be finite and positive, got {x}"
        )))
    }
}

/// `ValueError` unless `x` is finite and $\ge0$ (the program's `nonneg_f64`).
pub(crate) fn nonneg(name: &str, x: f64) -> PyResult<f64> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be finite and non-negative, got {x}"
        )))
    }
}

fn network<T: Elem>(ws: Vec<Mat<T>>) -> PyResult<Network<T>> {
    Network::new(ws).map_err(|e| errors::algebra("ws", e))
}

fn numpy_layers<'py, T: Elem>(py: Python<'py>, net: &Network<T>) -> Vec<Bound<'py, PyAny>> {
    net.layers()
        .iter()
        .map(|w| to_numpy(py, w.as_ref()).into_any())
        .collect()
}

/// Runs Python's signal handlers after every accepted step (so Ctrl-C stops a run with
/// `KeyboardInterrupt`), and calls the user's `callback(t, moment_norm)` if any; the run stops
/// when the callback returns `False` or raises.
pub(crate) struct PyObserver {
    callback: Option<Py<PyAny>>,
    error: Option<PyErr>,
    stopped_by_callback: bool,
}

impl PyObserver {
    pub(crate) fn new(callback: Option<Py<PyAny>>) -> Self {
        Self {
            callback,
            error: None,
            stopped_by_callback: false,
        }
    }

    fn step<T: Elem>(&mut self, p: &Progress<'_, T>) -> ControlFlow<()> {
        Python::attach(|py| {
            if let Err(e) = py.check_signals() {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
            let Some(cb) = &self.callback else {
                return ControlFlow::Continue(());
            };
            let moment_norm = Network::new(p.weights.to_vec())
                .map(|n| n.moment_norm())
                .unwrap_or(f64::NAN);
            match cb.call1(py, (p.t, moment_norm)) {
                Err(e) => {
                    self.error = Some(e);
                    ControlFlow::Break(())
                }
                Ok(r) if r.bind(py).is(PyBool::new(py, false)) => {
                    self.stopped_by_callback = true;
                    ControlFlow::Break(())
                }
                Ok(_) => ControlFlow::Continue(()),
            }
        })
    }

    /// The error raised during the run (Ctrl-C, or the callback's exception), if any.
    pub(crate) fn finish(&mut self) -> PyResult<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<T: Elem> Observer<Progress<'_, T>> for PyObserver {
    fn on_step(&mut self, p: &Progress<'_, T>) -> ControlFlow<()> {
        self.step(p)
    }
}

// ---------------------------------------------------------------------------------------------
// moments

fn moments_impl<'py, T: Elem>(
    py: Python<'py>,
    ws: Vec<Mat<T>>,
    rtol: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let net = network(ws)?;
    let (orbit, l2, mn, mns, balanced) = py.detach(|| {
        (
            BalancedOrbit::of(&net),
            net.l2_norm_sq(),
            net.moment_norm(),
            net.moment_norms(),
            net.is_balanced(rtol),
        )
    });
    let orbit = orbit.map_err(|e| errors::algebra("", e))?;
    let lb = orbit.l2_lower_bound();
    let d = PyDict::new(py);
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("depth", net.depth())?;
    d.set_item("widths", net.widths())?;
    d.set_item("rank", orbit.rank())?;
    d.set_item("moment_norm", mn)?;
    d.set_item("moment_norms", mns)?;
    d.set_item("l2_norm_sq", l2)?;
    d.set_item("lower_bound", lb)?;
    d.set_item("gap", (lb > 0.0).then(|| (l2 - lb) / lb))?;
    d.set_item("balanced", balanced)?;
    d.set_item("rtol", rtol)?;
    Ok(d)
}

/// moments(ws, rtol)
/// --
///
/// Moments, norms and balancedness of the network `ws` (see `dln.moments`).
#[pyfunction]
pub fn moments<'py>(
    py: Python<'py>,
    ws: &Bound<'py, PyAny>,
    rtol: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let rtol = nonneg("rtol", rtol)?;
    match layers(ws, "ws")? {
        AnyLayers::Real(v) => moments_impl(py, v, rtol),
        AnyLayers::Complex(v) => moments_impl(py, v, rtol),
    }
}

// ---------------------------------------------------------------------------------------------
// balance

fn balance_impl<T: Elem>(
    py: Python<'_>,
    ws: Vec<Mat<T>>,
    opts: BalanceOptions,
) -> PyResult<Py<PyAny>> {
    let net = network(ws)?;
    let b = py
        .detach(|| kn_balance(&net, opts))
        .map_err(|e| errors::algebra("balancing failed", e))?;
    let i = &b.info;
    let d = PyDict::new(py);
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("depth", net.depth())?;
    d.set_item("widths", net.widths())?;
    d.set_item("method", i.method.name())?;
    d.set_item("iterations", i.iterations)?;
    d.set_item("cg_iterations", i.cg_iterations)?;
    d.set_item("orbit_closed", i.orbit_closed)?;
    d.set_item("moment_norm_before", i.moment_norm_before)?;
    d.set_item("moment_norm_after", i.moment_norm_after)?;
    d.set_item("l2_norm_sq_before", i.l2_norm_sq_before)?;
    d.set_item("l2_norm_sq_after", i.l2_norm_sq_after)?;
    d.set_item("lower_bound", i.lower_bound)?;
    d.set_item("gap", i.gap())?;
    d.set_item("product_rel_change", i.product_rel_change)?;
    Ok((numpy_layers(py, &b.network), d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

/// balance(ws, method, tol, max_iter)
/// --
///
/// Kempf–Ness balancing of `ws` (see `dln.balance`).
#[pyfunction]
pub fn balance(
    py: Python<'_>,
    ws: &Bound<'_, PyAny>,
    method: &str,
    tol: f64,
    max_iter: usize,
) -> PyResult<Py<PyAny>> {
    let method = match method {
        "auto" => BalanceMethod::Auto,
        "svd" => BalanceMethod::Svd,
        "orbit" => BalanceMethod::Orbit,
        "newton" => BalanceMethod::Newton,
        other => {
            return Err(PyValueError::new_err(format!(
                "method must be one of 'auto', 'svd', 'orbit', 'newton', got '{other}'"
            )));
        }
    };
    let opts = BalanceOptions {
        method,
        tol: positive("tol", tol)?,
        max_iter,
    };
    match layers(ws, "ws")? {
        AnyLayers::Real(v) => balance_impl(py, v, opts),
        AnyLayers::Complex(v) => balance_impl(py, v, opts),
    }
}

// ---------------------------------------------------------------------------------------------
// flow

fn flow_impl<T: Elem>(
    py: Python<'_>,
    ws: Vec<Mat<T>>,
    opts: BalancingOptions,
    times: Vec<f64>,
    t_end: f64,
    callback: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let net = network(ws)?;
    let mut obs = PyObserver::new(callback);
    let name = opts.flow.name();
    let run = py.detach(|| balancing_flow(&net, &opts, &times, &mut obs));
    obs.finish()?;
    let run = run.map_err(|e| errors::flows(&format!("{name} flow failed"), e))?;
    let first = run.samples.first().map_or(0.0, |s| s.moment_norm);
    let last = run.samples.last().map_or(0.0, |s| s.moment_norm);
    let d = PyDict::new(py);
    d.set_item("flow", name)?;
    d.set_item("scheme", run.scheme.name())?;
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("widths", net.widths())?;
    d.set_item("t_end", t_end)?;
    d.set_item("steps", run.stats.n_steps)?;
    d.set_item("rejected", run.stats.n_rejected)?;
    d.set_item("evals", run.stats.n_evals)?;
    d.set_item("cg_iterations", run.cg_iterations)?;
    d.set_item("moment_norm_initial", first)?;
    d.set_item("moment_norm_final", last)?;
    d.set_item(
        "product_rel_change",
        run.samples
            .iter()
            .map(|s| s.product_rel_change)
            .fold(0.0, f64::max),
    )?;
    d.set_item("lower_bound", run.lower_bound)?;
    d.set_item("t", run.samples.iter().map(|s| s.t).collect::<Vec<_>>())?;
    d.set_item(
        "moment_norm",
        run.samples
            .iter()
            .map(|s| s.moment_norm)
            .collect::<Vec<_>>(),
    )?;
    d.set_item(
        "l2_gap",
        run.samples.iter().map(|s| s.l2_gap).collect::<Vec<_>>(),
    )?;
    d.set_item("stopped_by_callback", obs.stopped_by_callback)?;
    Ok((numpy_layers(py, &run.network), d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

/// flow(ws, kind, t_end, samples, rtol, atol, scheme, callback)
/// --
///
/// A balancing flow on the fiber of `ws` (see `dln.flow`).
#[pyfunction]
#[pyo3(signature = (ws, kind, t_end, samples, rtol, atol, scheme, callback))]
pub fn flow(
    py: Python<'_>,
    ws: &Bound<'_, PyAny>,
    kind: &str,
    t_end: f64,
    samples: usize,
    rtol: f64,
    atol: f64,
    scheme: &str,
    callback: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let flow = match kind {
        "l2" => BalancingFlow::L2,
        "kirwan-ness" => BalancingFlow::KirwanNess,
        other => {
            return Err(PyValueError::new_err(format!(
                "kind must be 'l2' or 'kirwan-ness', got '{other}'"
            )));
        }
    };
    let scheme = match scheme {
        "auto" => Scheme::Auto,
        "structured" => Scheme::Structured,
        "generic" => Scheme::Generic,
        other => {
            return Err(PyValueError::new_err(format!(
                "scheme must be 'auto', 'structured' or 'generic', got '{other}'"
            )));
        }
    };
    let t_end = positive("t_end", t_end)?;
    if samples < 2 {
        return Err(PyValueError::new_err(format!(
            "samples must be at least 2, got {samples}"
        )));
    }
    let integration = FlowBuilder::new()
        .rtol(positive("rtol", rtol)?)
        .atol(positive("atol", atol)?)
        .build()
        .map_err(|e| errors::flows("", e))?;
    let opts = BalancingOptions {
        flow,
        scheme,
        integration,
        ..Default::default()
    };
    let times = linspace(t_end, samples);
    match layers(ws, "ws")? {
        AnyLayers::Real(v) => flow_impl(py, v, opts, times, t_end, callback),
        AnyLayers::Complex(v) => flow_impl(py, v, opts, times, t_end, callback),
    }
}

// ---------------------------------------------------------------------------------------------
// train

/// The training run's settings (the program's `dln train` flags).
struct TrainArgs {
    widths: Vec<usize>,
    kappa: f64,
    mode: Mode,
    balanced_init: bool,
    seed: u64,
    samples: usize,
    rtol: f64,
    atol: f64,
}

enum Mode {
    Flow { t_end: f64 },
    Descent { steps: usize, lr: f64 },
}

/// The program's initial weights: Gaussian layers with entries $N(0, 1/d_{k-1})$ from
/// `random::rng(seed)`, balanced in their fiber (SVD method) for `init="balanced"`.
fn init_network<T: Elem>(a: &TrainArgs) -> PyResult<Network<T>> {
    gaussian_init(&a.widths, a.seed, a.balanced_init)
        .map_err(|e| errors::flows("drawing the initial weights failed", e))
}

fn train_impl<T: Elem>(
    py: Python<'_>,
    a: &TrainArgs,
    inputs: Mat<T>,
    targets: Mat<T>,
) -> PyResult<Py<PyAny>> {
    let n = inputs.ncols();
    let loss = LeastSquares::new(inputs, targets).map_err(|e| errors::flows("", e))?;
    let w0: Network<T> = init_network(a)?;
    let mut obs = PyObserver::new(None);
    let run = match a.mode {
        Mode::Flow { t_end } => {
            let integration = FlowBuilder::new()
                .rtol(a.rtol)
                .atol(a.atol)
                .build()
                .map_err(|e| errors::flows("", e))?;
            let opts = TrainingOptions {
                kappa: a.kappa,
                integration,
                split: false,
            };
            let times = linspace(t_end, a.samples);
            py.detach(|| train_flow(&w0, &loss, &opts, &times, &mut obs))
        }
        Mode::Descent { steps, lr } => {
            let every = (steps / (a.samples - 1)).max(1);
            py.detach(|| gradient_descent(&w0, &loss, a.kappa, lr, steps, every, &mut obs))
        }
    };
    obs.finish()?;
    let run = run.map_err(|e| errors::flows("training failed", e))?;
    let (mode, t_end, lr) = match a.mode {
        Mode::Flow { t_end } => ("flow", t_end, None),
        Mode::Descent { steps, lr } => ("gradient-descent", steps as f64 * lr, Some(lr)),
    };
    let s0 = run.samples.first().copied();
    let s1 = run.samples.last().copied();
    let d = PyDict::new(py);
    d.set_item("mode", mode)?;
    d.set_item("dtype", T::DTYPE)?;
    d.set_item("widths", a.widths.clone())?;
    d.set_item("samples", n)?;
    d.set_item("kappa", a.kappa)?;
    d.set_item("t_end", t_end)?;
    d.set_item("steps", run.stats.n_steps)?;
    // As the program: the key is left out in flow mode, never `None`.
    if let Some(lr) = lr {
        d.set_item("lr", lr)?;
    }
    d.set_item(
        "init",
        if a.balanced_init {
            "balanced"
        } else {
            "gaussian"
        },
    )?;
    d.set_item("seed", a.seed)?;
    d.set_item("loss_initial", s0.map_or(f64::NAN, |s| s.loss))?;
    d.set_item("loss_final", s1.map_or(f64::NAN, |s| s.loss))?;
    d.set_item(
        "moment_norm_initial",
        s0.map_or(f64::NAN, |s| s.moment_norm),
    )?;
    d.set_item("moment_norm_final", s1.map_or(f64::NAN, |s| s.moment_norm))?;
    d.set_item("t", run.samples.iter().map(|s| s.t).collect::<Vec<_>>())?;
    d.set_item(
        "loss",
        run.samples.iter().map(|s| s.loss).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "moment_norm",
        run.samples
            .iter()
            .map(|s| s.moment_norm)
            .collect::<Vec<_>>(),
    )?;
    Ok((numpy_layers(py, &run.network), d)
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

fn promote(m: AnyMat) -> Mat<c64> {
    match m {
        AnyMat::Real(m) => Mat::from_fn(m.nrows(), m.ncols(), |i, j| c64::new(m[(i, j)], 0.0)),
        AnyMat::Complex(m) => m,
    }
}

fn shape(m: &AnyMat) -> (usize, usize) {
    match m {
        AnyMat::Real(m) => (m.nrows(), m.ncols()),
        AnyMat::Complex(m) => (m.nrows(), m.ncols()),
    }
}

fn check_finite(m: &AnyMat, name: &str) -> PyResult<()> {
    let r = match m {
        AnyMat::Real(m) => dln::linalg::check_finite(m.as_ref()),
        AnyMat::Complex(m) => dln::linalg::check_finite(m.as_ref()),
    };
    r.map_err(|e| PyValueError::new_err(format!("{name}: {e}")))
}

/// train(inputs, targets, widths, kappa, t_end, steps, lr, init, seed, samples, rtol, atol)
/// --
///
/// Least-squares training of a deep linear network (see `dln.train`).
#[pyfunction]
#[pyo3(signature = (inputs, targets, widths, kappa, t_end, steps, lr, init, seed, samples, rtol, atol))]
pub fn train(
    py: Python<'_>,
    inputs: &Bound<'_, PyAny>,
    targets: &Bound<'_, PyAny>,
    widths: Vec<usize>,
    kappa: f64,
    t_end: Option<f64>,
    steps: Option<usize>,
    lr: Option<f64>,
    init: &str,
    seed: u64,
    samples: usize,
    rtol: f64,
    atol: f64,
) -> PyResult<Py<PyAny>> {
    if widths.len() < 2 || widths.contains(&0) {
        return Err(PyValueError::new_err(format!(
            "widths: need at least two positive widths d0,…,dN, got {widths:?}"
        )));
    }
    let mode = match (t_end, steps, lr) {
        (Some(t), None, None) => Mode::Flow {
            t_end: positive("t_end", t)?,
        },
        (None, Some(steps), Some(lr)) => Mode::Descent {
            steps,
            lr: positive("lr", lr)?,
        },
        _ => {
            return Err(PyValueError::new_err(
                "give either t_end or both steps and lr",
            ));
        }
    };
    let balanced_init = match init {
        "gaussian" => false,
        "balanced" => true,
        other => {
            return Err(PyValueError::new_err(format!(
                "init must be 'gaussian' or 'balanced', got '{other}'"
            )));
        }
    };
    if samples < 2 {
        return Err(PyValueError::new_err(format!(
            "samples must be at least 2, got {samples}"
        )));
    }
    let a = TrainArgs {
        kappa: nonneg("kappa", kappa)?,
        mode,
        balanced_init,
        seed,
        samples,
        rtol: positive("rtol", rtol)?,
        atol: positive("atol", atol)?,
        widths,
    };
    let u = any_mat(inputs, "inputs")?;
    let y = any_mat(targets, "targets")?;
    check_finite(&u, "inputs")?;
    check_finite(&y, "targets")?;
    let (d0, dn) = (a.widths[0], a.widths[a.widths.len() - 1]);
    let (su, sy) = (shape(&u), shape(&y));
    if su.0 != d0 {
        return Err(PyValueError::new_err(format!(
            "inputs: has {} rows but widths starts with d0 = {d0}",
            su.0
        )));
    }
    if sy.0 != dn {
        return Err(PyValueError::new_err(format!(
            "targets: has {} rows but widths ends with dN = {dn}",
            sy.0
        )));
    }
    if sy.1 != su.1 {
        return Err(PyValueError::new_err(format!(
            "targets: has {} columns (samples) but inputs has {}",
            sy.1, su.1
        )));
    }
    if su.1 == 0 {
        return Err(PyValueError::new_err("inputs: has no samples (0 columns)"));
    }
    match (u, y) {
        (AnyMat::Real(u), AnyMat::Real(y)) => train_impl(py, &a, u, y),
        (u, y) => train_impl(py, &a, promote(u), promote(y)),
    }
}

// ---------------------------------------------------------------------------------------------
// overhead measurement

fn time_balance_impl<T: Elem>(
    py: Python<'_>,
    ws: Vec<Mat<T>>,
    method: BalanceMethod,
) -> PyResult<f64> {
    let net = network(ws)?;
    let opts = BalanceOptions {
        method,
        ..Default::default()
    };
    let (r, secs) = py.detach(|| {
        let t0 = std::time::Instant::now();
        let r = kn_balance(&net, opts);
        (r, t0.elapsed().as_secs_f64())
    });
    r.map_err(|e| errors::algebra("balancing failed", e))?;
    Ok(secs)
}

/// _time_balance(ws, method)
/// --
///
/// Seconds taken by the library call `balance(&network, method)` alone (no conversion of the
/// arguments, no result building): the reference for the call overhead in `python -m dln.bench`.
#[pyfunction]
pub fn _time_balance(py: Python<'_>, ws: &Bound<'_, PyAny>, method: &str) -> PyResult<f64> {
    let method = match method {
        "svd" => BalanceMethod::Svd,
        "orbit" => BalanceMethod::Orbit,
        other => {
            return Err(PyValueError::new_err(format!(
                "method must be 'svd' or 'orbit', got '{other}'"
            )));
        }
    };
    match layers(ws, "ws")? {
        AnyLayers::Real(v) => time_balance_impl(py, v, method),
        AnyLayers::Complex(v) => time_balance_impl(py, v, method),
    }
}

/// _copy_layers(ws)
/// --
///
/// Copies `ws` into the library's matrices and back into new numpy arrays, with no other work:
/// the unavoidable part of a call's overhead, reported beside it by `python -m dln.bench`.
#[pyfunction]
pub fn _copy_layers<'py>(
    py: Python<'py>,
    ws: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    Ok(match layers(ws, "ws")? {
        AnyLayers::Real(v) => v
            .iter()
            .map(|w| to_numpy(py, w.as_ref()).into_any())
            .collect(),
        AnyLayers::Complex(v) => v
            .iter()
            .map(|w| to_numpy(py, w.as_ref()).into_any())
            .collect(),
    })
}
