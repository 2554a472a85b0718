//! `dln minreal SYS --out DIR [--tol T] [--json]`: a minimal realization of any linear system
//! (unstable and non-minimal included) by the orthogonal controllability and observability
//! staircases ([`dln::systems::minreal`], SLICOT `TB01PD`'s task). The transfer function
//! $G(s) = C(sI-A)^{-1}B + D$ is kept; the result is written in the input's directory layout
//! (`A.npy`, `B.npy`, `C.npy`, `D.npy`, `meta.json`).

use super::{Report, SystemArgs, emit, nonneg_f64, num};
use crate::error::Result;
use crate::io::{check_output_dir, write_system_dir};
use dln::systems::minreal::{MinrealOptions, minimal_realization};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// Minimal realization of a linear system: remove its uncontrollable and unobservable parts.
///
/// Orthogonal staircase reductions (Van Dooren; Varga; SLICOT TB01PD): first on (A, B), which
/// removes the states the input cannot reach, then on the dual (Aᵀ, Cᵀ), which removes the states
/// the output cannot see. Works for any A (stability is not needed), in continuous and discrete
/// time, and keeps D and the transfer function. A result of order 0 (a constant transfer function
/// G = D) is written with a 0×0 A.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The system and its time domain.
    #[command(flatten)]
    pub input: SystemArgs,
    /// Output directory for the minimal system (replaced if it is a system directory).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Absolute rank tolerance: a singular value of a staircase block counts when it exceeds T.
    /// Default √ε·max(‖A‖_F, ‖B‖_F, ‖C‖_F) ≈ 1.5e-8·max‖·‖_F (far above the rounding errors the
    /// staircase amplifies, far below genuine couplings); a larger T also removes nearly
    /// uncontrollable or unobservable modes.
    #[arg(long, value_name = "T", value_parser = nonneg_f64)]
    pub tol: Option<f64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The report of `dln minreal`.
#[derive(Debug, Serialize)]
pub struct MinrealReport {
    /// `continuous` or `discrete`.
    pub time: &'static str,
    /// Sampling time (discrete only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dt: Option<f64>,
    /// State dimension $n$ of the input.
    pub n: usize,
    /// Inputs $m$.
    pub m: usize,
    /// Outputs $p$.
    pub p: usize,
    /// Order $n_r$ of the minimal realization written to `out`.
    pub order: usize,
    /// Dimension $n_c$ of the controllable subspace of the input.
    pub controllable_order: usize,
    /// Rank $n_o$ of the observability matrix of the input.
    pub observable_order: usize,
    /// The rank tolerance used.
    pub tol: f64,
    /// Smallest singular value counted as nonzero by the rank decisions (absent if none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smallest_kept: Option<f64>,
    /// Largest singular value counted as zero (0 if nothing was dropped).
    pub largest_dropped: f64,
    /// The output directory.
    pub out: String,
}

impl Report for MinrealReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let dt = self.dt.map_or_else(String::new, |h| format!(", dt = {h}"));
        let _ = writeln!(
            s,
            "minimal realization, {} time{dt}: order {} → {} (m = {}, p = {}) → {}",
            self.time, self.n, self.order, self.m, self.p, self.out
        );
        let _ = writeln!(s, "controllable order   {}", self.controllable_order);
        let _ = writeln!(s, "observable order     {}", self.observable_order);
        let _ = writeln!(s, "rank tolerance       {}", num(self.tol));
        let kept = self.smallest_kept.map_or_else(|| "–".to_string(), num);
        let _ = write!(
            s,
            "singular values      kept ≥ {kept}, dropped ≤ {}",
            num(self.largest_dropped)
        );
        s
    }
}

/// Runs `dln minreal`.
///
/// # Errors
/// Unreadable or invalid system, an unusable `--out`, numerical failures (SVD).
pub fn run(args: Args) -> Result<()> {
    check_output_dir(&args.out)?;
    let l = args.input.load()?;
    let min =
        minimal_realization(&l.sys, MinrealOptions { tol: args.tol }).map_err(|e| l.error(e))?;
    let report = MinrealReport {
        time: l.time().name(),
        dt: l.time().dt(),
        n: l.sys.order(),
        m: l.sys.inputs(),
        p: l.sys.outputs(),
        order: min.order,
        controllable_order: min.controllable_order,
        observable_order: min.observable_order,
        tol: min.tol,
        smallest_kept: min.smallest_kept.is_finite().then_some(min.smallest_kept),
        largest_dropped: min.largest_dropped,
        out: args.out.display().to_string(),
    };
    let mut meta = serde_json::Map::new();
    meta.insert(
        "reduced_from".into(),
        args.input.system.display().to_string().into(),
    );
    meta.insert("method".into(), "minreal".into());
    meta.insert(
        "controllable_order".into(),
        report.controllable_order.into(),
    );
    meta.insert("observable_order".into(), report.observable_order.into());
    meta.insert("tol".into(), report.tol.into());
    let s = &min.system;
    write_system_dir(&args.out, [s.a(), s.b(), s.c(), s.d()], l.time(), meta)?;
    emit(&report, args.json)
}
