//! The runner of `cargo xtask verify`: runs the registered checks, prints the table, writes JSON.
//!
//! See [`crate::checks`] for how a check is written and registered.

use crate::checks::{self, Check};
use dln_linalg::random::{StdRng, rng};
use serde::Serialize;
use std::fmt;
use std::time::Instant;

/// One instance's outcome: a relative residual and the tolerance it must not exceed.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Which instance (field, depth, widths, sub-claim).
    pub label: String,
    /// The relative residual (non-negative; NaN counts as a failure).
    pub residual: f64,
    /// The tolerance for this instance.
    pub tolerance: f64,
}

impl Sample {
    /// `residual <= tolerance`, false for NaN.
    pub fn passed(&self) -> bool {
        self.residual <= self.tolerance
    }
    /// `residual / tolerance` (infinite when the tolerance is zero and the residual is not).
    pub fn ratio(&self) -> f64 {
        if self.residual.is_nan() {
            f64::INFINITY
        } else if self.tolerance > 0.0 {
            self.residual / self.tolerance
        } else if self.residual > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }
}

/// An error that aborts a check (it then fails): a library error or an explicit message.
///
/// Any `std::error::Error` converts with `?`; use [`CheckError::msg`] for a message.
/// (Like `anyhow::Error`, this type deliberately does not implement `Error` itself.)
#[derive(Debug)]
pub struct CheckError(pub String);

