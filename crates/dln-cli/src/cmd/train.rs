//! `dln train DATA.npz --widths d0,d1,…,dN [--kappa K] [--t-end T | --steps S --lr η]
//! [--init balanced|gaussian] [--seed s] --out W.npz [--json]`: train a deep linear network by
//! least squares, $E(X) = \frac1{2n}\|XU - Y\|_F^2$ on the arrays `inputs` $U$ ($d_0\times n$) and
//! `targets` $Y$ ($d_N\times n$) of DATA, with weight decay $\tfrac\kappa2\|\mathbf W\|^2$: the gradient
//! flow to time $T$ (adaptive Dormand–Prince) or $S$ steps of gradient descent with step size $\eta$.
//! Along the flow the moments obey $\mathbf G(t) = \mathbf G(0)e^{-2\kappa t}$, which the reported series
//! shows.

use super::flow::Bar;
use super::{Report, emit, nonneg_f64, num, positive_f64};
use crate::error::{CliError, Result};
use crate::io::{AnyMat, Dims, Element, Npz, check_output_file, write_weights};
use crate::resources::{DEFAULT_MAX_STEPS, check_memory, check_samples, training_bytes};
use dln::algebra::{BalanceMethod, BalanceOptions, Network, balance};
use dln::flows::FlowBuilder;
use dln::flows::balancing::linspace;
use dln::flows::loss::LeastSquares;
use dln::flows::training::{TrainingOptions, TrainingRun, gradient_descent, train_flow};
use dln::linalg::{c64, random};
use faer::Mat;
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// Train a deep linear network by least squares on DATA (arrays inputs d0×n, targets dN×n); write the weights to --out.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data: an .npz archive with arrays `inputs` (d0×n) and `targets` (dN×n), one sample per column.
    pub data: PathBuf,
    /// Widths d0,d1,…,dN (comma-separated; N ≥ 1 layers).
    #[arg(long, value_name = "d0,…,dN", value_parser = parse_widths)]
    pub widths: Widths,
    /// Weight decay κ ≥ 0 (the objective is E(X) + κ/2·‖W‖²).
    #[arg(long, value_name = "K", default_value = "0", value_parser = nonneg_f64)]
    pub kappa: f64,
    /// Gradient flow up to time T (adaptive Dormand–Prince 5(4)).
    #[arg(long, value_name = "T", value_parser = positive_f64, required_unless_present = "steps", conflicts_with_all = ["steps", "lr"])]
    pub t_end: Option<f64>,
    /// Gradient descent: number of steps (needs --lr).
    #[arg(long, value_name = "S", requires = "lr")]
    pub steps: Option<usize>,
    /// Gradient descent: step size η.
    #[arg(long, value_name = "η", value_parser = positive_f64, requires = "steps")]
    pub lr: Option<f64>,
    /// Initial weights: gaussian (entries N(0, 1/d_{k-1})) or balanced (the same, balanced in its fiber).
    #[arg(long, value_enum, default_value_t = Init::Gaussian)]
    pub init: Init,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of samples in the reported series (2 to 100000).
    #[arg(long, value_name = "K", default_value_t = 11)]
    pub samples: usize,
    /// Most integrator steps (--t-end; a run that would need more stops early) or descent steps (--steps).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_STEPS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_steps: usize,
    /// Relative tolerance of the integrator (--t-end).
    #[arg(long, value_name = "R", default_value = "1e-10", value_parser = positive_f64)]
    pub rtol: f64,
    /// Absolute tolerance of the integrator (--t-end).
    #[arg(long, value_name = "A", default_value = "1e-12", value_parser = positive_f64)]
    pub atol: f64,
    /// Output .npz archive for the trained weights W1..WN.
    #[arg(long, value_name = "OUT.npz")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parsed `--widths`.
#[derive(Debug, Clone)]
pub struct Widths(pub Vec<usize>);

fn parse_widths(s: &str) -> std::result::Result<Widths, String> {
    let w: std::result::Result<Vec<usize>, _> =
        s.split(',').map(|x| x.trim().parse::<usize>()).collect();
    match w {
        Ok(w) if w.len() >= 2 && w.iter().all(|&d| d >= 1) => Ok(Widths(w)),
        Ok(_) => Err(format!(
            "need at least two positive widths d0,…,dN, got `{s}`"
        )),
        Err(_) => Err(format!(
            "`{s}` is not a comma-separated list of positive integers"
        )),
    }
}

