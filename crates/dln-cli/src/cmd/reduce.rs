//! `dln reduce SYS (--order r | --tol t) [--method sr|bfsr|spa] [--alpha a] [--equil on|off] --out DIR [--json]`:
//! model reduction by balancing, with the a-priori bound and the measured error,
//! $$\sigma_{r+1}\ \le\ \|G-G_r\|_{\mathcal H_\infty}\ \le\ 2\sum_{k>r}\sigma_k .$$
//! The reduced system is written in the input's directory layout (`A.npy`, `B.npy`, `C.npy`,
//! `D.npy`, `meta.json`).

use super::{Equil, Report, SystemArgs, emit, nonneg_f64, num, nums};
use crate::error::Result;
use crate::io::{check_output_dir, write_system_dir};
use dln::systems::reduction::{
    Balancing, Method as LibMethod, OrderSelection, ReductionOptions, reduce,
};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// Reduce a linear system by balanced truncation or singular perturbation; the result goes to --out (a directory).
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("selection").required(true).args(["order", "tol"])))]
pub struct Args {
    /// The system and its time domain.
    #[command(flatten)]
    pub input: SystemArgs,
    /// Order r of the reduced system; any r ≥ 0 is accepted and lowered to the minimal order (≤ n) if larger.
    #[arg(long, value_name = "R")]
    pub order: Option<usize>,
    /// Keep the states whose Hankel singular values exceed T (absolute; 0 = minimal realization).
    #[arg(long, value_name = "T", value_parser = nonneg_f64)]
    pub tol: Option<f64>,
    /// sr = square-root balanced truncation, bfsr = balancing-free square-root truncation,
    /// spa = singular perturbation approximation (matches the DC gain).
    #[arg(long, value_enum, default_value_t = Method::Sr)]
    pub method: Method,
    /// Keep the poles outside the region Re λ < a (continuous, a ≤ 0) or |λ| < a (discrete, 0 ≤ a ≤ 1)
    /// unchanged and reduce the rest; without it the system must be stable.
    #[arg(long, value_name = "A", allow_negative_numbers = true)]
    pub alpha: Option<f64>,
    /// Equilibrate the state coordinates first (exact diagonal scaling by powers of two, as SLICOT
    /// TB01ID / AB09AD EQUIL='S'); the transfer function is unchanged. Default on (measured).
    #[arg(long, value_enum, value_name = "on|off", default_value = "on")]
    pub equil: Equil,
    /// Output directory for the reduced system (created; an existing system directory is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Square-root balanced truncation (SLICOT AB09AD, JOB = 'B').
    Sr,
    /// Balancing-free square-root balanced truncation (AB09AD, JOB = 'N').
    Bfsr,
    /// Singular perturbation approximation, square-root (AB09BD, JOB = 'B').
    Spa,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Sr => "sr",
            Method::Bfsr => "bfsr",
            Method::Spa => "spa",
        }
    }

    fn options(self) -> (LibMethod, Balancing) {
        match self {
            Method::Sr => (LibMethod::Truncation, Balancing::SquareRoot),
            Method::Bfsr => (LibMethod::Truncation, Balancing::BalancingFree),
            Method::Spa => (LibMethod::SingularPerturbation, Balancing::SquareRoot),
        }
    }
}

/// The report of `dln reduce`.
#[derive(Debug, Serialize)]
pub struct ReduceReport {
    /// `sr`, `bfsr` or `spa`.
    pub method: &'static str,
    /// `continuous` or `discrete`.
    pub time: &'static str,
    /// Order $n$ of the input.
    pub n: usize,
    /// Order $r$ of the reduced system.
    pub order: usize,
    /// Order of its reduced (α-)stable part.
    pub stable_order: usize,
    /// Number of α-unstable states kept unchanged.
    pub unstable_order: usize,
    /// Minimal order of the (α-)stable part.
    pub minimal_order: usize,
    /// Hankel singular values of the (α-)stable part.
    pub hsv: Vec<f64>,
    /// $2\sum_{k>r}\sigma_k$.
    pub error_bound: f64,
    /// $\sigma_{r+1}$ (0 if nothing was removed).
    pub error_lower_bound: f64,
    /// Measured $\|G-G_r\|_{\mathcal H_\infty}$.
    pub hinf_error: f64,
    /// Frequency (rad/s) where `hinf_error` is attained.
    pub hinf_frequency: f64,
    /// Output directory.
    pub out: String,
}

impl Report for ReduceReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} reduction, {} time: order {} → {} (stable part {}, kept unstable {}, minimal {}) → {}",
            self.method,
            self.time,
            self.n,
            self.order,
            self.stable_order,
            self.unstable_order,
            self.minimal_order,
            self.out
        );
        let _ = writeln!(s, "hsv                  {}", nums(&self.hsv));
        let _ = writeln!(s, "σ_(r+1)              {}", num(self.error_lower_bound));
        let _ = writeln!(
            s,
            "‖G − G_r‖∞ measured  {} (at ω = {})",
            num(self.hinf_error),
            num(self.hinf_frequency)
        );
        let _ = write!(s, "bound 2·Σ_(k>r) σ_k   {}", num(self.error_bound));
        s
    }
}

/// Runs `dln reduce`.
///
/// # Errors
/// Unreadable or invalid system, unstable $A$ without `--alpha` (naming the eigenvalue), an
/// inadmissible `--alpha`, an unwritable `--out`, numerical failures.
pub fn run(args: Args) -> Result<()> {
    check_output_dir(&args.out)?;
    let l = args.input.load()?;
    let n = l.sys.order();
    let order = match (args.order, args.tol) {
        // As the help says: an order above the minimal one (a fortiori above n) is lowered to
        // the minimal order, which the library does for any r ≤ n.
        (Some(r), _) => OrderSelection::Fixed(r.min(n)),
        (None, Some(t)) => OrderSelection::Tolerance(t),
        (None, None) => unreachable!("clap requires --order or --tol"),
    };
    if args.alpha.is_none() {
        l.require_stable()?;
    }
    let (method, balancing) = args.method.options();
    let opts = ReductionOptions {
        method,
        balancing,
        order,
        min_tol: None,
        alpha: args.alpha,
        equilibrate: args.equil.is_on(),
        ..Default::default()
    };
    let red = reduce(&l.sys, opts).map_err(|e| l.error(e))?;
    let err = red.hinf_error().map_err(|e| l.error(e))?;
    let report = ReduceReport {
        method: args.method.name(),
        time: l.time().name(),
        n,
        order: red.order,
        stable_order: red.stable_order,
        unstable_order: red.unstable_order,
        minimal_order: red.minimal_order,
        hsv: red.hsv.clone(),
        error_bound: red.error_bound,
        error_lower_bound: red.error_lower_bound,
        hinf_error: err.value,
        hinf_frequency: err.frequency,
        out: args.out.display().to_string(),
    };
    let mut meta = serde_json::Map::new();
    meta.insert(
        "reduced_from".into(),
        args.input.system.display().to_string().into(),
    );
    meta.insert("method".into(), report.method.into());
    meta.insert("error_bound".into(), report.error_bound.into());
    meta.insert("hinf_error".into(), report.hinf_error.into());
    meta.insert("hsv".into(), report.hsv.clone().into());
    let s = &red.system;
    write_system_dir(&args.out, [s.a(), s.b(), s.c(), s.d()], l.time(), meta)?;
    emit(&report, args.json)
}
