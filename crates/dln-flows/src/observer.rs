//! Observers: the only channel through which a run reports progress.
//!
//! Core crates never print. A run calls [`Observer::on_start`] once, [`Observer::on_step`] after
//! every accepted step (or iteration) and [`Observer::on_finish`] once. Returning
//! [`ControlFlow::Break`] from `on_start`/`on_step` stops the run cleanly: the run returns what it
//! has, with [`Termination::Interrupted`]. `()` is the null observer.
//!
//! # Examples
//! ```
//! use dln_flows::{Observer, Progress};
//! use std::ops::ControlFlow;
//! /// Stops any run after 10 steps.
//! struct Budget(usize);
//! impl<T: dln_linalg::Scalar> Observer<Progress<'_, T>> for Budget {
//!     fn on_step(&mut self, p: &Progress<'_, T>) -> ControlFlow<()> {
//!         if p.stats.n_steps >= self.0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
//!     }
//! }
//! ```

use crate::integrator::FlowStats;
use dln_linalg::Scalar;
use faer::Mat;
use std::ops::ControlFlow;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// The stop time (or the requested number of iterations) was reached.
    StopTimeReached,
    /// An observer returned [`ControlFlow::Break`].
    Interrupted,
}

/// What an observer sees after each accepted step.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a, T: Scalar> {
    /// Current time (for gradient descent: iteration count times the step size).
    pub t: f64,
    /// Last accepted step size.
    pub h: f64,
    /// Final time of the run.
    pub t_end: f64,
    /// Current weights, input layer first.
    pub weights: &'a [Mat<T>],
    /// Counters.
    pub stats: FlowStats,
}

/// A progress hook. All methods default to doing nothing and continuing.
pub trait Observer<S: ?Sized> {
    /// Called once before the first step; `name` identifies the run (e.g. `"l2"`).
    fn on_start(&mut self, name: &str, s: &S) -> ControlFlow<()> {
        let _ = (name, s);
        ControlFlow::Continue(())
    }
    /// Called after every accepted step.
    fn on_step(&mut self, s: &S) -> ControlFlow<()> {
        let _ = s;
        ControlFlow::Continue(())
    }
    /// Called once at the end of a run that did not fail.
    fn on_finish(&mut self, s: &S, why: &Termination) {
        let _ = (s, why);
    }
}

impl<S: ?Sized> Observer<S> for () {}

impl<S: ?Sized, O: Observer<S> + ?Sized> Observer<S> for &mut O {
    fn on_start(&mut self, name: &str, s: &S) -> ControlFlow<()> {
        (**self).on_start(name, s)
    }
    fn on_step(&mut self, s: &S) -> ControlFlow<()> {
        (**self).on_step(s)
    }
    fn on_finish(&mut self, s: &S, why: &Termination) {
        (**self).on_finish(s, why)
    }
}

/// Throttling combinator: forwards only every `n`-th `on_step` (start and finish always).
#[derive(Debug, Clone)]
pub struct Every<O> {
    n: usize,
    count: usize,
    inner: O,
}

/// Wraps `inner` so that it sees only every `n`-th step (`n = 0` is treated as 1).
pub fn every<O>(n: usize, inner: O) -> Every<O> {
    Every {
        n: n.max(1),
        count: 0,
        inner,
    }
}

impl<O> Every<O> {
    /// The wrapped observer.
    pub fn into_inner(self) -> O {
        self.inner
    }
}

impl<S: ?Sized, O: Observer<S>> Observer<S> for Every<O> {
    fn on_start(&mut self, name: &str, s: &S) -> ControlFlow<()> {
        self.inner.on_start(name, s)
    }
    fn on_step(&mut self, s: &S) -> ControlFlow<()> {
        self.count += 1;
        if self.count % self.n == 0 {
            self.inner.on_step(s)
        } else {
            ControlFlow::Continue(())
        }
    }
    fn on_finish(&mut self, s: &S, why: &Termination) {
        self.inner.on_finish(s, why)
    }
}

/// An observer from a closure called on every step.
pub struct FnObserver<F>(pub F);

impl<'a, T: Scalar, F: FnMut(&Progress<'a, T>) -> ControlFlow<()>> Observer<Progress<'a, T>>
    for FnObserver<F>
{
    fn on_step(&mut self, s: &Progress<'a, T>) -> ControlFlow<()> {
        (self.0)(s)
    }
}
