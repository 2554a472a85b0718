//! `dln sample prior|train|fiber`: samples of the Gaussian prior (4.3, erratum E6 applied), of noisy
//! training (4.4) and of the posterior on a fiber, written as `.npz` archives whose arrays `W1..WN` are stacked along a leading
//! sample axis ($S\times d_k\times d_{k-1}$).
//!
//! - `dln sample prior --widths d0,…,dN --beta B --kappa K --samples S [--complex] [--seed s]
//!   --out OUT.npz [--json]`: exact samples, every real coordinate $\mathcal N(0, 1/(\beta\kappa))$; the
//!   report compares the sample mean of $\|\mathbf W\|^2$ with $D/(\beta\kappa)$ (standard error from
//!   the exact variance $2D/(\beta\kappa)^2$).
//! - `dln sample train DATA.npz --init W0.npz --beta B --kappa K --t-end T --dt h --paths P
//!   [--seed s] --out OUT.npz [--json]`: $P$ independent paths of noisy training of the
//!   least-squares loss of DATA (arrays `inputs`, `targets`, as for `dln train`) from W0, OU part
//!   exact (Strang splitting), paths in parallel; OUT holds the weights at $T$ stacked over paths;
//!   the report gives the path-averaged $\|\mathbf G\|$ and loss over time, and the deviation of the
//!   path-mean moments from the moment law
//!   $\mathbb E[G_k(T)] = e^{-2\kappa T}G_k(0) + c_F(d_{k-1}-d_{k+1})\frac{1-e^{-2\kappa T}}{\beta\kappa}I$.
//! - `dln sample fiber W.npz --beta B --kappa K --samples S [--measure hausdorff|conditional]
//!   [--sampler hmc|rwm|graph-hmc|block-gibbs] [--seed s] [--burn-in B] [--thin T] --out OUT.npz [--json]`: the posterior
//!   $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ on the fiber of $X = \varphi(\mathbf W)$ against its
//!   Hausdorff measure or as the conditional law of the prior ([`dln::bayes::posterior`]), by
//!   constrained HMC (default for the Hausdorff measure), constrained random-walk Metropolis
//!   (default for the conditional measure), or (conditional measure, square
//!   layers, invertible X) Euclidean HMC in the graph chart $W_1 = (W_N\cdots W_2)^{-1}X$ or blocked Gibbs over
//!   adjacent layer pairs (Haar rotations and HMC along each junction's GL(d) orbit); the report gives the acceptance rate, the effective sample size of $\|\mathbf W\|^2$, the largest
//!   $\|\varphi(\mathbf W)-X\|/\|X\|$, and the means of $\|\mathbf W\|^2$ and $\|\mathbf G\|$.

use super::flow::Bar;
use super::train::{Widths, parse_widths};
use super::{Report, emit, num};
use crate::error::{CliError, Result};
use crate::io::{
    AnyMat, AnyNetwork, Dims, Element, Npz, check_output_file, dispatch, read_weights,
    write_file_atomic,
};
use crate::resources::check_memory;
use dln::algebra::Network;
use dln::bayes::ou::expected_moments;
use dln::bayes::{BaseMeasure, FiberPosterior, FiberSampler, GaussianPrior, NoisyTraining};
use dln::flows::loss::LeastSquares;
use dln::linalg::{Scalar, c64};
use faer::Mat;
use npyz::WriterBuilder;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Sample the Gaussian prior or noisy-training paths; write the samples stacked along a leading axis.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to sample.
    #[command(subcommand)]
    pub what: What,
}

/// The samplers.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Exact samples of the prior ∝ exp(−βκ‖W‖²/2) (every real coordinate N(0, 1/(βκ))).
    Prior(PriorArgs),
    /// Independent paths of noisy training dW = −(∇E(φ(W)) + κW)dt + √(2/β)dB from W0.
    Train(TrainArgs),
    /// The posterior ∝ exp(−βκ‖W‖²/2) on the fiber {W' : φ(W') = φ(W)} (constrained MCMC).
    Fiber(FiberArgs),
}

