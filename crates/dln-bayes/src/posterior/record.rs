//! The bookkeeping every fiber sampler shares: the trace of $\|\mathbf W\|^2$ after burn-in
//! (for the batch-means mean, effective sample size and standard error), the thinned samples with
//! their constraint residuals $\|\varphi(\mathbf W) - X\|_F/\|X\|_F$ and moment norms, and the
//! observer's progress, one step per Markov transition.

use super::{batch_means, stopped};
use crate::error::{BayesError, Result};
use dln_algebra::Network;
use dln_flows::{FlowStats, Observer, Progress, Termination};
use dln_linalg::Scalar;
use faer::Mat;

/// Records a chain of `burn_in + samples × thin` transitions.
pub(crate) struct ChainRecorder<'x, T: Scalar> {
    name: &'static str,
    burn_in: usize,
    thin: usize,
    post: usize,
    x: &'x Mat<T>,
    x_norm: f64,
    trace: Vec<f64>,
    samples: Vec<Network<T>>,
    max_residual: f64,
    moment_sum: f64,
    stats: FlowStats,
}

/// What a finished chain hands back to its sampler.
pub(crate) struct Recorded<T: Scalar> {
    pub samples: Vec<Network<T>>,
    /// Transitions after burn-in ($\mathrm{samples}\times\mathrm{thin}$).
    pub post: usize,
    pub mean: f64,
    pub ess: f64,
    pub standard_error: f64,
    pub max_residual: f64,
    pub mean_moment_norm: f64,
}

impl<'x, T: Scalar> ChainRecorder<'x, T> {
    /// A recorder for the chain named `name` (the observer's label) on the fiber over `x`.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] when `samples × thin` overflows.
    pub(crate) fn new(
        name: &'static str,
        samples: usize,
        burn_in: usize,
        thin: usize,
        x: &'x Mat<T>,
        x_norm: f64,
    ) -> Result<Self> {
        let post = samples
            .checked_mul(thin)
            .ok_or(BayesError::InvalidParameter {
                name: "thin",
                value: thin as f64,
                reason: "samples × thin overflows the step count",
            })?;
        Ok(Self {
            name,
            burn_in,
            thin,
            post,
            x,
            x_norm,
            trace: Vec::with_capacity(post),
            samples: Vec::with_capacity(samples),
            max_residual: 0.0,
            moment_sum: 0.0,
            stats: FlowStats::default(),
        })
    }

    /// All transitions, burn-in included.
    pub(crate) fn total(&self) -> usize {
        self.burn_in + self.post
    }

    fn progress<'a>(&self, net: &'a Network<T>, done: usize) -> Progress<'a, T> {
        Progress {
            t: done as f64,
            h: 1.0,
            t_end: self.total() as f64,
            weights: net.layers(),
            stats: self.stats,
        }
    }

    /// Tells the observer that the chain starts at `net`.
    ///
    /// # Errors
    /// When the observer stops the run.
    pub(crate) fn start<O: for<'a> Observer<Progress<'a, T>> + ?Sized>(
        &self,
        obs: &mut O,
        net: &Network<T>,
    ) -> Result<()> {
        if obs.on_start(self.name, &self.progress(net, 0)).is_break() {
            return Err(stopped());
        }
        Ok(())
    }

    /// Records the state `net` (with $\|\mathbf W\|^2$ = `norm_sq`) after transition `step`
    /// (0-based): past the burn-in it joins the trace, and every `thin`-th one is kept as a
    /// sample; then the observer sees the progress.
    ///
    /// # Errors
    /// When the observer stops the run.
    pub(crate) fn record<O: for<'a> Observer<Progress<'a, T>> + ?Sized>(
        &mut self,
        obs: &mut O,
        step: usize,
        net: &Network<T>,
        norm_sq: f64,
    ) -> Result<()> {
        if step >= self.burn_in {
            self.trace.push(norm_sq);
            if (step - self.burn_in + 1) % self.thin == 0 {
                let r = net.product() - self.x;
                let res = dln_linalg::frob_sq(r.as_ref()).sqrt() / self.x_norm;
                self.max_residual = self.max_residual.max(res);
                self.moment_sum += net.moment_norm();
                self.samples.push(net.clone());
            }
        }
        self.stats.n_steps += 1;
        if obs.on_step(&self.progress(net, step + 1)).is_break() {
            return Err(stopped());
        }
        Ok(())
    }

    /// Tells the observer that the chain ended at `net`, and summarises the trace by batch means.
    pub(crate) fn finish<O: for<'a> Observer<Progress<'a, T>> + ?Sized>(
        self,
        obs: &mut O,
        net: &Network<T>,
    ) -> Recorded<T> {
        obs.on_finish(
            &self.progress(net, self.total()),
            &Termination::StopTimeReached,
        );
        let (mean, ess, standard_error) = batch_means(&self.trace);
        let kept = self.samples.len() as f64;
        Recorded {
            post: self.post,
            mean,
            ess,
            standard_error,
            max_residual: self.max_residual,
            mean_moment_norm: self.moment_sum / kept,
            samples: self.samples,
        }
    }
}
