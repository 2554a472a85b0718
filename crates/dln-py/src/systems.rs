//! Linear systems: `hsv`, `gram`, `reduce` (the program's commands of the same names) and
//! `bayesian_bt` (`dln_bayes::bbt`). The systems functions are real: complex128 arrays raise
//! `ValueError`.

use crate::convert::{real_mat, to_numpy};
use crate::errors;
use crate::network::{nonneg, positive};
use dln::bayes::BayesianBalancing;
use dln::bayes::bbt::forstner_distance_sq;
use dln::systems::gramian::{GramianOptions, controllability_factor, hankel_singular_values_with};
use dln::systems::model::{Sampling, StateSpace};
use dln::systems::reduction::{
    Balancing, Method as LibMethod, OrderSelection, ReductionOptions, reduce as lib_reduce,
};
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Builds and validates $(A, B, C, D)$; `D = None` is the $p\times m$ zero matrix, `dt = None`
/// continuous time.
fn system(
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    c: &Bound<'_, PyAny>,
    d: Option<&Bound<'_, PyAny>>,
    dt: Option<f64>,
) -> PyResult<StateSpace> {
    let a = real_mat(a, "A")?;
    let b = real_mat(b, "B")?;
    let c = real_mat(c, "C")?;
    let d = match d {
        Some(d) => real_mat(d, "D")?,
        None => faer::Mat::zeros(c.nrows(), b.ncols()),
    };
    let sampling = match dt {
        None => Sampling::Continuous,
        Some(dt) => Sampling::Discrete {
            dt: positive("dt", dt)?,
        },
    };
    StateSpace::new(a, b, c, d, sampling).map_err(errors::systems)
}

/// hsv(A, B, C, D=None, dt=None, equil=True)
/// --
///
/// Hankel singular values of a stable system (see `dln.hsv`).
#[pyfunction]
#[pyo3(signature = (a, b, c, d=None, dt=None, equil=true))]
pub fn hsv<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    c: &Bound<'py, PyAny>,
    d: Option<&Bound<'py, PyAny>>,
    dt: Option<f64>,
    equil: bool,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let sys = system(a, b, c, d, dt)?;
    let opts = GramianOptions {
        equilibrate: equil,
        ..Default::default()
    };
    // No separate eigenvalue pass (as `dln hsv`): the Hammarling solver checks stability on the
    // Schur form it needs anyway and names the worst eigenvalue (the same `Unstable` error).
    let hsv = py
        .detach(|| hankel_singular_values_with(&sys, opts))
        .map_err(errors::systems)?;
    Ok(PyArray1::from_vec(py, hsv))
}

/// gram(A, B, C, kind="controllability", dt=None, factor=False)
/// --
///
/// A Gramian of a stable system, or its Cholesky factor (see `dln.gram`).
#[pyfunction]
#[pyo3(signature = (a, b, c, kind="controllability", dt=None, factor=false))]
pub fn gram<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    c: &Bound<'py, PyAny>,
    kind: &str,
    dt: Option<f64>,
    factor: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let sys = system(a, b, c, None, dt)?;
    // The observability Gramian of (A, C) is the controllability Gramian of (Aᵀ, Cᵀ).
    let sys = match kind {
        "controllability" => sys,
        "observability" => StateSpace::new(
            sys.a().transpose().to_owned(),
            sys.c().transpose().to_owned(),
            sys.b().transpose().to_owned(),
            sys.d().transpose().to_owned(),
            sys.sampling(),
        )
        .map_err(errors::systems)?,
        other => {
            return Err(PyValueError::new_err(format!(
                "kind must be 'controllability' or 'observability', got '{other}'"
            )));
        }
    };
    let out = py
        .detach(|| {
            // Stability is checked by the Lyapunov solver on its Schur form (as `dln gram`).
            let l = controllability_factor(&sys)?;
            Ok(if factor {
                l.clone()
            } else {
                &l * l.transpose()
            })
        })
        .map_err(errors::systems)?;
    Ok(to_numpy(py, out.as_ref()))
}