/// `dln sample fiber`.
#[derive(Debug, clap::Args)]
pub struct FiberArgs {
    /// Weights W1..WN (.npz): the chain starts here, on the fiber of X = WN⋯W1.
    pub weights: PathBuf,
    /// Inverse temperature β > 0.
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub beta: f64,
    /// Weight decay κ > 0.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub kappa: f64,
    /// Number of retained samples S ≥ 1.
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub samples: i64,
    /// Base measure on the fiber: its Riemannian volume (the paper's (4.5)) or the conditional law
    /// of the prior given X (Hausdorff density divided by det(dφ dφ*)^{1/2}).
    #[arg(long, value_enum, default_value_t = MeasureArg::Hausdorff)]
    pub measure: MeasureArg,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampler: constrained Hamiltonian Monte Carlo (RATTLE with the reverse check), the
    /// constrained random-walk Metropolis chain, or Euclidean HMC in the graph chart
    /// W1 = (WN⋯W2)⁻¹X, or blocked Gibbs over adjacent layer pairs (Haar rotations and HMC
    /// along each junction's GL(d) orbit; these two: conditional measure, square layers and
    /// invertible X only). [default: hmc for --measure hausdorff; for conditional, block-gibbs
    /// where it applies, rwm otherwise: the faster per effective sample at d = 16, N = 4 in
    /// docs/performance.md]
    #[arg(long, value_enum)]
    pub sampler: Option<SamplerArg>,
    /// Steps (rwm), trajectories (hmc, graph-hmc) or sweeps (block-gibbs) discarded first; the
    /// step size adapts during them [default: 1000 for rwm, 300 for the others].
    #[arg(long, value_name = "B")]
    pub burn_in: Option<u64>,
    /// Keep every T-th state after burn-in.
    #[arg(long, value_name = "T", default_value_t = 1)]
    pub thin: u64,
    /// Independent chains run in parallel (one per core pays), each with its own burn-in; the S
    /// samples are split among them (concatenated chain by chain in the output) and the
    /// diagnostics pooled (effective sample sizes add up), with the split-R̂ of ‖W‖² between the
    /// chains (`rhat`; needs at least 4 samples per chain). Chain 1 is the single chain of the
    /// same seed.
    #[arg(
        long,
        value_name = "C",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub chains: i64,
    /// Output .npz archive: W1..WN stacked, shape S × d_k × d_{k-1}.
    #[arg(long, value_name = "OUT.npz")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--measure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MeasureArg {
    /// Riemannian volume of the fiber.
    Hausdorff,
    /// Conditional law of the prior given X.
    Conditional,
}

/// `--sampler`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SamplerArg {
    /// Constrained HMC (Lelièvre–Rousset–Stoltz 2019).
    Hmc,
    /// Constrained random-walk Metropolis (Zappa–Holmes-Cerfon–Goodman 2018).
    Rwm,
    /// Euclidean HMC in the graph chart W1 = (WN⋯W2)⁻¹X (conditional measure; square layers,
    /// invertible X).
    GraphHmc,
    /// Blocked Gibbs over adjacent layer pairs, Haar rotations and HMC along each junction's orbit (conditional
    /// measure; square layers, invertible X).
    BlockGibbs,
}

impl SamplerArg {
    /// The library's sampler.
    fn sampler(self) -> FiberSampler {
        match self {
            Self::Hmc => FiberSampler::Hmc,
            Self::Rwm => FiberSampler::RandomWalk,
            Self::GraphHmc => FiberSampler::GraphHmc,
            Self::BlockGibbs => FiberSampler::BlockGibbs,
        }
    }
}

