//! `dln train DATA.npz --widths d0,d1,…,dN [--loss least-squares|completion|sensing] [--kappa K]
//! [--t-end T | --steps S --lr η] [--init balanced|gaussian|W0.npz] [--init-scale s] [--seed s]
//! --out W.npz [--json]`: train a deep linear network on the loss $E$ read from DATA, with weight
//! decay $\tfrac\kappa2\|\mathbf W\|^2$: the gradient flow to time $T$ (adaptive Dormand–Prince) or
//! $S$ steps of gradient descent with step size $\eta$.
//!
//! Losses and their arrays in DATA:
//! - `least-squares`: $E(X) = \frac1{2n}\|XU - Y\|_F^2$, arrays `inputs` $U$ ($d_0\times n$) and
//!   `targets` $Y$ ($d_N\times n$);
//! - `completion`: $E(X) = \tfrac12\|P_\Omega(X - M)\|_F^2$, arrays `targets` $M$ ($d_N\times d_0$) and
//!   `mask` ($d_N\times d_0$, real, entries 0 or 1; 1 = observed);
//! - `sensing`: $E(X) = \frac1{2m}\sum_i(\langle A_i, X\rangle - y_i)^2$, arrays `sensors`
//!   ($m\times d_Nd_0$, row $i$ is $A_i$ flattened row-major, numpy's `A.reshape(m, -1)`) and
//!   `measurements` $y$ (length $m$, real).
//!
//! Along the flow the moments obey $\mathbf G(t) = \mathbf G(0)e^{-2\kappa t}$, which the reported
//! series shows. A diverging run (non-finite loss or weights) is a one-line error naming the step;
//! nothing is written.

use super::flow::Bar;
use super::{Report, emit, nonneg_f64, num, positive_f64};
use crate::error::{CliError, Result};
use crate::io::{
    AnyMat, AnyNetwork, Dims, Element, Npz, check_output_file, read_weights, write_weights,
};
use crate::resources::{DEFAULT_MAX_STEPS, check_memory, check_samples, training_bytes};
use dln::algebra::Network;
use dln::flows::FlowBuilder;
use dln::flows::FlowError;
use dln::flows::balancing::linspace;
use dln::flows::loss::{LeastSquares, Loss, MatrixCompletion, MatrixSensing};
use dln::flows::training::{
    TrainingOptions, TrainingRun, gaussian_init, gradient_descent, train_flow,
};
use dln::linalg::{c64, random};
use faer::Mat;
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// Train a deep linear network on DATA (least squares, matrix completion or sensing); write the weights to --out.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data: an .npz archive; least-squares: `inputs` (d0×n), `targets` (dN×n); completion:
    /// `targets` (dN×d0), `mask` (dN×d0, 0/1); sensing: `sensors` (m×dN·d0, row i = A_i flattened
    /// row-major), `measurements` (length m).
    pub data: PathBuf,
    /// Widths d0,d1,…,dN (comma-separated; N ≥ 1 layers).
    #[arg(long, value_name = "d0,…,dN", value_parser = parse_widths)]
    pub widths: Widths,
    /// The loss E(X).
    #[arg(long, value_enum, default_value_t = LossKind::LeastSquares)]
    pub loss: LossKind,
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
    /// Initial weights: gaussian (entries N(0, 1/d_{k-1})), balanced (the same, balanced in its
    /// fiber) or an .npz archive with W1..WN.
    #[arg(long, value_name = "gaussian|balanced|W0.npz", default_value = "gaussian", value_parser = parse_init)]
    pub init: Init,
    /// Multiply every initial layer by s (small s: the small-initialisation regime).
    #[arg(long, value_name = "s", default_value = "1", value_parser = positive_f64)]
    pub init_scale: f64,
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
    /// Absolute tolerance of the integrator (--t-end), in units of ‖W(0)‖ when the initial weights
    /// are smaller than 1 (so a tiny initialisation is followed as accurately as a unit one).
    #[arg(long, value_name = "A", default_value = "1e-12", value_parser = positive_f64)]
    pub atol: f64,
    /// Output .npz archive for the trained weights W1..WN.
    #[arg(long, value_name = "OUT.npz")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parsed `--widths` (shared by `dln train` and `dln sample prior`).