/// reduce(A, B, C, D=None, order=None, tol=None, method="sr", alpha=None, dt=None, equil=True, hinf=True)
/// --
///
/// Model reduction by balanced truncation or singular perturbation (see `dln.reduce`).
#[pyfunction]
#[pyo3(signature = (a, b, c, d=None, order=None, tol=None, method="sr", alpha=None, dt=None, equil=true, hinf=true))]
#[allow(clippy::too_many_arguments)] // The Python signature, one argument per program flag.
pub fn reduce<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    c: &Bound<'py, PyAny>,
    d: Option<&Bound<'py, PyAny>>,
    order: Option<usize>,
    tol: Option<f64>,
    method: &str,
    alpha: Option<f64>,
    dt: Option<f64>,
    equil: bool,
    hinf: bool,
) -> PyResult<Py<PyAny>> {
    let (lib_method, balancing) = match method {
        "sr" => (LibMethod::Truncation, Balancing::SquareRoot),
        "bfsr" => (LibMethod::Truncation, Balancing::BalancingFree),
        "spa" => (LibMethod::SingularPerturbation, Balancing::SquareRoot),
        other => {
            return Err(PyValueError::new_err(format!(
                "method must be one of 'sr', 'bfsr', 'spa', got '{other}'"
            )));
        }
    };
    let sys = system(a, b, c, d, dt)?;
    let n = sys.order();
    let order = match (order, tol) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err("give either order or tol, not both"));
        }
        (Some(r), None) if r > n => {
            return Err(PyValueError::new_err(format!(
                "order {r} exceeds the state dimension n = {n}"
            )));
        }
        (Some(r), None) => OrderSelection::Fixed(r),
        (None, Some(t)) => OrderSelection::Tolerance(nonneg("tol", t)?),
        (None, None) => return Err(PyValueError::new_err("give either order or tol")),
    };
    let opts = ReductionOptions {
        method: lib_method,
        balancing,
        order,
        min_tol: None,
        alpha,
        equilibrate: equil,
        ..Default::default()
    };
    // As `dln reduce`: the reduction and the certified error timed separately; `hinf=False`
    // skips the certificate.
    let (red, err, reduction_s, hinf_error_s) = py
        .detach(|| {
            // Without `alpha` the model must be stable: the reduction checks it on the Schur form
            // it computes anyway (as `dln reduce`; the same `Unstable` error naming the worst
            // eigenvalue), so there is no separate eigenvalue pass.
            let t0 = std::time::Instant::now();
            let red = lib_reduce(&sys, opts)?;
            let reduction_s = t0.elapsed().as_secs_f64();
            if !hinf {
                return Ok((red, None, reduction_s, None));
            }
            let t1 = std::time::Instant::now();
            let err = red.hinf_error_profiled()?;
            Ok((
                red,
                Some(err),
                reduction_s,
                Some(t1.elapsed().as_secs_f64()),
            ))
        })
        .map_err(errors::systems)?;
    let info = PyDict::new(py);
    info.set_item("method", method)?;
    info.set_item(
        "time",
        match sys.sampling() {
            Sampling::Continuous => "continuous",
            Sampling::Discrete { .. } => "discrete",
        },
    )?;
    info.set_item("n", n)?;
    info.set_item("order", red.order)?;
    info.set_item("stable_order", red.stable_order)?;
    info.set_item("unstable_order", red.unstable_order)?;
    info.set_item("minimal_order", red.minimal_order)?;
    info.set_item("hsv", red.hsv.clone())?;
    info.set_item("error_bound", red.error_bound)?;
    info.set_item("error_lower_bound", red.error_lower_bound)?;
    if let Some((err, prof)) = &err {
        // as `dln reduce --json`: the route, and k and tau_k of the balanced-tail route
        info.set_item("hinf_route", prof.route.name())?;
        if let Some(k) = prof.route.certificate_order() {
            info.set_item("hinf_certificate_order", k)?;
        }
        if let Some(t) = prof.route.tail_bound() {
            info.set_item("hinf_tail_bound", t)?;
        }
        info.set_item("hinf_error", err.value)?;
        info.set_item("hinf_frequency", err.frequency)?;
        let c = red.compare_error(err);
        let check = PyDict::new(py);
        check.set_item("status", c.status.name())?;
        check.set_item("ratio", c.ratio)?;
        check.set_item("excess", c.excess)?;
        check.set_item("rounding", c.rounding)?;
        check.set_item("sensitivity", c.sensitivity)?;
        check.set_item("slow_mode_indicator", red.slow_mode_indicator)?;
        info.set_item("bound_check", check)?;
    } else {
        info.set_item(
            "hinf_skipped",
            "not computed (hinf=False); the a-priori bounds still hold",
        )?;
    }
    let timing = PyDict::new(py);
    timing.set_item("reduction_s", reduction_s)?;
    if let Some(t) = hinf_error_s {
        timing.set_item("hinf_error_s", t)?;
    }
    info.set_item("timing", timing)?;
    let s = &red.system;
    Ok((
        to_numpy(py, s.a()),
        to_numpy(py, s.b()),
        to_numpy(py, s.c()),
        to_numpy(py, s.d()),
        info,
    )
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

/// _time_hsv(A, B, C)
/// --
///
/// Seconds taken by the library call `hankel_singular_values_with` alone (no conversion, no result
/// building; stability is checked inside it, as in `dln.hsv`): the reference for the call
/// overhead in `python -m dln.bench`.
#[pyfunction]
pub fn _time_hsv(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    c: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    let sys = system(a, b, c, None, None)?;
    let (r, secs) = py.detach(|| {
        let t0 = std::time::Instant::now();
        // The work of `dln.hsv` with its defaults (equil=True).
        let opts = GramianOptions {
            equilibrate: true,
            ..Default::default()
        };
        let r = hankel_singular_values_with(&sys, opts);
        (r, t0.elapsed().as_secs_f64())
    });
    r.map_err(errors::systems)?;
    Ok(secs)
}

/// bayesian_bt(A, B, C, noise=None, order=None, data=None, dt=None)
/// --
///
/// Bayesian balanced truncation of the initial-state inference problem (see `dln.bayesian_bt`).
#[pyfunction]
#[pyo3(signature = (a, b, c, noise=None, order=None, data=None, dt=None))]
pub fn bayesian_bt<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    c: &Bound<'py, PyAny>,
    noise: Option<&Bound<'py, PyAny>>,
    order: Option<usize>,
    data: Option<&Bound<'py, PyAny>>,
    dt: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let sys = system(a, b, c, None, dt)?;
    let n = sys.order();
    let noise = noise.map(|g| real_mat(g, "noise")).transpose()?;
    let data = data.map(|x| real_mat(x, "b")).transpose()?;
    if let Some(x) = &data {
        if x.nrows() != n {
            return Err(PyValueError::new_err(format!(
                "b: has {} rows but the state dimension is n = {n}",
                x.nrows()
            )));
        }
        if let Err(e) = dln::linalg::check_finite(x.as_ref()) {
            return Err(PyValueError::new_err(format!("b: {e}")));
        }
    }
    if let Some(r) = order {
        if r > n {
            return Err(PyValueError::new_err(format!(
                "order {r} exceeds the state dimension n = {n}"
            )));
        }
    }
    let err = |e| errors::bayes("", e);
    let out = py.detach(|| -> Result<_, dln::bayes::BayesError> {
        let bb = BayesianBalancing::new(&sys, noise.as_ref().map(|g| g.as_ref()))?;
        let post = bb.posterior_covariance();
        let errs = (0..=n)
            .map(|r| bb.optimal_forstner_sq(r))
            .collect::<Result<Vec<f64>, _>>()?;
        let mean = data.as_ref().map(|x| bb.posterior_mean(x.as_ref()));
        let reduced = match order {
            Some(r) => {
                let opt = bb.optimal_update(r)?;
                let bt = bb.bt_posterior(r)?;
                let d_bt = forstner_distance_sq(post.as_ref(), bt.covariance.as_ref())?;
                Some((opt, bt, d_bt))
            }
            None => None,
        };
        Ok((bb, post, errs, mean, reduced))
    });
    let (bb, post, errs, mean, reduced) = out.map_err(err)?;
    let d = PyDict::new(py);
    d.set_item(
        "time",
        match sys.sampling() {
            Sampling::Continuous => "continuous",
            Sampling::Discrete { .. } => "discrete",
        },
    )?;
    d.set_item("n", n)?;
    d.set_item("hsv", PyArray1::from_vec(py, bb.hsv().to_vec()))?;
    d.set_item(
        "prior_covariance",
        to_numpy(py, bb.prior_covariance().as_ref()),
    )?;
    d.set_item(
        "fisher_information",
        to_numpy(py, bb.fisher_information().as_ref()),
    )?;
    d.set_item("posterior_covariance", to_numpy(py, post.as_ref()))?;
    d.set_item(
        "balanced_posterior_diagonal",
        PyArray1::from_vec(py, bb.balanced_posterior_diagonal()),
    )?;
    d.set_item(
        "whitened_posterior_diagonal",
        PyArray1::from_vec(py, bb.whitened_posterior_diagonal()),
    )?;
    d.set_item(
        "pencil_eigenvectors",
        to_numpy(py, bb.pencil_eigenvectors().as_ref()),
    )?;
    d.set_item("optimal_forstner_sq", PyArray1::from_vec(py, errs))?;
    if let Some(m) = mean {
        d.set_item("posterior_mean", to_numpy(py, m.as_ref()))?;
    }
    if let Some((opt, bt, d_bt)) = reduced {
        d.set_item("order", bt.order)?;
        d.set_item("optimal_update", to_numpy(py, opt.as_ref()))?;
        d.set_item("bt_posterior", to_numpy(py, bt.covariance.as_ref()))?;
        d.set_item("bt_forstner_sq", d_bt)?;
        d.set_item("reduced_fisher", to_numpy(py, bt.reduced_fisher.as_ref()))?;
        let s = &bt.reduced;
        d.set_item(
            "reduced",
            (
                to_numpy(py, s.a()),
                to_numpy(py, s.b()),
                to_numpy(py, s.c()),
            ),
        )?;
    }
    Ok(d)
}