/// `dln sample prior`.
#[derive(Debug, clap::Args)]
pub struct PriorArgs {
    /// Widths d0,d1,…,dN (comma-separated; N ≥ 1 layers).
    #[arg(long, value_name = "d0,…,dN", value_parser = parse_widths)]
    pub widths: Widths,
    /// Inverse temperature β > 0.
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub beta: f64,
    /// Weight decay κ > 0.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub kappa: f64,
    /// Number of samples S ≥ 1.
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub samples: i64,
    /// Complex weights (complex Gaussian: independent real and imaginary parts).
    #[arg(long)]
    pub complex: bool,
    /// Seed of the normal generator (eight xoshiro256++ lanes and a vectorised ziggurat,
    /// `dln_bayes::NormalStream`; the same seed gives the same samples on any CPU; outputs of
    /// versions that drew from one xoshiro256++ or from ChaCha12 differ).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output .npz archive: W1..WN stacked, shape S × d_k × d_{k-1}.
    #[arg(long, value_name = "OUT.npz")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `dln sample train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Data: an .npz archive with arrays `inputs` (d0×n) and `targets` (dN×n), one sample per column.
    pub data: PathBuf,
    /// Initial weights W1..WN (.npz).
    #[arg(long, value_name = "W0.npz")]
    pub init: PathBuf,
    /// Inverse temperature β > 0.
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub beta: f64,
    /// Weight decay κ > 0.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub kappa: f64,
    /// Final time T > 0.
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    pub t_end: f64,
    /// Step size h > 0 (the step used divides T evenly and is at most h).
    #[arg(long, value_name = "h", allow_negative_numbers = true)]
    pub dt: f64,
    /// Number of independent paths P ≥ 1.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub paths: i64,
    /// Number of points of the reported time series (at least 2, including t = 0).
    #[arg(long, value_name = "K", default_value_t = 11)]
    pub records: usize,
    /// Seed: path i draws its noise from stream i of the seed's normal generator
    /// (`dln_bayes::NormalStream::for_path`: xoshiro256++ lanes advanced by i long jumps of
    /// 2^192, non-overlapping; the same seed gives the same paths whatever the number of threads
    /// and the CPU; outputs of versions that drew from one xoshiro256++ or ChaCha12 differ).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output .npz archive: W1..WN at T stacked over paths, shape P × d_k × d_{k-1}.
    #[arg(long, value_name = "OUT.npz")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Writes networks as stacked arrays `Wk` of shape $S\times d_k\times d_{k-1}$ (C order), atomically.
fn write_stacked<T: Element>(path: &Path, nets: &[Network<T>]) -> Result<()> {
    let depth = nets.first().map_or(0, Network::depth);
    write_file_atomic(path, |f| {
        let mut npz = npyz::npz::NpzWriter::new(std::io::BufWriter::new(f));
        let options = npyz::zip::write::FileOptions::default()
            .compression_method(npyz::zip::CompressionMethod::Stored);
        for k in 1..=depth {
            let (r, c) = nets[0].w(k).shape();
            let mut out = npz
                .array::<T>(&format!("W{k}"), options)?
                .default_dtype()
                .shape(&[nets.len() as u64, r as u64, c as u64])
                .begin_nd()?;
            for net in nets {
                let w = net.w(k);
                out.extend((0..r).flat_map(|i| (0..c).map(move |j| w[(i, j)])))?;
            }
            out.finish()?;
        }
        let mut w = npz.zip_writer().finish().map_err(std::io::Error::other)?;
        w.flush()
    })
}

/// The report of `dln sample prior`.
#[derive(Debug, Serialize)]
pub struct PriorReport {
    /// Output file.
    pub out: String,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Widths.
    pub widths: Vec<usize>,
    /// β.
    pub beta: f64,
    /// κ.
    pub kappa: f64,
    /// Samples.
    pub samples: u64,
    /// Seed.
    pub seed: u64,
    /// Real dimension $D$.
    pub dimension: usize,
    /// Sample mean of $\|\mathbf W\|^2$.
    pub mean_l2_norm_sq: f64,
    /// $D/(\beta\kappa)$.
    pub expected_l2_norm_sq: f64,
    /// Standard error of the sample mean (exact variance $2D/(\beta\kappa)^2$).
    pub standard_error: f64,
    /// Sample mean of $\|\mathbf G\|$.
    pub mean_moment_norm: f64,
    /// The scalars $m_k$ of $\mathbb E[G_k] = m_kI$, $k = 1..N-1$.
    pub expected_moments: Vec<f64>,
}

impl Report for PriorReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "out               {} ({}, {} samples, seed {})",
            self.out, self.dtype, self.samples, self.seed
        );
        let _ = writeln!(
            s,
            "widths d0..dN     {:?}, D = {}",
            self.widths, self.dimension
        );
        let _ = writeln!(
            s,
            "β, κ              {}, {}",
            num(self.beta),
            num(self.kappa)
        );
        let _ = writeln!(
            s,
            "mean ‖W‖²         {} (expected {}, standard error {})",
            num(self.mean_l2_norm_sq),
            num(self.expected_l2_norm_sq),
            num(self.standard_error)
        );
        let _ = writeln!(s, "mean ‖G‖          {}", num(self.mean_moment_norm));
        let _ = write!(
            s,
            "E[G_k] = m_k I    m = {}",
            super::nums(&self.expected_moments)
        );
        s
    }
}

