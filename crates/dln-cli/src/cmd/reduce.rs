//! `dln reduce SYS (--order r | --tol t) [--method sr|bfsr|spa] [--alpha a] [--equil on|off] [--hinf on|off] --out DIR [--json]`:
//! model reduction by balancing, with the a-priori bound and the measured error,
//! $$\sigma_{r+1}\ \le\ \|G-G_r\|_{\mathcal H_\infty}\ \le\ 2\sum_{k>r}\sigma_k .$$
//! The reduced system is written in the input's directory layout (`A.npy`, `B.npy`, `C.npy`,
//! `D.npy`, `meta.json`).
//!
//! The certified error is compared with the bound ([`Reduction::compare_error`]): when it exceeds
//! the bound by more than its own rounding, the report says so (`bound_check`) and one warning
//! line goes to stderr (the bound is that of the exact reduction; slow, badly conditioned modes
//! make the computed model differ from it by about the slow-mode indicator, e.g. lf10 at
//! $r = 3$, 5 % above). The report splits the time between the reduction and the certificate
//! (`timing`); `--hinf off` skips the certificate (whose Hamiltonian eigenproblems of order
//! $2(n+r)$ cost far more than the reduction for large $n$).

use super::{Equil, Report, SystemArgs, emit, nonneg_f64, num, nums};
use crate::error::Result;
use crate::io::{check_output_dir, write_system_dir};
use dln::systems::reduction::{
    Balancing, BoundComparison, BoundStatus, Method as LibMethod, OrderSelection, Reduction,
    ReductionOptions, reduce,
};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

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
    /// Certify ‖G − G_r‖∞ (Hamiltonian level sets on the error system of order n + r) and compare
    /// it with the bound. For large n it costs far more than the reduction itself (see `timing` in
    /// the report); `off` skips it: the report then has no `hinf_error` and says why.
    #[arg(long, value_enum, value_name = "on|off", default_value = "on")]
    pub hinf: Hinf,
    /// Output directory for the reduced system (created; an existing system directory is replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--hinf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Hinf {
    /// Compute the certified H∞ error.
    On,
    /// Skip it (only the reduced model and the a-priori bounds).
    Off,
}

/// Why `hinf_error` is absent with `--hinf off`.
const HINF_SKIPPED: &str = "not computed (--hinf off); the a-priori bounds still hold";

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
    /// Certified $\|G-G_r\|_{\mathcal H_\infty}$ (absent with `--hinf off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinf_error: Option<f64>,
    /// Frequency (rad/s) where `hinf_error` is attained (absent with `--hinf off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinf_frequency: Option<f64>,
    /// How `hinf_error` was certified: `full` (level-set iteration on the whole error system) or
    /// `balanced_tail` (on $G_k - G_{s,r}$ widened by $\tau_k$; absent with `--hinf off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinf_route: Option<&'static str>,
    /// The order $k$ of the balanced truncation $G_k$ of the balanced-tail route (absent
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinf_certificate_order: Option<usize>,
    /// The tail bound $\tau_k = 2\sum_{i>k}\sigma_i\ge\|G_s - G_k\|_\infty$ of the balanced-tail
    /// route (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinf_tail_bound: Option<f64>,
    /// Why `hinf_error` is absent (present only with `--hinf off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinf_skipped: Option<&'static str>,
    /// `hinf_error` against `error_bound` (absent with `--hinf off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_check: Option<BoundCheck>,
    /// Wall-clock seconds of the reduction and of the certified error.
    pub timing: Timing,
    /// Output directory.
    pub out: String,
}

/// The certified error against the a-priori bound ([`BoundComparison`]).
#[derive(Debug, Serialize)]
pub struct BoundCheck {
    /// `within_bound`, `above_bound_within_sensitivity` (explained: slow modes) or `above_bound`.
    pub status: &'static str,
    /// `hinf_error / error_bound`.
    pub ratio: f64,
    /// $\max(\text{hinf\_error} - \text{error\_bound}, 0)$.
    pub excess: f64,
    /// Rounding level of the certified error (excess up to this: `within_bound`).
    pub rounding: f64,
    /// The computed model's sensitivity $4\varepsilon\kappa_{\rm slow}\cdot2\sum_k\sigma_k$.
    pub sensitivity: f64,
    /// $\varepsilon\kappa_{\rm slow}$ of the (α-)stable part.
    pub slow_mode_indicator: f64,
}

impl BoundCheck {
    fn new(c: &BoundComparison, red: &Reduction) -> Self {
        Self {
            status: c.status.name(),
            ratio: c.ratio,
            excess: c.excess,
            rounding: c.rounding,
            sensitivity: c.sensitivity,
            slow_mode_indicator: red.slow_mode_indicator,
        }
    }
}

