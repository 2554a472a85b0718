//! `dln moments W.npz [--json] [--rtol R]`: the moments $G_k = W_kW_k^*-W_{k+1}^*W_{k+1}$ of a
//! network, its norm $\|\mathbf W\|_2^2$, the lower bound $N\sum_i\sigma_i(X)^{2/N}$ over its
//! fiber, and whether it is balanced ($\|\mu(\mathbf W)\|\le\mathrm{rtol}\cdot\|\mathbf W\|_2^2$).

use super::{Magnitude, Report, emit, nonneg_f64, num};
use crate::error::{CliError, Result};
use crate::io::{Element, dispatch, read_weights};
use dln::algebra::{BalancedOrbit, Network};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// Print depth, widths, moment norms ‖G_k‖_F, ‖W‖², the lower bound N·Σσ^(2/N), and whether W is balanced.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Weights: an .npz archive with arrays W1..WN (W1 = input layer, shape d1×d0).
    pub weights: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Balanced means ‖μ(W)‖ ≤ R·‖W‖².
    #[arg(long, value_name = "R", default_value = "1e-10", value_parser = nonneg_f64)]
    pub rtol: f64,
}

/// The report of `dln moments`.
#[derive(Debug, Serialize)]
pub struct MomentsReport {
    /// Input file.
    pub file: String,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Depth $N$.
    pub depth: usize,
    /// Widths $d_0,\dots,d_N$.
    pub widths: Vec<usize>,
    /// Numerical rank of $X$.
    pub rank: usize,
    /// $\|\mu(\mathbf W)\| = (\sum_k\|G_k\|_F^2)^{1/2}$ (a [`Magnitude`]: a string when out of the
    /// `f64` range).
    pub moment_norm: Magnitude,
    /// $\|\mu(\mathbf W)\|/\|\mathbf W\|_2^2$ (scale-invariant; always a number).
    pub moment_norm_rel: f64,
    /// $\|G_k\|_F$, $k=1,\dots,N-1$.
    pub moment_norms: Vec<Magnitude>,
    /// $\|\mathbf W\|_2^2$.
    pub l2_norm_sq: Magnitude,
    /// $N\sum_i\sigma_i(X)^{2/N}$.
    pub lower_bound: Magnitude,
    /// $(\|\mathbf W\|_2^2 - \text{bound})/\text{bound}$. Undefined when $X=0$ (the bound is 0): the
    /// key is then absent from the JSON and the table says `undefined (X = 0)`; never `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
    /// $\|\mu\|\le\mathrm{rtol}\cdot\|\mathbf W\|_2^2$.
    pub balanced: bool,
    /// The tolerance used for `balanced`.
    pub rtol: f64,
}

impl Report for MomentsReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let widths = self
            .widths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" → ");
        let _ = writeln!(s, "file              {}", self.file);
        let _ = writeln!(s, "dtype             {}", self.dtype);
        let _ = writeln!(s, "depth N           {}", self.depth);
        let _ = writeln!(s, "widths d0..dN     {widths}");
        let _ = writeln!(s, "rank X            {}", self.rank);
        let _ = writeln!(s, "‖W‖²              {}", self.l2_norm_sq.text());
        let _ = writeln!(s, "N·Σσ^(2/N)        {}", self.lower_bound.text());
        let _ = writeln!(
            s,
            "gap               {}",
            self.gap
                .map_or_else(|| "undefined (X = 0)".to_string(), num)
        );
        let _ = writeln!(s, "‖μ‖               {}", self.moment_norm.text());
        let _ = writeln!(s, "‖μ‖/‖W‖²          {}", num(self.moment_norm_rel));
        if !self.moment_norms.is_empty() {
            let _ = writeln!(s, "junction k        ‖G_k‖_F");
            for (k, g) in self.moment_norms.iter().enumerate() {
                let _ = writeln!(s, "  {:<16}{}", k + 1, g.text());
            }
        }
        let verdict = if self.balanced { "yes" } else { "no" };
        let _ = write!(s, "balanced          {verdict} (‖μ‖ ≤ {}·‖W‖²)", self.rtol);
        s
    }
}

fn compute<T: Element>(args: &Args, net: &Network<T>) -> Result<MomentsReport> {
    let orbit = BalancedOrbit::of(net).map_err(|e| CliError::from_algebra(&args.weights, e))?;
    let l2 = net.l2_norm_scaled();
    let l2 = l2.mul(l2);
    let lb = orbit.l2_lower_bound_scaled();
    Ok(MomentsReport {
        file: args.weights.display().to_string(),
        dtype: T::DTYPE_NAME,
        depth: net.depth(),
        widths: net.widths(),
        rank: orbit.rank(),
        moment_norm: Magnitude(net.moment_norm_scaled()),
        moment_norm_rel: net.relative_moment_norm(),
        moment_norms: net
            .moment_norms_scaled()
            .into_iter()
            .map(Magnitude)
            .collect(),
        l2_norm_sq: Magnitude(l2),
        lower_bound: Magnitude(lb),
        gap: (!lb.is_zero()).then(|| l2.sub(lb).ratio(lb)),
        balanced: net.is_balanced(args.rtol),
        rtol: args.rtol,
    })
}

/// Runs `dln moments`.
///
/// # Errors
/// Unreadable or invalid weights; SVD failure.
pub fn run(args: Args) -> Result<()> {
    let net = read_weights(&args.weights)?;
    let report = dispatch!(net, net => compute(&args, &net))?;
    emit(&report, args.json)
}