fn sample_prior<T: Element>(a: &PriorArgs, prior: &GaussianPrior) -> Result<PriorReport> {
    // The normal generator of noisy training (seeded outputs differ from versions that drew
    // from one xoshiro256++ generator or from ChaCha12).
    let mut rng = dln::bayes::NormalStream::new(a.seed);
    let nets: Vec<Network<T>> = (0..a.samples())
        .map(|_| prior.sample::<T, _>(&mut rng))
        .collect();
    write_stacked(&a.out, &nets)?;
    let s = nets.len() as f64;
    Ok(PriorReport {
        out: a.out.display().to_string(),
        dtype: T::DTYPE_NAME,
        widths: a.widths.0.clone(),
        beta: a.beta,
        kappa: a.kappa,
        samples: a.samples(),
        seed: a.seed,
        dimension: prior.dimension::<T>(),
        mean_l2_norm_sq: nets.iter().map(Network::l2_norm_sq).sum::<f64>() / s,
        expected_l2_norm_sq: prior.mean_l2_norm_sq::<T>(),
        standard_error: (prior.var_l2_norm_sq::<T>() / s).sqrt(),
        mean_moment_norm: nets.iter().map(Network::moment_norm).sum::<f64>() / s,
        expected_moments: prior.mean_moments::<T>(),
    })
}

/// The report of `dln sample train`.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    /// Data file.
    pub file: String,
    /// Initial weights.
    pub init: String,
    /// Output file.
    pub out: String,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Widths.
    pub widths: Vec<usize>,
    /// β.
    pub beta: f64,
    /// κ.
    pub kappa: f64,
    /// Final time.
    pub t_end: f64,
    /// Step size used.
    pub h: f64,
    /// Steps per path.
    pub steps: usize,
    /// Paths.
    pub paths: u64,
    /// Seed.
    pub seed: u64,
    /// Recording times.
    pub t: Vec<f64>,
    /// Path-averaged $\|\mathbf G\|$ at the recording times.
    pub mean_moment_norm: Vec<f64>,
    /// Path-averaged loss at the recording times.
    pub mean_loss: Vec<f64>,
    /// $\max_k\|\overline{G_k}(T) - \mathbb E[G_k(T)]\|_F$: the path mean against the moment law.
    pub moment_law_deviation: f64,
    /// Path average of $\sum h^2\|\nabla(E\circ\varphi)\|^2$, the splitting's bound on that deviation
    /// (to which sampling error of order $P^{-1/2}$ adds).
    pub discretisation_allowance: f64,
    /// Monte-Carlo standard error of `moment_law_deviation`:
    /// $\big(\sum_{ij}\widehat{\operatorname{Var}}(G_{k,ij}(T))/P\big)^{1/2}$ for the junction $k$ of the largest
    /// deviation (`null` with one path).
    pub moment_law_standard_error: Option<f64>,
    /// Whether $\|\overline{G_k}(T)-\mathbb E[G_k(T)]\|_F\le$ allowance $+\,5$ standard errors at every
    /// junction (`null` with one path or no junction).
    pub moment_law_consistent: Option<bool>,
}

impl Report for TrainReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "file              {} (init {}) → {}",
            self.file, self.init, self.out
        );
        let _ = writeln!(s, "widths d0..dN     {:?} ({})", self.widths, self.dtype);
        let _ = writeln!(
            s,
            "β, κ              {}, {}; {} paths, {} steps of h = {} to T = {}",
            num(self.beta),
            num(self.kappa),
            self.paths,
            self.steps,
            num(self.h),
            num(self.t_end)
        );
        let verdict = match (self.moment_law_standard_error, self.moment_law_consistent) {
            (Some(se), Some(ok)) => format!(
                "standard error {}, discretisation allowance {}: {}",
                num(se),
                num(self.discretisation_allowance),
                if ok {
                    "consistent (within allowance + 5 SE at every junction)"
                } else {
                    "NOT consistent (beyond allowance + 5 SE)"
                }
            ),
            _ => format!(
                "discretisation allowance {}; one path: no standard error",
                num(self.discretisation_allowance)
            ),
        };
        let _ = writeln!(
            s,
            "moment law        max_k ‖mean G_k(T) − E G_k(T)‖ = {} ({verdict})",
            num(self.moment_law_deviation),
        );
        let _ = writeln!(s, "t                 mean loss     mean ‖G‖");
        for i in 0..self.t.len() {
            let _ = writeln!(
                s,
                "{:<18}{:<14}{}",
                num(self.t[i]),
                num(self.mean_loss[i]),
                num(self.mean_moment_norm[i])
            );
        }
        s.pop();
        s
    }
}