/// Wall-clock time of the two stages (seconds).
#[derive(Debug, Serialize)]
pub struct Timing {
    /// The reduction (`reduce`: equilibration, Schur form, Gramian factors, SVD, projection).
    pub reduction_s: f64,
    /// The certified $\mathcal H_\infty$ error (absent with `--hinf off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinf_error_s: Option<f64>,
}

/// The one-line warning for a certified error above the bound, if any.
fn bound_warning(c: &BoundComparison, red: &Reduction) -> Option<String> {
    let head = format!(
        "certified ‖G − G_r‖∞ = {} exceeds the a-priori bound 2·Σ_(k>r) σ_k = {} by {:.2} %",
        num(c.error),
        num(c.bound),
        100.0 * (c.ratio - 1.0)
    );
    match c.status {
        BoundStatus::WithinBound => None,
        BoundStatus::AboveBoundWithinSensitivity => Some(format!(
            "{head}: within the computed model's rounding sensitivity {} (slow-mode indicator {}); \
             the bound holds for the exact reduction, and slow, badly conditioned modes make the \
             computed reduced model differ from it by that much",
            num(c.sensitivity),
            num(red.slow_mode_indicator)
        )),
        BoundStatus::AboveBound => Some(format!(
            "{head}: more than its rounding {} and the computed model's rounding sensitivity {} \
             (slow-mode indicator {}) explain; please report this model",
            num(c.rounding),
            num(c.sensitivity),
            num(red.slow_mode_indicator)
        )),
    }
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
        match (self.hinf_error, self.hinf_frequency) {
            (Some(e), Some(w)) => {
                let _ = writeln!(s, "‖G − G_r‖∞ measured  {} (at ω = {})", num(e), num(w));
            }
            _ => {
                let _ = writeln!(
                    s,
                    "‖G − G_r‖∞ measured  {}",
                    self.hinf_skipped.unwrap_or("not computed")
                );
            }
        }
        let _ = writeln!(s, "bound 2·Σ_(k>r) σ_k   {}", num(self.error_bound));
        if let Some(b) = &self.bound_check {
            let _ = writeln!(
                s,
                "measured / bound     {} ({})",
                num(b.ratio),
                b.status.replace('_', " ")
            );
        }
        let _ = write!(
            s,
            "time                 reduction {} s",
            num(self.timing.reduction_s)
        );
        if let Some(t) = self.timing.hinf_error_s {
            let _ = write!(s, ", H∞ error {} s", num(t));
        }
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
    // Without --alpha the model must be stable: `reduce` checks it on the Schur form it computes
    // anyway (the same `Unstable` error naming the worst eigenvalue): no separate eigenvalue pass.
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
    let t0 = Instant::now();
    let red = reduce(&l.sys, opts).map_err(|e| l.error(e))?;
    let reduction_s = t0.elapsed().as_secs_f64();
    let (err, route, hinf_error_s) = match args.hinf {
        Hinf::On => {
            let t1 = Instant::now();
            let (err, prof) = red.hinf_error_profiled().map_err(|e| l.error(e))?;
            (
                Some(err),
                Some(prof.route),
                Some(t1.elapsed().as_secs_f64()),
            )
        }
        Hinf::Off => (None, None, None),
    };
    let cmp = err.as_ref().map(|e| red.compare_error(e));
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
        hinf_error: err.map(|e| e.value),
        hinf_frequency: err.map(|e| e.frequency),
        hinf_route: route.map(|r| r.name()),
        hinf_certificate_order: route.and_then(|r| r.certificate_order()),
        hinf_tail_bound: route.and_then(|r| r.tail_bound()),
        hinf_skipped: err.is_none().then_some(HINF_SKIPPED),
        bound_check: cmp.as_ref().map(|c| BoundCheck::new(c, &red)),
        timing: Timing {
            reduction_s,
            hinf_error_s,
        },
        out: args.out.display().to_string(),
    };
    let mut meta = serde_json::Map::new();
    meta.insert(
        "reduced_from".into(),
        args.input.system.display().to_string().into(),
    );
    meta.insert("method".into(), report.method.into());
    meta.insert("error_bound".into(), report.error_bound.into());
    if let Some(e) = report.hinf_error {
        meta.insert("hinf_error".into(), e.into());
    }
    meta.insert("hsv".into(), report.hsv.clone().into());
    let s = &red.system;
    write_system_dir(&args.out, [s.a(), s.b(), s.c(), s.d()], l.time(), meta)?;
    if let Some(w) = cmp.as_ref().and_then(|c| bound_warning(c, &red)) {
        eprintln!("dln: warning: {w}");
    }
    emit(&report, args.json)
}