#[derive(Debug, Clone)]
pub struct Widths(pub Vec<usize>);

pub(super) fn parse_widths(s: &str) -> std::result::Result<Widths, String> {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Init {
    /// Gaussian layers, variance 1/d_{k-1}.
    Gaussian,
    /// Gaussian layers balanced in their fiber (same X, G = 0).
    Balanced,
    /// The weights W1..WN of an .npz archive.
    File(PathBuf),
}

impl Init {
    fn name(&self) -> &'static str {
        match self {
            Init::Gaussian => "gaussian",
            Init::Balanced => "balanced",
            Init::File(_) => "file",
        }
    }
}

fn parse_init(s: &str) -> std::result::Result<Init, String> {
    match s {
        "gaussian" => Ok(Init::Gaussian),
        "balanced" => Ok(Init::Balanced),
        "" => Err("expected gaussian, balanced or an .npz file of weights W1..WN".to_string()),
        path => Ok(Init::File(PathBuf::from(path))),
    }
}

/// `--loss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LossKind {
    /// E(X) = ‖XU − Y‖²/(2n) on arrays inputs U, targets Y.
    LeastSquares,
    /// E(X) = ½‖P_Ω(X − M)‖² on arrays targets M, mask (0/1).
    Completion,
    /// E(X) = Σ(⟨A_i, X⟩ − y_i)²/(2m) on arrays sensors (rows A_i), measurements y.
    Sensing,
}

impl LossKind {
    fn name(self) -> &'static str {
        match self {
            LossKind::LeastSquares => "least-squares",
            LossKind::Completion => "completion",
            LossKind::Sensing => "sensing",
        }
    }
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
    /// `least-squares`, `completion` or `sensing`.
    pub loss_kind: &'static str,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Widths.
    pub widths: Vec<usize>,
    /// Samples $n$ (least squares), observed entries (completion) or measurements $m$ (sensing).
    pub samples: usize,
    /// Weight decay.
    pub kappa: f64,
    /// Final time (flow) or steps × step size (descent).
    pub t_end: f64,
    /// Accepted steps (flow) or iterations (descent).
    pub steps: usize,
    /// Step size of gradient descent; the key is absent for the flow (never `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// `gaussian`, `balanced` or `file`.
    pub init: &'static str,
    /// The factor applied to every initial layer.
    pub init_scale: f64,
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
            "widths d0..dN     {widths} ({}, {} loss, {} samples)",
            self.dtype, self.loss_kind, self.samples
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

/// The initial weights: random (`gaussian`/`balanced`) or `file` (already read, promoted to `T`),
/// every layer multiplied by `--init-scale`.
fn init_network<T: Element>(args: &Args, file: Option<Network<T>>) -> Result<Network<T>> {
    let w = &args.widths.0;
    let net = match (&args.init, file) {
        (_, Some(net)) => net,
        (init, None) => gaussian_init(w, args.seed, *init == Init::Balanced).map_err(|e| {
            CliError::new(format!(
                "cannot draw the initial weights (--widths, --init): {e}"
            ))
        })?,
    };
    if (args.init_scale - 1.0).abs() > 0.0 {
        let layers = net
            .layers()
            .iter()
            .map(|m| random::scaled(m.as_ref(), args.init_scale))
            .collect();
        return Network::new(layers).map_err(CliError::new);
    }
    Ok(net)
}

/// The one-line error of a failed run; a divergence of gradient descent suggests a smaller step.
fn training_error(args: &Args, e: FlowError) -> CliError {
    match (e, args.lr) {
        (FlowError::Diverged { step, what, .. }, Some(lr)) => CliError::file(
            &args.data,
            format!(
                "training diverged at step {step} of {} ({what}); try a smaller --lr than {lr}",
                args.steps.unwrap_or(0)
            ),
        ),
        (e, _) => CliError::file(&args.data, format!("training failed: {e}")),
    }
}