/// `--init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Init {
    /// Gaussian layers, variance 1/d_{k-1}.
    Gaussian,
    /// Gaussian layers balanced in their fiber (same X, G = 0).
    Balanced,
}

/// The report of `dln train`.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    /// Data file.
    pub file: String,
    /// Output file.
    pub out: String,
    /// `flow` or `gradient-descent`.
    pub mode: &'static str,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Widths.
    pub widths: Vec<usize>,
    /// Samples $n$.
    pub samples: usize,
    /// Weight decay.
    pub kappa: f64,
    /// Final time (flow) or steps × step size (descent).
    pub t_end: f64,
    /// Accepted steps (flow) or iterations (descent).
    pub steps: usize,
    /// Step size of gradient descent, `null` for the flow.
    pub lr: Option<f64>,
    /// `gaussian` or `balanced`.
    pub init: &'static str,
    /// Seed.
    pub seed: u64,
    /// $E$ at the start.
    pub loss_initial: f64,
    /// $E$ at the end.
    pub loss_final: f64,
    /// $\|\mathbf G\|$ at the start.
    pub moment_norm_initial: f64,
    /// $\|\mathbf G\|$ at the end.
    pub moment_norm_final: f64,
    /// Sample times (first 0).
    pub t: Vec<f64>,
    /// $E(X(t))$.
    pub loss: Vec<f64>,
    /// $\|\mathbf G(t)\|$.
    pub moment_norm: Vec<f64>,
}

impl Report for TrainReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let widths = self
            .widths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" → ");
        let _ = writeln!(s, "file              {} → {}", self.file, self.out);
        let _ = writeln!(
            s,
            "widths d0..dN     {widths} ({}, {} samples)",
            self.dtype, self.samples
        );
        let _ = writeln!(
            s,
            "mode              {} to t = {} ({} steps), κ = {}",
            self.mode,
            num(self.t_end),
            self.steps,
            num(self.kappa)
        );
        let _ = writeln!(
            s,
            "loss              {} → {}",
            num(self.loss_initial),
            num(self.loss_final)
        );
        let _ = writeln!(
            s,
            "‖G‖               {} → {}",
            num(self.moment_norm_initial),
            num(self.moment_norm_final)
        );
        let _ = writeln!(s, "t                 loss          ‖G‖");
        for i in 0..self.t.len() {
            let _ = writeln!(
                s,
                "{:<18}{:<14}{}",
                num(self.t[i]),
                num(self.loss[i]),
                num(self.moment_norm[i])
            );
        }
        s.pop();
        s
    }
}

fn init_network<T: Element>(args: &Args) -> Result<Network<T>> {
    let w = &args.widths.0;
    let mut rng = random::rng(args.seed);
    let layers = (1..w.len())
        .map(|k| {
            random::scaled(
                random::gaussian::<T, _>(&mut rng, w[k], w[k - 1]).as_ref(),
                1.0 / (w[k - 1] as f64).sqrt(),
            )
        })
        .collect();
    let net = Network::new(layers).map_err(CliError::new)?;
    match args.init {
        Init::Gaussian => Ok(net),
        Init::Balanced => Ok(balance(
            &net,
            BalanceOptions {
                method: BalanceMethod::Svd,
                ..Default::default()
            },
        )
        .map_err(|e| CliError::new(format!("balancing the initial weights failed: {e}")))?
        .network),
    }
}

