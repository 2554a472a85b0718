//! Adaptive integrators for flows on weight tuples $\mathbf W = (W_N,\dots,W_1)$.
//!
//! Two kinds of right-hand side:
//! - a general [`VectorField`], $\dot{\mathbf W} = f(t,\mathbf W)$, integrated by [`Dopri5`]
//!   (Dormand–Prince 5(4) with error control and dense output);
//! - an [`OrbitField`], whose velocity is an infinitesimal group action,
//!   $$\dot{\mathbf W} = \mathbf w_{\mathbf a(t,\mathbf W)},\qquad (\mathbf w_{\mathbf a})_k = a_kW_k - W_ka_{k-1},$$
//!   integrated by [`Rkmk5`] (Runge–Kutta–Munthe-Kaas on the Dormand–Prince tableau). Every stage and
//!   every output is $e^{\mathbf u}\cdot\mathbf W_n$ for some $\mathbf u\in\mathfrak g$, applied with the exact inverse
//!   $e^{-\mathbf u}$, so $X = W_N\cdots W_1$ is preserved to rounding rather than to the tolerance.
//!
//! Both implement [`Integrator`]: `step`, `set_stop_time`, `interpolate` and the provided
//! [`Integrator::solve`] / [`Integrator::solve_dense`], which report through an [`Observer`].
//!
//! # Examples
//! Exponential decay $\dot W = -W$ on a single $2\times2$ layer:
//! ```
//! use dln_flows::{Dopri5, FlowBuilder, Integrator};
//! use faer::Mat;
//! let f = |_t: f64, w: &[Mat<f64>]| -> dln_flows::Result<Vec<Mat<f64>>> {
//!     Ok(w.iter().map(|m| -m.clone()).collect())
//! };
//! let opts = FlowBuilder::new().rtol(1e-10).atol(1e-12).build().unwrap();
//! let mut rk = Dopri5::new(f, 0.0, vec![Mat::<f64>::identity(2, 2)], opts);
//! rk.solve(1.0, &mut ()).unwrap();
//! assert!((rk.weights()[0][(0, 0)] - (-1.0f64).exp()).abs() < 1e-9);
//! ```

mod dormand_prince;

pub use dormand_prince::{Dopri5, OnOrbit, Rkmk5, dexp_inv, lie_bracket};

use crate::observer::{Observer, Progress, Termination};
use crate::{FlowError, Result};
use dln_algebra::Network;
use dln_linalg::Scalar;
use faer::Mat;
use std::ops::ControlFlow;

/// A right-hand side $\dot{\mathbf W} = f(t,\mathbf W)$ on tuples of matrices (input layer first).
///
/// Closures `FnMut(f64, &[Mat<T>]) -> Result<Vec<Mat<T>>>` implement it.
pub trait VectorField<T: Scalar> {
    /// $f(t,\mathbf W)$, with the shapes of $\mathbf W$.
    ///
    /// # Errors
    /// Whatever the field's own computation raises.
    fn eval(&mut self, t: f64, w: &[Mat<T>]) -> Result<Vec<Mat<T>>>;
}

impl<T: Scalar, F: FnMut(f64, &[Mat<T>]) -> Result<Vec<Mat<T>>>> VectorField<T> for F {
    fn eval(&mut self, t: f64, w: &[Mat<T>]) -> Result<Vec<Mat<T>>> {
        self(t, w)
    }
}

/// A flow along group orbits: $\dot{\mathbf W} = \mathbf w_{\mathbf a(t,\mathbf W)}$ for a generator
/// $\mathbf a\in\mathfrak g = \prod_{k=1}^{N-1}\mathfrak{gl}(d_k)$.
pub trait OrbitField<T: Scalar> {
    /// The generator $\mathbf a(t,\mathbf W)$: $N-1$ square matrices, entry `k-1` of size $d_k\times d_k$.
    ///
    /// # Errors
    /// Whatever the field's own computation raises.
    fn generator(&mut self, t: f64, w: &Network<T>) -> Result<Vec<Mat<T>>>;
}

/// Counters of an integration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Accepted steps.
    pub n_steps: usize,
    /// Rejected steps.
    pub n_rejected: usize,
    /// Evaluations of the right-hand side (vector field or generator).
    pub n_evals: usize,
}

/// What a call to [`Integrator::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// An accepted step; the stop time is not reached yet.
    Stepped,
    /// The state is at the stop time (after this step, or already before it).
    StopTimeReached,
}

/// Samples of a trajectory at requested times.
#[derive(Debug, Clone)]
pub struct Trajectory<T: Scalar> {
    /// Sample times (the requested ones reached before any interruption).
    pub t: Vec<f64>,
    /// Weights at those times, input layer first.
    pub w: Vec<Vec<Mat<T>>>,
    /// Why the run ended.
    pub termination: Termination,
    /// Counters at the end.
    pub stats: FlowStats,
}