fn compute<T: Element, L: Loss<T>>(
    args: &Args,
    loss: L,
    samples: usize,
    w0: Network<T>,
) -> Result<TrainReport> {
    let mut bar = Bar::new(args.json, "train").with_budget(args.max_steps);
    let fail = |e| training_error(args, e);
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
        loss_kind: args.loss.name(),
        dtype: T::DTYPE_NAME,
        widths: args.widths.0.clone(),
        samples,
        kappa: args.kappa,
        t_end,
        steps: run.stats.n_steps,
        lr,
        init: args.init.name(),
        init_scale: args.init_scale,
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

fn read_array(npz: &mut Npz, path: &std::path::Path, name: &str, dims: Dims) -> Result<AnyMat> {
    let m = npz
        .matrix(name, dims)?
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

/// A real array, or a one-line error naming it.
fn real_array(path: &std::path::Path, name: &str, m: AnyMat, why: &str) -> Result<Mat<f64>> {
    match m {
        AnyMat::Real(m) => Ok(m),
        AnyMat::Complex(_) => Err(CliError::array(
            path,
            name,
            format!("is complex but must be real ({why})"),
        )),
    }
}

/// The arrays of DATA for the chosen loss, validated against `--widths`: the primary array (field
/// of the problem) and the real or same-field secondary array.
struct Arrays {
    primary: AnyMat,
    secondary: AnyMat,
}

fn read_data(args: &Args) -> Result<Arrays> {
    let path = &args.data;
    let mut npz = Npz::open(path)?;
    let w = &args.widths.0;
    let (d0, dn) = (w[0], w[w.len() - 1]);
    let arr = |name: &str, problem: String| CliError::array(path, name, problem);
    match args.loss {
        LossKind::LeastSquares => {
            let inputs = read_array(&mut npz, path, "inputs", Dims::Matrix)?;
            let targets = read_array(&mut npz, path, "targets", Dims::Matrix)?;
            if inputs.shape().0 != d0 {
                return Err(arr(
                    "inputs",
                    format!(
                        "has {} rows but --widths starts with d0 = {d0}",
                        inputs.shape().0
                    ),
                ));
            }
            if targets.shape().0 != dn {
                return Err(arr(
                    "targets",
                    format!(
                        "has {} rows but --widths ends with dN = {dn}",
                        targets.shape().0
                    ),
                ));
            }
            if targets.shape().1 != inputs.shape().1 {
                return Err(arr(
                    "targets",
                    format!(
                        "has {} columns (samples) but inputs has {}",
                        targets.shape().1,
                        inputs.shape().1
                    ),
                ));
            }
            if inputs.shape().1 == 0 {
                return Err(arr("inputs", "has no samples (0 columns)".into()));
            }
            Ok(Arrays {
                primary: inputs,
                secondary: targets,
            })
        }
        LossKind::Completion => {
            let targets = read_array(&mut npz, path, "targets", Dims::Matrix)?;
            let mask = read_array(&mut npz, path, "mask", Dims::Matrix)?;
            if targets.shape() != (dn, d0) {
                return Err(arr(
                    "targets",
                    format!(
                        "has shape {}×{} but --widths needs dN×d0 = {dn}×{d0}",
                        targets.shape().0,
                        targets.shape().1
                    ),
                ));
            }
            if mask.shape() != targets.shape() {
                return Err(arr(
                    "mask",
                    format!(
                        "has shape {}×{} but targets is {dn}×{d0}",
                        mask.shape().0,
                        mask.shape().1
                    ),
                ));
            }
            let m = real_array(path, "mask", mask, "entries 0 or 1")?;
            let mut observed = 0;
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    let v = m[(i, j)];
                    if (v - 1.0).abs() < f64::EPSILON {
                        observed += 1;
                    } else if v != 0.0 {
                        return Err(arr(
                            "mask",
                            format!("entry ({i}, {j}) is {v}; the mask must hold only 0 and 1"),
                        ));
                    }
                }
            }
            if observed == 0 {
                return Err(arr("mask", "observes no entry (all zeros)".into()));
            }
            Ok(Arrays {
                primary: targets,
                secondary: AnyMat::Real(m),
            })
        }
        LossKind::Sensing => {
            let sensors = read_array(&mut npz, path, "sensors", Dims::Matrix)?;
            let y = read_array(&mut npz, path, "measurements", Dims::Column)?;
            let (m, cols) = sensors.shape();
            if cols != dn * d0 {
                return Err(arr(
                    "sensors",
                    format!(
                        "has {cols} columns but --widths needs dN·d0 = {dn}·{d0} = {} (row i is A_i flattened row-major)",
                        dn * d0
                    ),
                ));
            }
            if m == 0 {
                return Err(arr("sensors", "has no rows (no measurement)".into()));
            }
            if y.shape() != (m, 1) {
                return Err(arr(
                    "measurements",
                    format!(
                        "has shape {}×{} but sensors has {m} rows (expected a vector of length {m})",
                        y.shape().0,
                        y.shape().1
                    ),
                ));
            }
            let y = real_array(path, "measurements", y, "⟨A_i, X⟩ is real")?;
            Ok(Arrays {
                primary: sensors,
                secondary: AnyMat::Real(y),
            })
        }
    }
}