fn sample_train<T: Element>(
    a: &TrainArgs,
    w0: Network<T>,
    u: Mat<T>,
    y: Mat<T>,
) -> Result<TrainReport> {
    let loss = LeastSquares::new(u, y).map_err(|e| CliError::file(&a.data, e))?;
    let nt = NoisyTraining::new(loss, a.beta, a.kappa, a.dt).map_err(CliError::new)?;
    let mut bar = Bar::new(a.json, "noisy training");
    let run = nt
        .run_paths(
            &w0,
            a.t_end,
            a.paths() as usize,
            a.records - 1,
            a.seed,
            &mut bar,
        )
        .map_err(|e| CliError::file(&a.data, format!("noisy training failed: {e}")))?;
    write_stacked(&a.out, &run.finals)?;
    let t_last = run.t.last().copied().unwrap_or(0.0);
    let law = expected_moments(&w0, a.beta, a.kappa, t_last);
    let last = run.mean_moments.last().cloned().unwrap_or_default();
    let per_path: Vec<Vec<Mat<T>>> = run.finals.iter().map(Network::moments).collect();
    let (deviation, se, consistent) =
        moment_law_verdict(&law, &last, &per_path, run.discretisation_allowance);
    Ok(TrainReport {
        file: a.data.display().to_string(),
        init: a.init.display().to_string(),
        out: a.out.display().to_string(),
        dtype: T::DTYPE_NAME,
        widths: w0.widths(),
        beta: a.beta,
        kappa: a.kappa,
        t_end: a.t_end,
        h: run.h,
        steps: run.steps,
        paths: a.paths(),
        seed: a.seed,
        t: run.t,
        mean_moment_norm: run.mean_moment_norm,
        mean_loss: run.mean_loss,
        moment_law_deviation: deviation,
        discretisation_allowance: run.discretisation_allowance,
        moment_law_standard_error: se,
        moment_law_consistent: consistent,
    })
}

/// The deviation $\max_k\|\overline{G_k}-\mathbb E G_k\|_F$ of the path means `mean` from the law,
/// the Monte-Carlo standard error $\big(\sum_{ij}s^2_{k,ij}/P\big)^{1/2}$ of the junction attaining it
/// ($s^2$ the unbiased sample variance over the `per_path` moments; the mean square of
/// $\|\overline{G_k}-\mathbb E G_k\|_F$ under the law is $\sum_{ij}\operatorname{Var}/P$), and the verdict
/// "every junction within `allowance` + 5 standard errors" (`None` for fewer than 2 paths).
fn moment_law_verdict<T: Scalar>(
    law: &[Mat<T>],
    mean: &[Mat<T>],
    per_path: &[Vec<Mat<T>>],
    allowance: f64,
) -> (f64, Option<f64>, Option<bool>) {
    let p = per_path.len() as f64;
    let mut worst = (0.0_f64, None::<f64>);
    let mut consistent = (per_path.len() >= 2 && !law.is_empty()).then_some(true);
    for (k, (e, m)) in law.iter().zip(mean).enumerate() {
        let dev = (e - m).norm_l2();
        let se = (per_path.len() >= 2).then(|| {
            let mut var_sum = 0.0;
            for j in 0..m.ncols() {
                for i in 0..m.nrows() {
                    var_sum += per_path
                        .iter()
                        .map(|g| (g[k][(i, j)] - m[(i, j)]).modulus_sq())
                        .sum::<f64>()
                        / (p - 1.0);
                }
            }
            (var_sum / p).sqrt()
        });
        if let (Some(se), Some(ok)) = (se, consistent.as_mut()) {
            *ok &= dev <= allowance + 5.0 * se;
        }
        if k == 0 || dev > worst.0 {
            worst = (dev, se);
        }
    }
    (worst.0, worst.1, consistent)
}

fn read_array(npz: &mut Npz, path: &Path, name: &str) -> Result<AnyMat> {
    npz.matrix(name, Dims::Matrix)?
        .ok_or_else(|| CliError::array(path, name, "missing array"))
}

fn promote<T: Scalar>(net: Network<T>) -> Network<c64> {
    let layers = net
        .into_layers()
        .into_iter()
        .map(|m| {
            Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
                c64::new(m[(i, j)].re(), m[(i, j)].im())
            })
        })
        .collect();
    Network::new(layers).expect("promoted layers compose")
}