/// An adaptive one-step integrator of a flow on weight tuples.
pub trait Integrator<T: Scalar> {
    /// Current time.
    fn t(&self) -> f64;
    /// Step size to be tried next.
    fn h(&self) -> f64;
    /// Current weights, input layer first.
    fn weights(&self) -> &[Mat<T>];
    /// Counters.
    fn stats(&self) -> FlowStats;
    /// Sets the time the integration must hit exactly and not pass.
    ///
    /// # Errors
    /// [`FlowError::TimeOutOfRange`] if `t` is before the current time.
    fn set_stop_time(&mut self, t: f64) -> Result<()>;
    /// One accepted step (rejected attempts are retried internally).
    ///
    /// # Errors
    /// [`FlowError::StepSizeTooSmall`] when the controller cannot meet the tolerance,
    /// [`FlowError::Diverged`] when the field is not finite at the current state, and the
    /// field's own errors.
    fn step(&mut self) -> Result<StepOutcome>;
    /// The weights at time `t` within the last accepted step, from the dense output (order 4).
    ///
    /// # Errors
    /// [`FlowError::TimeOutOfRange`] outside the last step.
    fn interpolate(&self, t: f64) -> Result<Vec<Mat<T>>>;

    /// Integrates to `t_end`, reporting every accepted step to `obs`.
    ///
    /// # Errors
    /// As [`Integrator::step`], plus [`FlowError::MaxStepsReached`].
    fn solve<O>(&mut self, t_end: f64, obs: &mut O) -> Result<Termination>
    where
        Self: Sized,
        O: for<'a> Observer<Progress<'a, T>>,
    {
        Ok(self.solve_dense(&[t_end], obs)?.termination)
    }

    /// Integrates to the last of `t_eval` (non-decreasing, not before the current time) and returns
    /// the weights at every `t_eval`, interpolated with the dense output (exact at the end point).
    ///
    /// # Errors
    /// As [`Integrator::solve`]; [`FlowError::TimeOutOfRange`] for times before the current one.
    ///
    /// # Panics
    /// If `t_eval` is empty or decreasing.
    #[track_caller]
    fn solve_dense<O>(&mut self, t_eval: &[f64], obs: &mut O) -> Result<Trajectory<T>>
    where
        Self: Sized,
        O: for<'a> Observer<Progress<'a, T>>,
    {
        assert!(!t_eval.is_empty(), "solve_dense: no output times");
        assert!(
            t_eval.windows(2).all(|p| p[0] <= p[1]),
            "solve_dense: output times must be non-decreasing"
        );
        let t_end = *t_eval.last().expect("non-empty");
        self.set_stop_time(t_end)?;
        let start = self.stats();
        let mut out = Trajectory {
            t: Vec::new(),
            w: Vec::new(),
            termination: Termination::StopTimeReached,
            stats: start,
        };
        let mut next = 0;
        // Rounding tolerance for comparing times, relative to the span's magnitude (not to 1: a
        // flow on the time scale 2^-500 must not see t_end = 10·2^-500 as "already reached").
        let span = t_end.abs().max(self.t().abs());
        let tol = |t: f64| 1e-13 * t.abs().max(span);
        while next < t_eval.len() && t_eval[next] <= self.t() + tol(self.t()) {
            if t_eval[next] < self.t() - tol(self.t()) {
                return Err(FlowError::TimeOutOfRange {
                    requested: t_eval[next],
                    from: self.t(),
                    to: t_end,
                });
            }
            out.t.push(t_eval[next]);
            out.w.push(self.weights().to_vec());
            next += 1;
        }
        fn progress<T: Scalar, I: Integrator<T>>(s: &I, t_end: f64) -> Progress<'_, T> {
            Progress {
                t: s.t(),
                h: s.h(),
                t_end,
                weights: s.weights(),
                stats: s.stats(),
            }
        }
        if obs.on_start("integrate", &progress(self, t_end)).is_break() {
            out.termination = Termination::Interrupted;
        }
        let max_steps = self.max_steps();
        while out.termination == Termination::StopTimeReached && next < t_eval.len() {
            if self.stats().n_steps - start.n_steps >= max_steps {
                return Err(FlowError::MaxStepsReached {
                    t: self.t(),
                    max_steps,
                });
            }
            let outcome = self.step()?;
            while next < t_eval.len()
                && (t_eval[next] <= self.t() || outcome == StepOutcome::StopTimeReached)
            {
                out.t.push(t_eval[next]);
                let at_end = (t_eval[next] - self.t()).abs() <= tol(self.t());
                out.w.push(if at_end {
                    self.weights().to_vec()
                } else {
                    self.interpolate(t_eval[next])?
                });
                next += 1;
            }
            if let ControlFlow::Break(()) = obs.on_step(&progress(self, t_end)) {
                out.termination = Termination::Interrupted;
            }
        }
        out.stats = self.stats();
        obs.on_finish(&progress(self, t_end), &out.termination);
        Ok(out)
    }

    /// The step budget of one `solve`/`solve_dense` call.
    fn max_steps(&self) -> usize;
}
