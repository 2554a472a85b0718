//! `dln balance W.npz --out OUT.npz [--method auto|svd|orbit|newton] [--tol T] [--max-iter N]
//! [--json]`: Kempf–Ness balancing. Writes a balanced $\mathbf W'$ with the same end-to-end matrix $X$ and
//! $\|\mathbf W'\|_2^2 = N\sum_i\sigma_i(X)^{2/N}$, in the input's dtype.

use super::{Magnitude, Report, emit, num, positive_f64};
use crate::error::{CliError, Result};
use crate::io::{Element, check_output_file, dispatch, read_weights, write_weights};
use dln::algebra::{BalanceMethod, BalanceOptions, Network, balance};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// Balance the weights: the least-norm point of their fiber (same end-to-end matrix X), written to --out.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Weights: an .npz archive with arrays W1..WN (W1 = input layer, shape d1×d0).
    pub weights: PathBuf,
    /// Output .npz archive for the balanced weights W1..WN (same dtype as the input).
    #[arg(long, value_name = "OUT.npz")]
    pub out: PathBuf,
    /// auto = orbit; svd = closed form from the SVD of X (the centre of the fiber); orbit = the
    /// canonical minimizer p·W in closed form (polar frames); newton = Newton's method along the orbit.
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    pub method: Method,
    /// Converged when ‖μ‖ ≤ T·‖W‖² (newton method).
    #[arg(long, value_name = "T", default_value = "1e-13", value_parser = positive_f64)]
    pub tol: f64,
    /// Newton iteration cap (newton method).
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub max_iter: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// The library's default (`orbit`).
    Auto,
    /// Closed form from one SVD of the end-to-end matrix.
    Svd,
    /// The canonical minimizer $p\cdot\mathbf W$ in closed form (polar frames).
    Orbit,
    /// Newton's method along the group orbit (the iterative reference; `iterations` in the report).
    Newton,
}

impl From<Method> for BalanceMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Auto => BalanceMethod::Auto,
            Method::Svd => BalanceMethod::Svd,
            Method::Orbit => BalanceMethod::Orbit,
            Method::Newton => BalanceMethod::Newton,
        }
    }
}

/// The report of `dln balance`.
#[derive(Debug, Serialize)]
pub struct BalanceReport {
    /// Input file.
    pub file: String,
    /// Output file.
    pub out: String,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Depth $N$.
    pub depth: usize,
    /// Widths $d_0,\dots,d_N$.
    pub widths: Vec<usize>,
    /// The algorithm used (`svd`, `orbit` or `newton`).
    pub method: &'static str,
    /// Newton iterations (0 for the closed forms).
    pub iterations: usize,
    /// Inner (conjugate-gradient) iterations of the Newton directions.
    pub cg_iterations: usize,
    /// Newton steps whose direction needed the H-solve (non-square layers).
    pub h_solves: usize,
    /// Newton: relative gap of the last iterate itself, before the final canonical step (left out
    /// for the closed forms, where it does not apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterate_gap: Option<f64>,
    /// Whether the minimum was attained in the orbit of the input.
    pub orbit_closed: bool,
    /// $\|\mu(\mathbf W)\|$ (this and the other absolute norms are [`Magnitude`]s: strings when out
    /// of the `f64` range).
    pub moment_norm_before: Magnitude,
    /// $\|\mu(\mathbf W')\|$.
    pub moment_norm_after: Magnitude,
    /// $\|\mathbf W\|_2^2$.
    pub l2_norm_sq_before: Magnitude,
    /// $\|\mathbf W'\|_2^2$.
    pub l2_norm_sq_after: Magnitude,
    /// $N\sum_i\sigma_i(X)^{2/N}$.
    pub lower_bound: Magnitude,
    /// $(\|\mathbf W'\|_2^2-\text{bound})/\text{bound}$.
    pub gap: f64,
    /// $\|X'-X\|_F/\|X\|_F$.
    pub product_rel_change: f64,
}

impl Report for BalanceReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let widths = self
            .widths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" → ");
        let _ = writeln!(s, "file              {} → {}", self.file, self.out);
        let _ = writeln!(s, "dtype             {}", self.dtype);
        let _ = writeln!(s, "widths d0..dN     {widths}");
        let _ = writeln!(
            s,
            "method            {} ({} Newton, {} CG iterations; orbit {})",
            self.method,
            self.iterations,
            self.cg_iterations,
            if self.orbit_closed {
                "closed"
            } else {
                "not closed"
            }
        );
        let _ = writeln!(s, "                  before        after");
        let _ = writeln!(
            s,
            "‖μ‖               {:<14}{}",
            self.moment_norm_before.text(),
            self.moment_norm_after.text()
        );
        let _ = writeln!(
            s,
            "‖W‖²              {:<14}{}",
            self.l2_norm_sq_before.text(),
            self.l2_norm_sq_after.text()
        );
        let _ = writeln!(s, "N·Σσ^(2/N)        {}", self.lower_bound.text());
        let _ = writeln!(s, "gap               {}", num(self.gap));
        if let Some(g) = self.iterate_gap {
            let _ = writeln!(
                s,
                "Newton iterate    gap {} ({} H-solves)",
                num(g),
                self.h_solves
            );
        }
        let _ = write!(s, "‖ΔX‖/‖X‖          {}", num(self.product_rel_change));
        s
    }
}

fn compute<T: Element>(args: &Args, net: &Network<T>) -> Result<BalanceReport> {
    let opts = BalanceOptions {
        method: args.method.into(),
        tol: args.tol,
        max_iter: args.max_iter,
    };
    let b = balance(net, opts)
        .map_err(|e| CliError::file(&args.weights, format!("balancing failed: {e}")))?;
    write_weights(&args.out, &b.network)?;
    let i = &b.info;
    Ok(BalanceReport {
        file: args.weights.display().to_string(),
        out: args.out.display().to_string(),
        dtype: T::DTYPE_NAME,
        depth: net.depth(),
        widths: net.widths(),
        method: i.method.name(),
        iterations: i.iterations,
        cg_iterations: i.cg_iterations,
        h_solves: i.h_solves,
        iterate_gap: i.iterate_gap,
        orbit_closed: i.orbit_closed,
        moment_norm_before: Magnitude(i.norms.moment_before),
        moment_norm_after: Magnitude(i.norms.moment_after),
        l2_norm_sq_before: Magnitude(i.norms.l2_sq_before),
        l2_norm_sq_after: Magnitude(i.norms.l2_sq_after),
        lower_bound: Magnitude(i.norms.lower_bound),
        gap: i.gap(),
        product_rel_change: i.product_rel_change,
    })
}

/// Runs `dln balance`.
///
/// # Errors
/// Unreadable or invalid weights, an unwritable `--out`, a numerical failure.
pub fn run(args: Args) -> Result<()> {
    check_output_file(&args.out)?;
    let net = read_weights(&args.weights)?;
    let report = dispatch!(net, net => compute(&args, &net))?;
    emit(&report, args.json)
}