/// `--NAME` must be a finite positive number: checked here rather than by clap, so that the error
/// is the program's one line (exit status 1), for negative values too (`allow_negative_numbers`).
fn check_positive(name: &str, x: f64) -> Result<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "--{name} must be finite and positive, got {x}"
        )))
    }
}

/// `--NAME` must be at least 1 (negative values reach this check too, so that their error is
/// the program's one line rather than clap's usage text).
fn check_count(name: &str, n: impl Into<i128>) -> Result<()> {
    let n: i128 = n.into();
    if n >= 1 {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "--{name} must be at least 1, got {n}"
        )))
    }
}

fn run_train(a: TrainArgs) -> Result<()> {
    check_positive("beta", a.beta)?;
    check_positive("kappa", a.kappa)?;
    check_positive("t-end", a.t_end)?;
    check_positive("dt", a.dt)?;
    check_count("paths", a.paths)?;
    if a.records < 2 {
        return Err(CliError::new(format!(
            "--records must be at least 2, got {}",
            a.records
        )));
    }
    check_output_file(&a.out)?;
    let w0 = read_weights(&a.init)?;
    let mut npz = Npz::open(&a.data)?;
    let inputs = read_array(&mut npz, &a.data, "inputs")?;
    let targets = read_array(&mut npz, &a.data, "targets")?;
    let widths = dispatch!(&w0, net => net.widths());
    let complex = matches!(w0, AnyNetwork::Complex(_));
    check_stack_memory("--paths", a.paths(), &widths, complex, 0)?;
    let (d0, dn) = (widths[0], widths[widths.len() - 1]);
    if inputs.shape().0 != d0 {
        return Err(CliError::array(
            &a.data,
            "inputs",
            format!(
                "has {} rows but the input layer W1 of {} has {d0} columns",
                inputs.shape().0,
                a.init.display()
            ),
        ));
    }
    if targets.shape().0 != dn {
        return Err(CliError::array(
            &a.data,
            "targets",
            format!(
                "has {} rows but the output layer of {} has {dn} rows",
                targets.shape().0,
                a.init.display()
            ),
        ));
    }
    if targets.shape().1 != inputs.shape().1 || inputs.shape().1 == 0 {
        return Err(CliError::array(
            &a.data,
            "targets",
            format!(
                "has {} columns (samples) but inputs has {} (need the same, at least 1)",
                targets.shape().1,
                inputs.shape().1
            ),
        ));
    }
    let report = match (w0, inputs, targets) {
        (crate::io::AnyNetwork::Real(w), AnyMat::Real(u), AnyMat::Real(y)) => {
            sample_train::<f64>(&a, w, u, y)?
        }
        (w, u, y) => {
            let w = match w {
                crate::io::AnyNetwork::Real(w) => promote(w),
                crate::io::AnyNetwork::Complex(w) => w,
            };
            sample_train::<c64>(&a, w, u.into_complex(), y.into_complex())?
        }
    };
    emit(&report, a.json)
}

/// Refuses, before anything is allocated, a run whose `count` stacked networks of `widths`
/// (plus `extra` bytes) exceed the memory limit: `--samples 1e12` used to abort on allocation.
///
/// # Errors
/// A message naming `flag` and the sizes.
fn check_stack_memory(
    flag: &str,
    count: u64,
    widths: &[usize],
    complex: bool,
    extra: u128,
) -> Result<()> {
    // The samples in memory and the staged output archive.
    let bytes =
        dln::resources::stacked_networks_bytes(count.into(), widths, complex).saturating_add(extra);
    check_memory(&format!("{flag} {count}"), bytes)
}

/// A count flag read as a signed number (so that `-5` reaches [`check_count`]), as the `u64` the
/// samplers take; 0 for a negative value, which [`check_count`] refuses before any use.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl PriorArgs {
    fn samples(&self) -> u64 {
        count(self.samples)
    }
}

impl FiberArgs {
    fn samples(&self) -> u64 {
        count(self.samples)
    }
}

impl TrainArgs {
    fn paths(&self) -> u64 {
        count(self.paths)
    }
}

