//! Resource limits shared by every command: how much memory one run may plan to use, and how
//! much work (integrator steps) it may plan to do.
//!
//! # Memory
//! Sizes that come from the user (array shapes in a file, `--widths`, `--samples`) are checked
//! *before* anything is allocated: the estimated number of bytes must not exceed the limit, which
//! is the value of the environment variable `DLN_MEMORY_LIMIT` (bytes, with an optional `K`, `M`
//! or `G` suffix, powers of 1024) or, by default, half of the machine's physical memory
//! (`MemTotal` of `/proc/meminfo`; 8 GiB where that cannot be read). A refusal names the flag or
//! array and both numbers.
//!
//! # Work
//! - `--samples` (reported series of `flow` and `train`) is at most [`MAX_SAMPLES`].
//! - Adaptive integrations (`flow`, `train --t-end`) take at most `--max-steps` steps (default
//!   [`DEFAULT_MAX_STEPS`]); a run whose step count, extrapolated from its current step size,
//!   would exceed [`STEP_BUDGET_SLACK`] times that limit is stopped early with a message naming
//!   `--t-end` and `--max-steps` instead of grinding to the limit (see [`StepBudget`]).
//!   Gradient descent (`train --steps S`) refuses `S` above `--max-steps` up front.

use crate::error::{CliError, Result};

/// Memory assumed when the machine's memory cannot be read.
const FALLBACK_MEMORY: u64 = 8 << 30;

/// Parses `123`, `64K`, `512M`, `2G` (powers of 1024).
fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The machine's physical memory in bytes, if it can be read.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory limit of one run in bytes (see the module documentation).
pub fn memory_limit() -> u64 {
    if let Some(v) = std::env::var_os("DLN_MEMORY_LIMIT") {
        if let Some(b) = v.to_str().and_then(parse_bytes) {
            return b;
        }
    }
    physical_memory().unwrap_or(FALLBACK_MEMORY) / 2
}

/// `1.5 GiB`, `12 MiB`, `300 bytes`.
pub fn human_bytes(b: u128) -> String {
    const UNITS: [(&str, u128); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, size) in UNITS {
        if b >= size {
            return format!("{:.1} {name}", b as f64 / size as f64);
        }
    }
    format!("{b} bytes")
}

/// Checks that `bytes` (an estimate of what `what` needs) fits the memory limit.
///
/// # Errors
/// A [`CliError`] naming `what` (e.g. `--widths 2,100000000,2`) and both sizes.
pub fn check_memory(what: &str, bytes: u128) -> Result<()> {
    let limit = memory_limit();
    if bytes > u128::from(limit) {
        return Err(CliError::new(format!(
            "{what} needs about {} of memory, more than the limit of {} \
             (half the machine's memory; set DLN_MEMORY_LIMIT to change it)",
            human_bytes(bytes),
            human_bytes(u128::from(limit))
        )));
    }
    Ok(())
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
    fn byte_sizes_parse() {
        assert_eq!(parse_bytes("123"), Some(123));
        assert_eq!(parse_bytes("2K"), Some(2048));
        assert_eq!(parse_bytes("3M"), Some(3 << 20));
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes("99999999999999999999G"), None);
    }

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
