//! `dln entropy (X.npy --depth N | W.npz) [--json]`: the Boltzmann entropy
//! $S(X) = \log\operatorname{vol}(\mathcal O_X)$ of the balanced orbit (claims 31, 32), for square $X$ of
//! full rank with distinct singular values, with the normalisation stated in the report.

use super::{Report, emit, num};
use crate::error::{CliError, Result};
use crate::io::{AnyMat, Dims, dispatch, read_matrix, read_weights};
use dln::bayes::entropy::{Entropy, NORMALIZATION, entropy};
use dln::linalg::Scalar;
use faer::MatRef;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Entropy S(X) = log vol(O_X) of the balanced orbit of X = W_N⋯W_1 (X.npy with --depth, or W.npz).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// X as a square .npy matrix (needs --depth), or weights W1..WN as .npz (X = W_N⋯W_1, N from the file).
    pub input: PathBuf,
    /// Depth N ≥ 1 (for X.npy input).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub depth: Option<u64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The report of `dln entropy`.
#[derive(Debug, Serialize)]
pub struct EntropyReport {
    /// Input file.
    pub file: String,
    /// $S(X)$.
    pub entropy: f64,
    /// $N$.
    pub depth: usize,
    /// `real` or `complex`.
    pub field: &'static str,
    /// $d$ ($X$ is $d\times d$).
    pub d: usize,
    /// $\log\operatorname{vol}(K)$, $K = O_d$ or $U_d$.
    pub log_group_volume: f64,
    /// $\log\det$ of the orbit map's metric (claims 31, 32).
    pub log_density_sq: f64,
    /// The normalisation in words.
    pub normalization: &'static str,
}

impl Report for EntropyReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "file              {} ({} {}×{}, depth {})",
            self.file, self.field, self.d, self.d, self.depth
        );
        let _ = writeln!(s, "entropy S(X)      {}", num(self.entropy));
        let _ = writeln!(s, "log vol(K)        {}", num(self.log_group_volume));
        let _ = writeln!(s, "log det (density) {}", num(self.log_density_sq));
        let _ = write!(s, "normalization     {}", self.normalization);
        s
    }
}

fn compute<T: Scalar>(
    args: &Args,
    x: MatRef<'_, T>,
    depth: usize,
    array: &str,
) -> Result<EntropyReport> {
    let e: Entropy = entropy(x, depth).map_err(|e| CliError::array(&args.input, array, e))?;
    Ok(EntropyReport {
        file: args.input.display().to_string(),
        entropy: e.entropy,
        depth,
        field: if T::IS_COMPLEX { "complex" } else { "real" },
        d: x.nrows(),
        log_group_volume: e.log_group_volume,
        log_density_sq: e.log_density_sq,
        normalization: NORMALIZATION,
    })
}

/// Runs `dln entropy`.
///
/// # Errors
/// Unreadable input, a missing or superfluous `--depth`, non-square or rank-deficient $X$,
/// repeated singular values.
pub fn run(args: Args) -> Result<()> {
    let is_npz = args
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    let report = if is_npz {
        if args.depth.is_some() {
            return Err(CliError::file(
                &args.input,
                "--depth is taken from the weights W1..WN of an .npz input; omit it",
            ));
        }
        let w = read_weights(&args.input)?;
        dispatch!(w, net => {
            let x = net.product();
            compute(&args, x.as_ref(), net.depth(), &format!("W1..W{}", net.depth()))?
        })
    } else {
        let Some(depth) = args.depth else {
            return Err(CliError::file(
                &args.input,
                "an X.npy input needs --depth N",
            ));
        };
        match read_matrix(&args.input, "X", Dims::Matrix)? {
            AnyMat::Real(x) => compute(&args, x.as_ref(), depth as usize, "X")?,
            AnyMat::Complex(x) => compute(&args, x.as_ref(), depth as usize, "X")?,
        }
    };
    emit(&report, args.json)
}
