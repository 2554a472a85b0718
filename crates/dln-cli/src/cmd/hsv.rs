//! `dln hsv SYS [--json]`: the Hankel singular values
//! $\sigma_k = \sqrt{\lambda_k(PQ)}$ of a stable system, from the Cholesky factors of its
//! Gramians.

use super::{Equil, Report, SystemArgs, emit, num};
use crate::error::Result;
use dln::systems::gramian::hankel_singular_values_with;
use serde::Serialize;
use std::fmt::Write;

/// Hankel singular values of a stable linear system (continuous or discrete time).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The system and its time domain.
    #[command(flatten)]
    pub input: SystemArgs,
    /// Equilibrate the state coordinates first (diagonal scaling by powers of two, as SLICOT
    /// TB01ID); HSVs are invariant, only their accuracy changes. Default on (measured: decisive on
    /// badly scaled models, harmless on the others).
    #[arg(long, value_enum, value_name = "on|off", default_value = "on")]
    pub equil: Equil,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The report of `dln hsv`.
#[derive(Debug, Serialize)]
pub struct HsvReport {
    /// State dimension $n$.
    pub n: usize,
    /// Inputs $m$.
    pub m: usize,
    /// Outputs $p$.
    pub p: usize,
    /// `continuous` or `discrete`.
    pub time: &'static str,
    /// Sampling time (discrete only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dt: Option<f64>,
    /// $\sigma_1\ge\dots\ge\sigma_n\ge0$.
    pub hsv: Vec<f64>,
}

impl Report for HsvReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let dt = self.dt.map_or_else(String::new, |h| format!(", dt = {h}"));
        let _ = writeln!(
            s,
            "n = {}, m = {}, p = {}, {} time{dt}",
            self.n, self.m, self.p, self.time
        );
        let _ = write!(s, "k     σ_k");
        for (k, x) in self.hsv.iter().enumerate() {
            let _ = write!(s, "\n{:<6}{}", k + 1, num(*x));
        }
        s
    }
}

/// Runs `dln hsv`.
///
/// # Errors
/// Unreadable or invalid system, unstable $A$ (naming the eigenvalue), numerical failures.
pub fn run(args: Args) -> Result<()> {
    let l = args.input.load()?;
    // No separate eigenvalue pass: the Hammarling solver checks stability on the Schur form it
    // needs anyway and names the worst eigenvalue (the same `Unstable` error, mapped to A).
    let hsv = hankel_singular_values_with(&l.sys, args.equil.options()).map_err(|e| l.error(e))?;
    let report = HsvReport {
        n: l.sys.order(),
        m: l.sys.inputs(),
        p: l.sys.outputs(),
        time: l.time().name(),
        dt: l.time().dt(),
        hsv,
    };
    emit(&report, args.json)
}