fn run_prior(a: PriorArgs) -> Result<()> {
    check_positive("beta", a.beta)?;
    check_positive("kappa", a.kappa)?;
    check_count("samples", a.samples)?;
    check_output_file(&a.out)?;
    check_stack_memory("--samples", a.samples(), &a.widths.0, a.complex, 0)?;
    let prior = GaussianPrior::new(a.beta, a.kappa, &a.widths.0).map_err(CliError::new)?;
    let report = if a.complex {
        sample_prior::<c64>(&a, &prior)?
    } else {
        sample_prior::<f64>(&a, &prior)?
    };
    emit(&report, a.json)
}

/// The report of `dln sample fiber`.
#[derive(Debug, Serialize)]
pub struct FiberReport {
    /// Input weights.
    pub file: String,
    /// Output file.
    pub out: String,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Widths.
    pub widths: Vec<usize>,
    /// β.
    pub beta: f64,
    /// κ.
    pub kappa: f64,
    /// `hausdorff` or `conditional`.
    pub measure: &'static str,
    /// `hmc`, `rwm`, `graph-hmc` or `block-gibbs`.
    pub sampler: &'static str,
    /// RATTLE (hmc) or leapfrog (graph-hmc) steps per trajectory, leapfrog steps per sweep
    /// (block-gibbs); 0 for rwm.
    pub leapfrog_steps: usize,
    /// Retained samples.
    pub samples: u64,
    /// Independent chains (pooled).
    pub chains: u64,
    /// Burn-in steps (per chain).
    pub burn_in: u64,
    /// Thinning.
    pub thin: u64,
    /// Seed.
    pub seed: u64,
    /// Real dimension of the fiber.
    pub fiber_dimension: usize,
    /// Accepted moves (rwm) or trajectories (hmc) over post-burn-in steps.
    pub acceptance_rate: f64,
    /// Effective sample size of $\|\mathbf W\|^2$ over the post-burn-in steps (batch means).
    pub ess: f64,
    /// Post-burn-in steps (rwm: tangent moves; hmc: trajectories).
    pub steps: usize,
    /// Mean of $\|\mathbf W\|^2$ over the post-burn-in steps.
    pub mean_l2_norm_sq: f64,
    /// Its batch-means standard error.
    pub standard_error: f64,
    /// $\max\|\varphi(\mathbf W)-X\|_F/\|X\|_F$ over the samples.
    pub max_constraint_residual: f64,
    /// Mean $\|\mathbf G\|$ over the samples.
    pub mean_moment_norm: f64,
    /// Proposal scale (rwm) or RATTLE step (hmc) after burn-in.
    pub step: f64,
    /// Proposals whose projection onto the fiber failed (rejected).
    pub projection_failures: usize,
    /// Proposals rejected by the reverse-projection check.
    pub reverse_failures: usize,
    /// Junction sign flips.
    pub flips: usize,
    /// Split-$\hat R$ of $\|\mathbf W\|^2$ between the chains (the classic split-$\hat R$ of
    /// Gelman et al., BDA3, over each chain's retained samples): present only with `--chains` ≥ 2
    /// and at least 4 samples per chain (absent, not null, otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rhat: Option<f64>,
}

impl Report for FiberReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "file              {} → {} ({}, {} samples{}, burn-in {}, thin {}, seed {})",
            self.file,
            self.out,
            self.dtype,
            self.samples,
            if self.chains > 1 {
                format!(" in {} chains", self.chains)
            } else {
                String::new()
            },
            self.burn_in,
            self.thin,
            self.seed
        );
        let _ = writeln!(
            s,
            "widths d0..dN     {:?}, fiber dimension {}",
            self.widths, self.fiber_dimension
        );
        let _ = writeln!(
            s,
            "β, κ, measure     {}, {}, {}",
            num(self.beta),
            num(self.kappa),
            self.measure
        );
        let what = if self.leapfrog_steps > 0 {
            format!(
                "{} ({} {} steps per {})",
                self.sampler,
                self.leapfrog_steps,
                if self.sampler == "hmc" {
                    "RATTLE"
                } else {
                    "leapfrog"
                },
                if self.sampler == "block-gibbs" {
                    "sweep"
                } else {
                    "trajectory"
                }
            )
        } else {
            self.sampler.to_string()
        };
        let _ = writeln!(s, "sampler           {what}");
        let _ = writeln!(
            s,
            "acceptance        {} (step {}; {} projection and {} reverse-check rejections, {} flips)",
            num(self.acceptance_rate),
            num(self.step),
            self.projection_failures,
            self.reverse_failures,
            self.flips
        );
        let _ = writeln!(
            s,
            "ESS of ‖W‖²       {} of {} steps",
            num(self.ess),
            self.steps
        );
        let _ = writeln!(
            s,
            "mean ‖W‖²         {} (standard error {})",
            num(self.mean_l2_norm_sq),
            num(self.standard_error)
        );
        let _ = writeln!(s, "mean ‖G‖          {}", num(self.mean_moment_norm));
        if let Some(r) = self.rhat {
            let _ = writeln!(
                s,
                "split-R̂ of ‖W‖²   {} (between the {} chains; ≈ 1 when they agree)",
                num(r),
                self.chains
            );
        }
        let _ = write!(s, "max ‖φ(W)−X‖/‖X‖  {}", num(self.max_constraint_residual));
        s
    }
}

