//! Resource limits shared by every command: how much memory one run may plan to use, and how
//! much work (integrator steps) it may plan to do.
//!
//! # Memory
//! Sizes that come from the user (array shapes in a file, `--widths`, `--samples`) are checked
//! *before* anything is allocated: the estimated number of bytes must not exceed the limit of
//! [`dln::resources`] (the environment variable `DLN_MEMORY_LIMIT`, or half of the machine's
//! physical memory). A refusal names the flag or array and both numbers.
//!
//! # Work
//! - `--samples` (reported series of `flow` and `train`) is at most [`MAX_SAMPLES`].
//! - Adaptive integrations (`flow`, `train --t-end`) take at most `--max-steps` steps (default
//!   [`DEFAULT_MAX_STEPS`]); a run whose step count, extrapolated from its current step size,
//!   would exceed [`STEP_BUDGET_SLACK`] times that limit is stopped early with a message naming
//!   `--t-end` and `--max-steps` instead of grinding to the limit (see [`StepBudget`]).
//!   Gradient descent (`train --steps S`) refuses `S` above `--max-steps` up front.

use crate::error::{CliError, Result};

/// Checks that `bytes` (an estimate of what `what` needs) fits the memory limit
/// ([`dln::resources::memory_limit`], shared with the Python package).
///
/// # Errors
/// A [`CliError`] naming `what` (e.g. `--widths 2,100000000,2`) and both sizes.
pub fn check_memory(what: &str, bytes: u128) -> Result<()> {
    dln::resources::check_memory(what, bytes).map_err(|e| CliError::new(e.to_string()))
}

/// Largest accepted `--samples`.
pub const MAX_SAMPLES: usize = 100_000;

/// Default `--max-steps` of the adaptive integrations.
pub const DEFAULT_MAX_STEPS: usize = 100_000;

/// A run is stopped early when its extrapolated step count exceeds this multiple of
/// `--max-steps` (step sizes of the flows grow as they converge, so the extrapolation from the
/// current step size over-estimates; the slack keeps legitimate runs going).
pub const STEP_BUDGET_SLACK: f64 = 8.0;

/// Accepted steps before the first extrapolation.
const STEP_BUDGET_WARMUP: usize = 64;

/// Checks `--samples K`: $2\le K\le$ [`MAX_SAMPLES`].
///
/// # Errors
/// A message naming `--samples`.
pub fn check_samples(k: usize) -> Result<()> {
    if k < 2 {
        return Err(CliError::new(format!(
            "--samples must be at least 2, got {k}"
        )));
    }
    if k > MAX_SAMPLES {
        return Err(CliError::new(format!(
            "--samples must be at most {MAX_SAMPLES}, got {k}"
        )));
    }
    Ok(())
}

/// Watches an adaptive integration and decides, from its progress, whether `t_end` is
/// reachable within `max_steps` (see the module documentation).
#[derive(Debug, Clone)]
pub struct StepBudget {
    max_steps: usize,
    refused: Option<String>,
}

impl StepBudget {
    /// A budget of `max_steps` accepted steps.
    pub fn new(max_steps: usize) -> Self {
        Self {
            max_steps,
            refused: None,
        }
    }

    /// Called after each accepted step: `steps` accepted so far, time `t`, last step size `h`,
    /// final time `t_end`. Returns `false` when the run should stop (the reason is kept for
    /// [`StepBudget::refusal`]). Extrapolates at `64, 128, 256, …` steps only.
    pub fn on_step(&mut self, steps: usize, t: f64, h: f64, t_end: f64) -> bool {
        if steps < STEP_BUDGET_WARMUP || !steps.is_power_of_two() || self.refused.is_some() {
            return self.refused.is_none();
        }
        let needed = steps as f64 + (t_end - t).max(0.0) / h.max(f64::MIN_POSITIVE);
        if needed > STEP_BUDGET_SLACK * self.max_steps as f64 {
            self.refused = Some(format!(
                "--t-end {t_end:?} is out of reach: after {steps} steps the run is at t = {t:.6e} \
                 with step size {h:.3e}, so it would need about {needed:.1e} steps, more than \
                 --max-steps {} (lower --t-end or raise --max-steps)",
                self.max_steps
            ));
            return false;
        }
        true
    }

    /// Why the run was stopped, if it was.
    pub fn refusal(&self) -> Option<&str> {
        self.refused.as_deref()
    }
}

/// Estimated peak memory of training a network of widths $d_0,\dots,d_N$: twelve copies of the
/// $\sum_k d_kd_{k-1}$ weights (integrator stages, gradient, work space) of `elem` bytes each,
/// plus two $d_N\times d_0$ products. Saturates instead of overflowing.
pub fn training_bytes(widths: &[usize], elem: u128) -> u128 {
    let params = widths.windows(2).fold(0u128, |acc, w| {
        acc.saturating_add((w[0] as u128).saturating_mul(w[1] as u128))
    });
    let ends = (widths[0] as u128).saturating_mul(*widths.last().unwrap_or(&0) as u128);
    params
        .saturating_mul(12)
        .saturating_add(ends.saturating_mul(2))
        .saturating_mul(elem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_refuse_absurd_sizes() {
        assert!(check_memory("--samples", 1).is_ok());
        let e = check_memory("--samples 18446744073709551615", u128::MAX).unwrap_err();
        assert!(e.to_string().contains("--samples"), "{e}");
        assert!(check_samples(usize::MAX).is_err());
        assert!(check_samples(1).is_err());
        assert!(check_samples(11).is_ok());
        assert!(training_bytes(&[2, usize::MAX, 2], 8) > 1 << 64);
    }

    #[test]
    fn step_budget_stops_unreachable_runs_only() {
        let mut b = StepBudget::new(1000);
        // Unit steps to t = 1e300: out of reach at the first check.
        assert!((1..64).all(|k| b.on_step(k, k as f64, 1.0, 1e300)));
        assert!(!b.on_step(64, 64.0, 1.0, 1e300));
        assert!(b.refusal().unwrap().contains("--max-steps 1000"));
        // Unit steps to t = 2000: needs 2000 steps, within the slack.
        let mut b = StepBudget::new(1000);
        assert!((1..=1024).all(|k| b.on_step(k, k as f64, 1.0, 2000.0)));
        assert!(b.refusal().is_none());
    }
}