impl CheckError {
    /// An error with a message.
    pub fn msg(m: impl Into<String>) -> Self {
        Self(m.into())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for CheckError {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a check returns.
pub type CheckResult = Result<(), CheckError>;

/// The context handed to a check: its own seeded generator, the size regime, and the sample log.
pub struct Ctx {
    rng: StdRng,
    thorough: bool,
    samples: Vec<Sample>,
}

impl Ctx {
    /// A context whose generator is seeded from the run seed and the check id, so that a check's
    /// instances do not depend on which other checks run (`--filter`).
    pub fn new(seed: u64, id: &str, thorough: bool) -> Self {
        Self {
            rng: rng(seed ^ fnv1a(id)),
            thorough,
            samples: Vec::new(),
        }
    }

    /// The check's seeded generator.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// `true` under `--thorough`.
    pub fn thorough(&self) -> bool {
        self.thorough
    }

    /// Random instances per configuration: 2 by default, 5 under `--thorough`.
    pub fn reps(&self) -> usize {
        if self.thorough { 5 } else { 2 }
    }

    /// Square configurations `(N, d)`: depths 2..5 and widths 1..4 by default, larger under `--thorough`.
    pub fn square_shapes(&self) -> Vec<(usize, usize)> {
        let mut v = vec![(2, 1), (2, 3), (3, 2), (4, 3), (5, 2), (3, 4)];
        if self.thorough {
            v.extend([(2, 6), (4, 5), (6, 4), (8, 3), (5, 6)]);
        }
        v
    }

    /// Rectangular width profiles $d_0,\dots,d_N$ (with bottlenecks, so that $X$ may be rank-deficient).
    pub fn general_widths(&self) -> Vec<Vec<usize>> {
        let mut v = vec![
            vec![3, 2],
            vec![2, 4, 3],
            vec![4, 2, 5],
            vec![3, 5, 2, 4],
            vec![2, 3, 4, 3, 2],
        ];
        if self.thorough {
            v.extend([
                vec![6, 3, 7, 5],
                vec![5, 8, 2, 6, 4],
                vec![7, 7, 4, 7, 7, 3],
            ]);
        }
        v
    }

    /// Records an instance: `residual <= tolerance` must hold.
    pub fn record(&mut self, label: impl Into<String>, residual: f64, tolerance: f64) {
        self.samples.push(Sample {
            label: label.into(),
            residual,
            tolerance,
        });
    }

    /// Records an inequality `value >= bound` (up to `tolerance`): the residual is
    /// $\max(0, \text{bound} - \text{value})$.
    pub fn record_ge(&mut self, label: impl Into<String>, value: f64, bound: f64, tolerance: f64) {
        let r = if value.is_nan() || bound.is_nan() {
            f64::NAN
        } else {
            (bound - value).max(0.0)
        };
        self.record(label, r, tolerance);
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Check id.
    pub id: String,
    /// Paper reference.
    pub paper: String,
    /// The claim.
    pub statement: String,
    /// The API items that implement the claim.
    pub api: Vec<String>,
    /// Number of recorded instances.
    pub instances: usize,
    /// Residual of the worst instance (largest residual/tolerance ratio).
    pub max_residual: f64,
    /// Tolerance of that instance.
    pub tolerance: f64,
    /// Largest residual/tolerance ratio (below 1 means pass).
    pub worst_ratio: f64,
    /// Label of the worst instance.
    pub worst_instance: String,
    /// All instances passed, at least one was recorded, and the check raised no error.
    pub passed: bool,
    /// The error that aborted the check, if any.
    pub error: Option<String>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Runs one check and summarises it.
pub fn run_check(check: &Check, seed: u64, thorough: bool) -> Report {
    let mut cx = Ctx::new(seed, check.id, thorough);
    let t0 = Instant::now();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (check.run)(&mut cx)));
    let seconds = t0.elapsed().as_secs_f64();
    let error = match outcome {
        Ok(Ok(())) if cx.samples.is_empty() => Some(CheckError::msg("no instance recorded").0),
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.0),
        Err(p) => Some(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .map(String::as_str)
                .or(p.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    };
    let worst = cx
        .samples
        .iter()
        .max_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    let passed = error.is_none() && !cx.samples.is_empty() && cx.samples.iter().all(Sample::passed);
    Report {
        id: check.id.to_string(),
        paper: check.paper.to_string(),
        statement: check.statement.to_string(),
        api: check.api.iter().map(|p| (*p).to_string()).collect(),
        instances: cx.samples.len(),
        max_residual: worst.map_or(f64::NAN, |s| s.residual),
        tolerance: worst.map_or(f64::NAN, |s| s.tolerance),
        worst_ratio: worst.map_or(f64::NAN, Sample::ratio),
        worst_instance: worst.map_or_else(String::new, |s| s.label.clone()),
        passed,
        error,
        seconds,
    }
}

/// Options of `cargo xtask verify`.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Run seed.
    pub seed: u64,
    /// More and larger instances.
    pub thorough: bool,
    /// Only checks whose id contains this substring.
    pub filter: Option<String>,
    /// Write the JSON report here.
    pub json: Option<std::path::PathBuf>,
    /// List the checks instead of running them.
    pub list: bool,
    /// With `list`: print the list as the Markdown table of the theory guide.
    pub markdown: bool,
    /// Write a Markdown report (seed, instances, worst residual, tolerance, pass, coverage) here.
    pub report: Option<std::path::PathBuf>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    seed: u64,
    thorough: bool,
    checks: &'a [Report],
}

/// Runs the registry with the given options and returns the reports (without printing).
#[cfg(test)]
pub fn run_registry(opts: &VerifyOptions) -> Vec<Report> {
    checks::registry()
        .iter()
        .filter(|c| opts.filter.as_deref().is_none_or(|f| c.id.contains(f)))
        .map(|c| run_check(c, opts.seed, opts.thorough))
        .collect()
}

/// `cargo xtask verify`: returns whether every selected check passed.
pub fn verify(opts: &VerifyOptions) -> Result<bool, String> {
    if opts.list {
        let registry = checks::registry();
        if opts.markdown {
            print!("{}", markdown_table(&registry));
        } else {
            for c in &registry {
                println!("{:<34} {:<24} {}", c.id, c.paper, c.statement);
                println!("{:<34} api: {}", "", c.api.join(", "));
            }
            println!("\n{}", coverage_line(registry.iter().map(|c| c.id)));
        }
        return Ok(true);
    }
    // Default panic output would interleave with the table; the runner reports panics itself.
    std::panic::set_hook(Box::new(|_| {}));
    let t0 = Instant::now();
    println!(
        "{:<4}  {:<34} {:<24} {:>5} {:>10} {:>10}  statement",
        "", "id", "paper", "inst", "residual", "tolerance"
    );
    let mut reports = Vec::new();
    for c in checks::registry()
        .iter()
        .filter(|c| opts.filter.as_deref().is_none_or(|f| c.id.contains(f)))
    {
        let r = run_check(c, opts.seed, opts.thorough);
        println!(
            "{:<4}  {:<34} {:<24} {:>5} {:>10.2e} {:>10.2e}  {}",
            if r.passed { "ok" } else { "FAIL" },
            r.id,
            r.paper,
            r.instances,
            r.max_residual,
            r.tolerance,
            r.statement
        );
        if !r.passed {
            if let Some(e) = &r.error {
                println!("      error: {e}");
            }
            println!(
                "      worst instance: {} (residual/tolerance = {:.3e})",
                r.worst_instance, r.worst_ratio
            );
        }
        reports.push(r);
    }
    let _ = std::panic::take_hook();
    if reports.is_empty() {
        return Err(format!(
            "no check matches the filter {:?}",
            opts.filter.as_deref().unwrap_or("")
        ));
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.id.as_str())
        .collect();
    println!(
        "\n{} checks, {} passed, {} failed (seed {}{}) in {:.1} s",
        reports.len(),
        reports.len() - failed.len(),
        failed.len(),
        opts.seed,
        if opts.thorough { ", thorough" } else { "" },
        t0.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        println!("failed: {}", failed.join(", "));
    }
    if let Some(path) = &opts.report {
        let text = markdown_report(opts, &reports, t0.elapsed().as_secs_f64());
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = &opts.json {
        let doc = JsonReport {
            seed: opts.seed,
            thorough: opts.thorough,
            checks: &reports,
        };
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(failed.is_empty())
}

/// The number of claims in theory.md §8.
pub const CLAIMS: u32 = 36;

/// The §8 claim numbers a check id covers: `claim05-…` covers 5, `claim26-27-…` covers 26 and 27;
/// ids without a `claimNN` prefix cover none.
pub fn claims_of(id: &str) -> Vec<u32> {
    let Some(rest) = id.strip_prefix("claim") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in rest.split('-') {
        match part.parse::<u32>() {
            Ok(n) if (1..=CLAIMS).contains(&n) => out.push(n),
            _ => break,
        }
    }
    out
}

/// `claims checked: 33/36 (missing: 31, 32, 34)` for the given check ids.
pub fn coverage_line<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let covered: std::collections::BTreeSet<u32> = ids.into_iter().flat_map(claims_of).collect();
    let missing: Vec<String> = (1..=CLAIMS)
        .filter(|n| !covered.contains(n))
        .map(|n| n.to_string())
        .collect();
    let mut line = format!("claims of theory.md §8 checked: {}/{CLAIMS}", covered.len());
    if !missing.is_empty() {
        line.push_str(&format!(" (missing: {})", missing.join(", ")));
    }
    line
}

/// A Markdown table cell: pipes escaped, no line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The theory guide's table: one row per check with its paper reference, statement and API items.
pub fn markdown_table(registry: &[Check]) -> String {
    let mut out =
        String::from("| check id | paper | statement (corrected) | API |\n|---|---|---|---|\n");
    for c in registry {
        let api: Vec<String> = c.api.iter().map(|p| format!("`{p}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.id,
            cell(c.paper),
            cell(c.statement),
            api.join("<br>")
        ));
    }
    out.push_str(&format!(
        "\n{}.\n",
        coverage_line(registry.iter().map(|c| c.id))
    ));
    out
}

/// The Markdown report of a run (`--report FILE.md`).
pub fn markdown_report(opts: &VerifyOptions, reports: &[Report], seconds: f64) -> String {
    let passed = reports.iter().filter(|r| r.passed).count();
    let mut out = format!(
        "# `cargo xtask verify` report\n\nseed {}{}{}; {} checks, {} passed, {} failed; {:.1} s.\n\n{}.\n\n",
        opts.seed,
        if opts.thorough { ", thorough" } else { "" },
        opts.filter
            .as_deref()
            .map_or_else(String::new, |f| format!(", filter `{f}`")),
        reports.len(),
        passed,
        reports.len() - passed,
        seconds,
        coverage_line(reports.iter().map(|r| r.id.as_str()))
    );
    out.push_str(
        "Each check runs seeded random instances; the worst instance is the one with the largest \
         residual/tolerance ratio.\n\n\
         | pass | check id | paper | instances | worst residual | tolerance | worst instance | s |\n\
         |---|---|---|---:|---:|---:|---|---:|\n",
    );
    for r in reports {
        let status = match (&r.error, r.passed) {
            (_, true) => "ok".to_string(),
            (Some(e), false) => format!("**FAIL**: {}", cell(e)),
            (None, false) => "**FAIL**".to_string(),
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {:.2e} | {:.2e} | {} | {:.2} |\n",
            status,
            r.id,
            cell(&r.paper),
            r.instances,
            r.max_residual,
            r.tolerance,
            cell(&r.worst_instance),
            r.seconds
        ));
    }
    out
}