fn sample_fiber<T: Element>(a: &FiberArgs, w0: Network<T>) -> Result<FiberReport> {
    let measure = match a.measure {
        MeasureArg::Hausdorff => BaseMeasure::Hausdorff,
        MeasureArg::Conditional => BaseMeasure::Conditional,
    };
    let post = FiberPosterior::new(a.beta, a.kappa, measure).map_err(CliError::new)?;
    let mut bar = Bar::new(a.json, "fiber posterior");
    // The default sampler per measure and the default burn-in are the library's
    // (`FiberSampler::default_for`, `FiberSampler::default_burn_in`), shared with Python.
    let sampler = a
        .sampler
        .map_or(FiberSampler::default_for(measure, &w0), SamplerArg::sampler);
    let burn_in = a.burn_in.map_or(sampler.default_burn_in(), |b| b as usize);
    let chain = post
        .sample_chains(
            sampler,
            &w0,
            count(a.chains) as usize,
            a.samples() as usize,
            Some(burn_in),
            a.thin as usize,
            a.seed,
            &mut bar,
        )
        .map_err(|e| CliError::file(&a.weights, e))?;
    write_stacked(&a.out, &chain.samples)?;
    let d = chain.diagnostics;
    Ok(FiberReport {
        file: a.weights.display().to_string(),
        out: a.out.display().to_string(),
        dtype: T::DTYPE_NAME,
        widths: w0.widths(),
        beta: a.beta,
        kappa: a.kappa,
        measure: measure.name(),
        sampler: sampler.name(),
        leapfrog_steps: d.leapfrog_steps,
        samples: a.samples(),
        chains: count(a.chains),
        burn_in: burn_in as u64,
        thin: a.thin,
        seed: a.seed,
        fiber_dimension: d.fiber_dimension,
        acceptance_rate: d.acceptance_rate,
        ess: d.ess,
        steps: d.steps,
        mean_l2_norm_sq: d.mean_l2_norm_sq,
        standard_error: d.standard_error,
        max_constraint_residual: d.max_constraint_residual,
        mean_moment_norm: d.mean_moment_norm,
        step: d.step,
        projection_failures: d.projection_failures,
        reverse_failures: d.reverse_failures,
        flips: d.flips,
        rhat: d.rhat,
    })
}

fn run_fiber(a: FiberArgs) -> Result<()> {
    check_positive("beta", a.beta)?;
    check_positive("kappa", a.kappa)?;
    check_count("samples", a.samples)?;
    check_count("thin", a.thin)?;
    check_count("chains", a.chains)?;
    if a.chains > a.samples {
        return Err(CliError::new(format!(
            "--chains {} exceeds --samples {}: every chain keeps at least one sample",
            a.chains, a.samples
        )));
    }
    check_output_file(&a.out)?;
    let w0 = read_weights(&a.weights)?;
    // One f64 of ‖W‖² per post-burn-in step is kept for the effective sample size.
    let trace = 8 * u128::from(a.samples()) * u128::from(a.thin);
    let complex = matches!(w0, AnyNetwork::Complex(_));
    let widths = dispatch!(&w0, net => net.widths());
    check_stack_memory("--samples", a.samples(), &widths, complex, trace)?;
    let report = dispatch!(w0, net => sample_fiber(&a, net)?);
    emit(&report, a.json)
}

/// Runs `dln sample`.
///
/// # Errors
/// Invalid parameters, unreadable inputs, an unwritable `--out`, a diverging run.
pub fn run(args: Args) -> Result<()> {
    match args.what {
        What::Prior(a) => run_prior(a),
        What::Train(a) => run_train(a),
        What::Fiber(a) => run_fiber(a),
    }
}
