//! `dln gram SYS --kind controllability|observability [--factor] --out X.npy [--json]`: a Gramian
//! of a stable system,
//! $$AP+PA^\top+BB^\top=0,\quad A^\top Q+QA+C^\top C=0\qquad(\text{discrete: }APA^\top-P+BB^\top=0,\ A^\top QA-Q+C^\top C=0),$$
//! or with `--factor` its Cholesky factor $L$, $X = LL^\top$, computed by Hammarling's method.

use super::{Equil, Magnitude, Report, SystemArgs, emit, num};
use crate::error::Result;
use crate::io::{check_output_file, write_npy};
use dln::linalg::frob_norm_scaled;
use dln::systems::SystemsError;
use dln::systems::gramian::controllability_factor_with;
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
    /// Equilibrate the state coordinates first (diagonal scaling by powers of two, as SLICOT
    /// TB01ID); the Gramian is returned in the original coordinates either way.
    #[arg(long, value_enum, value_name = "on|off", default_value = "off")]
    pub equil: Equil,
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
    /// $\operatorname{tr}X = \|L\|_F^2$ (a [`Magnitude`]: a string when beyond `f64`, e.g. for the
    /// factor of a Gramian whose entries overflow).
    pub trace: Magnitude,
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
        let _ = writeln!(s, "trace      {}", self.trace.text());
        let _ = write!(s, "residual   {}", num(self.residual));
        s.trim_start().to_string()
    }
}

/// Relative Lyapunov residual of $X = LL^\top$ for $(A, W = BB^\top)$ (see
/// [`GramReport::residual`]). It is invariant under $(L, B)\mapsto(tL, tB)$, so both are divided by
/// their largest entry first: Gramians of huge magnitude (entries $10^{300}$) do not overflow.
fn residual(a: MatRef<'_, f64>, l: &Mat<f64>, b: MatRef<'_, f64>, sampling: Sampling) -> f64 {
    let maxabs = |m: MatRef<'_, f64>| {
        (0..m.ncols())
            .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
            .fold(0.0f64, |acc, (i, j)| acc.max(m[(i, j)].abs()))
    };
    let t = maxabs(l.as_ref()).max(maxabs(b));
    let t = if t > 0.0 && t.is_finite() { t } else { 1.0 };
    let l = l / faer::Scale(t);
    let b = b / faer::Scale(t);
    let x = &l * l.transpose();
    let w = &b * b.transpose();
    let (an, xn, wn) = (a.norm_l2(), x.norm_l2(), w.norm_l2());
    match sampling {
        Sampling::Continuous => {
            (a * &x + &x * a.transpose() + &w).norm_l2()
                / (2.0 * an * xn + wn).max(f64::MIN_POSITIVE)
        }
        Sampling::Discrete { .. } => {
            (a * &x * a.transpose() - &x + &w).norm_l2()
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
    // Stability is checked by the Lyapunov solver on its Schur form (the same `Unstable` error
    // naming the worst eigenvalue, mapped to A): no separate eigenvalue pass.
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
    let factor = controllability_factor_with(&sys, args.equil.options()).map_err(|e| l.error(e))?;
    // tr X = ‖L‖_F², exact in scaled form whatever the size of X.
    let factor_norm = frob_norm_scaled(factor.as_ref());
    let trace = factor_norm.mul(factor_norm);
    let x = &factor * factor.transpose();
    if !args.factor && (0..x.ncols()).any(|j| (0..x.nrows()).any(|i| !x[(i, j)].is_finite())) {
        return Err(l.error(SystemsError::NotRepresentable {
            quantity: "Gramian X = L·Lᵀ",
            detail: "an entry overflows f64 (its Cholesky factor, --factor, is representable)"
                .to_string(),
        }));
    }
    if !args.factor && !trace.is_zero() && trace.to_f64_checked().is_none() {
        // Not an overflow (checked above): every entry of X is below the normal range.
        return Err(l.error(SystemsError::NotRepresentable {
            quantity: "Gramian X = L·Lᵀ",
            detail: format!(
                "its entries underflow f64 (tr X ≈ {trace}); its Cholesky factor, --factor, is \
                 representable"
            ),
        }));
    }
    let res = residual(sys.a(), &factor, sys.b(), sys.sampling());
    let out = if args.factor { &factor } else { &x };
    write_npy(&args.out, out.as_ref())?;
    let report = GramReport {
        kind: args.kind.name(),
        factor: args.factor,
        n: sys.order(),
        time: l.time().name(),
        out: args.out.display().to_string(),
        residual: res,
        trace: Magnitude(trace),
    };
    emit(&report, args.json)
}
