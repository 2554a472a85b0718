//! `dln gram SYS --kind controllability|observability [--factor] --out X.npy [--json]`: a Gramian
//! of a stable system,
//! $$AP+PA^\top+BB^\top=0,\quad A^\top Q+QA+C^\top C=0\qquad(\text{discrete: }APA^\top-P+BB^\top=0,\ A^\top QA-Q+C^\top C=0),$$
//! or with `--factor` its Cholesky factor $L$, $X = LL^\top$, computed by Hammarling's method.

use super::{Report, SystemArgs, emit, num};
use crate::error::Result;
use crate::io::{check_output_file, write_npy};
use dln::systems::gramian::controllability_factor;
use dln::systems::model::{Sampling, StateSpace};
use faer::{Mat, MatRef};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// Controllability or observability Gramian of a stable linear system, written to --out (.npy).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The system and its time domain.
    #[command(flatten)]
    pub input: SystemArgs,
    /// Which Gramian: controllability P (from A, B) or observability Q (from A, C).
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Write the Cholesky factor L with X = L·Lᵀ instead of the Gramian X.
    #[arg(long)]
    pub factor: bool,
    /// Output .npy file (n×n, float64).
    #[arg(long, value_name = "X.npy")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// P: A P + P Aᵀ + B Bᵀ = 0 (continuous) or A P Aᵀ − P + B Bᵀ = 0 (discrete).
    Controllability,
    /// Q: Aᵀ Q + Q A + Cᵀ C = 0 (continuous) or Aᵀ Q A − Q + Cᵀ C = 0 (discrete).
    Observability,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Controllability => "controllability",
            Kind::Observability => "observability",
        }
    }
}

/// The report of `dln gram`.
#[derive(Debug, Serialize)]
pub struct GramReport {
    /// `controllability` or `observability`.
    pub kind: &'static str,
    /// Whether the factor $L$ ($X = LL^\top$) was written instead of $X$.
    pub factor: bool,
    /// State dimension $n$.
    pub n: usize,
    /// `continuous` or `discrete`.
    pub time: &'static str,
    /// Output file.
    pub out: String,
    /// Relative residual of the Lyapunov equation for $X = LL^\top$:
    /// $\|AX+XA^\top+W\|_F/(2\|A\|_F\|X\|_F+\|W\|_F)$ (discrete: $\|AXA^\top-X+W\|_F/((\|A\|_F^2+1)\|X\|_F+\|W\|_F)$).
    pub residual: f64,
    /// $\operatorname{tr}X$.
    pub trace: f64,
}

impl Report for GramReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let what = if self.factor {
            "Cholesky factor L (X = L·Lᵀ) of the"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "{what} {} Gramian, n = {}, {} time → {}",
            self.kind, self.n, self.time, self.out
        );
        let _ = writeln!(s, "trace      {}", num(self.trace));
        let _ = write!(s, "residual   {}", num(self.residual));
        s.trim_start().to_string()
    }
}

/// Relative Lyapunov residual of $X$ for $(A, W)$ (see [`GramReport::residual`]).
fn residual(a: MatRef<'_, f64>, x: &Mat<f64>, w: &Mat<f64>, sampling: Sampling) -> f64 {
    let (an, xn, wn) = (a.norm_l2(), x.norm_l2(), w.norm_l2());
    match sampling {
        Sampling::Continuous => {
            (a * x + x * a.transpose() + w).norm_l2() / (2.0 * an * xn + wn).max(f64::MIN_POSITIVE)
        }
        Sampling::Discrete { .. } => {
            (a * x * a.transpose() - x + w).norm_l2()
                / ((an * an + 1.0) * xn + wn).max(f64::MIN_POSITIVE)
        }
    }
}

/// Runs `dln gram`.
///
/// # Errors
/// Unreadable or invalid system, unstable $A$ (naming the eigenvalue), an unwritable `--out`,
/// numerical failures.
pub fn run(args: Args) -> Result<()> {
    check_output_file(&args.out)?;
    let l = args.input.load()?;
    l.require_stable()?;
    // The observability Gramian of (A, C) is the controllability Gramian of the dual (Aᵀ, Cᵀ).
    let sys = match args.kind {
        Kind::Controllability => l.sys.clone(),
        Kind::Observability => StateSpace::new(
            l.sys.a().transpose().to_owned(),
            l.sys.c().transpose().to_owned(),
            l.sys.b().transpose().to_owned(),
            l.sys.d().transpose().to_owned(),
            l.sys.sampling(),
        )
        .map_err(|e| l.error(e))?,
    };
    let factor = controllability_factor(&sys).map_err(|e| l.error(e))?;
    let x = &factor * factor.transpose();
    let w = sys.b() * sys.b().transpose();
    let res = residual(sys.a(), &x, &w, sys.sampling());
    let out = if args.factor { &factor } else { &x };
    write_npy(&args.out, out.as_ref())?;
    let report = GramReport {
        kind: args.kind.name(),
        factor: args.factor,
        n: sys.order(),
        time: l.time().name(),
        out: args.out.display().to_string(),
        residual: res,
        trace: (0..x.nrows()).map(|i| x[(i, i)]).sum(),
    };
    emit(&report, args.json)
}