fn compute<T: Element>(args: &Args, inputs: Mat<T>, targets: Mat<T>) -> Result<TrainReport> {
    let n = inputs.ncols();
    let loss = LeastSquares::new(inputs, targets).map_err(|e| CliError::file(&args.data, e))?;
    let w0: Network<T> = init_network(args)?;
    let mut bar = Bar::new(args.json, "train").with_budget(args.max_steps);
    let fail = |e| CliError::file(&args.data, format!("training failed: {e}"));
    let (run, mode, t_end, lr): (TrainingRun<T>, _, _, _) = match (args.t_end, args.steps, args.lr)
    {
        (Some(t_end), _, _) => {
            let integration = FlowBuilder::new()
                .rtol(args.rtol)
                .atol(args.atol)
                .max_steps(args.max_steps)
                .build()
                .map_err(CliError::new)?;
            let opts = TrainingOptions {
                kappa: args.kappa,
                integration,
                split: false,
            };
            (
                train_flow(&w0, &loss, &opts, &linspace(t_end, args.samples), &mut bar)
                    .map_err(fail)?,
                "flow",
                t_end,
                None,
            )
        }
        (None, Some(steps), Some(lr)) => {
            let every = (steps / (args.samples - 1)).max(1);
            let run = gradient_descent(&w0, &loss, args.kappa, lr, steps, every, &mut bar)
                .map_err(fail)?;
            (run, "gradient-descent", steps as f64 * lr, Some(lr))
        }
        _ => {
            return Err(CliError::new(
                "give either --t-end T or both --steps S and --lr η",
            ));
        }
    };
    if let Some(e) = bar.refusal() {
        return Err(e);
    }
    write_weights(&args.out, &run.network)?;
    let s0 = run.samples.first().copied();
    let s1 = run.samples.last().copied();
    Ok(TrainReport {
        file: args.data.display().to_string(),
        out: args.out.display().to_string(),
        mode,
        dtype: T::DTYPE_NAME,
        widths: args.widths.0.clone(),
        samples: n,
        kappa: args.kappa,
        t_end,
        steps: run.stats.n_steps,
        lr,
        init: match args.init {
            Init::Gaussian => "gaussian",
            Init::Balanced => "balanced",
        },
        seed: args.seed,
        loss_initial: s0.map(|s| s.loss).unwrap_or(f64::NAN),
        loss_final: s1.map(|s| s.loss).unwrap_or(f64::NAN),
        moment_norm_initial: s0.map(|s| s.moment_norm).unwrap_or(f64::NAN),
        moment_norm_final: s1.map(|s| s.moment_norm).unwrap_or(f64::NAN),
        t: run.samples.iter().map(|s| s.t).collect(),
        loss: run.samples.iter().map(|s| s.loss).collect(),
        moment_norm: run.samples.iter().map(|s| s.moment_norm).collect(),
    })
}

fn read_array(npz: &mut Npz, path: &std::path::Path, name: &str) -> Result<AnyMat> {
    let m = npz
        .matrix(name, Dims::Matrix)?
        .ok_or_else(|| CliError::array(path, name, "missing array"))?;
    let finite = match &m {
        AnyMat::Real(m) => dln::linalg::check_finite(m.as_ref()),
        AnyMat::Complex(m) => dln::linalg::check_finite(m.as_ref()),
    };
    if let Err(e) = finite {
        return Err(CliError::array(path, name, e));
    }
    Ok(m)
}

/// Runs `dln train`.
///
/// # Errors
/// Unreadable data, missing or mis-shaped arrays, an unwritable `--out`, a diverging run.
pub fn run(args: Args) -> Result<()> {
    check_samples(args.samples)?;
    if let Some(s) = args.steps.filter(|&s| s > args.max_steps) {
        return Err(CliError::new(format!(
            "--steps {s} is more than --max-steps {} (raise --max-steps to run that long)",
            args.max_steps
        )));
    }
    // Complex data doubles the entries' size: estimate for the larger.
    let widths = args
        .widths
        .0
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",");
    check_memory(
        &format!("--widths {widths}"),
        training_bytes(&args.widths.0, 16),
    )?;
    check_output_file(&args.out)?;
    let mut npz = Npz::open(&args.data)?;
    let inputs = read_array(&mut npz, &args.data, "inputs")?;
    let targets = read_array(&mut npz, &args.data, "targets")?;
    let w = &args.widths.0;
    let (d0, dn) = (w[0], w[w.len() - 1]);
    if inputs.shape().0 != d0 {
        return Err(CliError::array(
            &args.data,
            "inputs",
            format!(
                "has {} rows but --widths starts with d0 = {d0}",
                inputs.shape().0
            ),
        ));
    }
    if targets.shape().0 != dn {
        return Err(CliError::array(
            &args.data,
            "targets",
            format!(
                "has {} rows but --widths ends with dN = {dn}",
                targets.shape().0
            ),
        ));
    }
    if targets.shape().1 != inputs.shape().1 {
        return Err(CliError::array(
            &args.data,
            "targets",
            format!(
                "has {} columns (samples) but inputs has {}",
                targets.shape().1,
                inputs.shape().1
            ),
        ));
    }
    if inputs.shape().1 == 0 {
        return Err(CliError::array(
            &args.data,
            "inputs",
            "has no samples (0 columns)",
        ));
    }
    let report = match (inputs, targets) {
        (AnyMat::Real(u), AnyMat::Real(y)) => compute::<f64>(&args, u, y)?,
        (u, y) => compute::<c64>(&args, u.into_complex(), y.into_complex())?,
    };
    emit(&report, args.json)
}