/// Builds the loss over `T` and trains; `field` converts a matrix of the data to `T`.
fn train_in<T: Element>(
    args: &Args,
    data: Arrays,
    init: Option<Network<T>>,
    field: fn(AnyMat) -> Mat<T>,
) -> Result<TrainReport> {
    let loss_err = |e| CliError::file(&args.data, e);
    let w0 = init_network(args, init)?;
    let w = &args.widths.0;
    let (d0, dn) = (w[0], w[w.len() - 1]);
    match args.loss {
        LossKind::LeastSquares => {
            let (u, y) = (field(data.primary), field(data.secondary));
            let n = u.ncols();
            compute(args, LeastSquares::new(u, y).map_err(loss_err)?, n, w0)
        }
        LossKind::Completion => {
            let AnyMat::Real(mask) = data.secondary else {
                unreachable!("read_data checks that the mask is real")
            };
            let observed = (0..mask.ncols())
                .map(|j| (0..mask.nrows()).filter(|&i| mask[(i, j)] > 0.5).count())
                .sum();
            let loss = MatrixCompletion::new(field(data.primary), mask).map_err(loss_err)?;
            compute(args, loss, observed, w0)
        }
        LossKind::Sensing => {
            let AnyMat::Real(y) = data.secondary else {
                unreachable!("read_data checks that the measurements are real")
            };
            let a = field(data.primary);
            let sensors = (0..a.nrows())
                .map(|i| Mat::from_fn(dn, d0, |r, c| a[(i, r * d0 + c)]))
                .collect();
            let y: Vec<f64> = (0..y.nrows()).map(|i| y[(i, 0)]).collect();
            let m = y.len();
            let loss = MatrixSensing::new(sensors, y).map_err(loss_err)?;
            compute(args, loss, m, w0)
        }
    }
}

fn real_field(m: AnyMat) -> Mat<f64> {
    match m {
        AnyMat::Real(m) => m,
        AnyMat::Complex(_) => unreachable!("complex data is trained over C"),
    }
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
    let data = read_data(&args)?;
    let init = match &args.init {
        Init::File(path) => {
            let net = read_weights(path)?;
            let got = match &net {
                AnyNetwork::Real(n) => n.widths(),
                AnyNetwork::Complex(n) => n.widths(),
            };
            if got != args.widths.0 {
                return Err(CliError::file(
                    path,
                    format!(
                        "initial weights have widths {} but --widths is {}",
                        join(&got),
                        join(&args.widths.0)
                    ),
                ));
            }
            Some(net)
        }
        _ => None,
    };
    let complex = data.primary.is_complex()
        || data.secondary.is_complex()
        || matches!(init, Some(AnyNetwork::Complex(_)));
    let report = if complex {
        let init = init.map(|net| match net {
            AnyNetwork::Complex(net) => net,
            AnyNetwork::Real(net) => Network::new(
                net.layers()
                    .iter()
                    .map(|m| AnyMat::Real(m.clone()).into_complex())
                    .collect(),
            )
            .expect("promoting finite composable layers keeps them valid"),
        });
        train_in::<c64>(&args, data, init, AnyMat::into_complex)?
    } else {
        let init = init.map(|net| match net {
            AnyNetwork::Real(net) => net,
            AnyNetwork::Complex(_) => unreachable!("complex weights are trained over C"),
        });
        train_in::<f64>(&args, data, init, real_field)?
    };
    emit(&report, args.json)
}

fn join(w: &[usize]) -> String {
    w.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}
