//! `dln flow l2|kirwan-ness W.npz --t-end T --out OUT.npz [--samples K] [--json]`: run a balancing
//! flow on the weights' fiber. The L² flow $\dot{\mathbf W} = -\mathbf w_{\mathbf b}$, $\mathbf H(\mathbf b) = \mathbf G$,
//! contracts the moments as $\mathbf G(t) = \mathbf G(0)e^{-2t}$; the Kirwan–Ness flow
//! $\dot W_k = 2(W_kG_{k-1} - G_kW_k)$ is the gradient flow of $\tfrac12\|\mathbf G\|^2$. Both keep
//! $X = W_N\cdots W_1$ fixed (to rounding, with the default structure-preserving integrator).

use super::{Magnitude, Report, emit, num, positive_f64};
use crate::error::{CliError, Result};
use crate::io::{Element, check_output_file, dispatch, read_weights, write_weights};
use crate::resources::{DEFAULT_MAX_STEPS, StepBudget, check_samples};
use dln::algebra::Network;
use dln::flows::balancing::{
    BalancingFlow, BalancingOptions, FiberSolver, Scheme, balancing_flow, linspace,
};
use dln::flows::{FlowBuilder, Observer, Progress, Termination};
use dln::linalg::ScaledReal;
use serde::Serialize;
use std::fmt::Write;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Run a balancing flow (L² or Kirwan–Ness) to --t-end and write the final weights to --out.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which flow: l2 (G(t) = G(0)e^{-2t}) or kirwan-ness (gradient flow of ½‖G‖²).
    #[arg(value_enum)]
    pub flow: FlowKind,
    /// Weights: an .npz archive with arrays W1..WN (W1 = input layer, shape d1×d0).
    pub weights: PathBuf,
    /// Final time T.
    #[arg(long, value_name = "T", value_parser = positive_f64)]
    pub t_end: f64,
    /// Output .npz archive for the weights at T (same dtype as the input).
    #[arg(long, value_name = "OUT.npz")]
    pub out: PathBuf,
    /// Number of equally spaced samples in [0, T] reported in the series (2 to 100000).
    #[arg(long, value_name = "K", default_value_t = 11)]
    pub samples: usize,
    /// Most integrator steps; a run that would need more (judged from its step size) stops early.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_STEPS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_steps: usize,
    /// Relative tolerance of the adaptive integrator.
    #[arg(long, value_name = "R", default_value = "1e-11", value_parser = positive_f64)]
    pub rtol: f64,
    /// Absolute tolerance of the adaptive integrator.
    #[arg(long, value_name = "A", default_value = "1e-13", value_parser = positive_f64)]
    pub atol: f64,
    /// structured = Runge–Kutta–Munthe-Kaas on the group (X kept to rounding); generic = Dormand–Prince on W;
    /// auto = structured, except generic for the L² flow from a point whose orbit is not closed
    /// (some layer's rank differs from X's: there the flow can reach the orbit's boundary in finite
    /// time, where the structured scheme stalls).
    #[arg(long, value_enum, default_value_t = SchemeArg::Auto)]
    pub scheme: SchemeArg,
    /// Inner solver of the L² flow: normal = the normal equation on d_N×d_0 (iterations independent of
    /// depth; falls back to h where it does not apply); h = block-preconditioned CG on H(b) = G.
    #[arg(long, value_enum, default_value_t = SolverArg::Normal)]
    pub solver: SolverArg,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--solver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SolverArg {
    /// Normal equation with the exact-at-balance preconditioner (default).
    Normal,
    /// Conjugate gradients on H.
    H,
}

/// The flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlowKind {
    /// The L² regularizing flow.
    L2,
    /// The Kirwan–Ness flow.
    KirwanNess,
}

/// `--scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemeArg {
    /// Structured where it applies, generic for the L² flow on an orbit that is not closed (default).
    Auto,
    /// Structure-preserving.
    Structured,
    /// Generic Dormand–Prince 5(4).
    Generic,
}

/// The report of `dln flow`.
#[derive(Debug, Serialize)]
pub struct FlowReport {
    /// Input file.
    pub file: String,
    /// Output file.
    pub out: String,
    /// `l2` or `kirwan-ness`.
    pub flow: &'static str,
    /// The integrator that ran: `structured` or `generic` (`--scheme auto` resolved).
    pub scheme: &'static str,
    /// `float64` or `complex128`.
    pub dtype: &'static str,
    /// Widths $d_0,\dots,d_N$.
    pub widths: Vec<usize>,
    /// Final time.
    pub t_end: f64,
    /// Accepted steps.
    pub steps: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Vector-field evaluations.
    pub evals: usize,
    /// Right-hand-side (vector-field) evaluations; the same number as `evals`.
    pub rhs_evaluations: usize,
    /// Total inner linear-solver iterations over the run (L² flow; 0 for Kirwan–Ness).
    pub linear_iterations: usize,
    /// Conjugate-gradient iterations (L² flow); the same number as `linear_iterations`.
    pub cg_iterations: usize,
    /// Evaluations solved by the H route (L² flow; 0 when the normal route served all).
    pub h_solves: usize,
    /// $\|\mathbf G(0)\|$ (this and the other absolute quantities are [`Magnitude`]s: strings when out
    /// of the `f64` range, e.g. for weights $\times2^{\pm1000}$).
    pub moment_norm_initial: Magnitude,
    /// $\|\mathbf G(T)\|$.
    pub moment_norm_final: Magnitude,
    /// $\max_t\|X(t)-X(0)\|_F/\|X(0)\|_F$ over the samples.
    pub product_rel_change: f64,
    /// $N\sum_i\sigma_i^{2/N}$.
    pub lower_bound: Magnitude,
    /// Sample times.
    pub t: Vec<f64>,
    /// $\|\mathbf G(t)\|$.
    pub moment_norm: Vec<Magnitude>,
    /// $\|\mathbf G(t)\|/\|\mathbf W(t)\|^2$ (scale-invariant, computed in scaled form).
    pub moment_norm_rel: Vec<f64>,
    /// $\|\mathbf W(t)\|^2 - N\sum_i\sigma_i^{2/N}$.
    pub l2_gap: Vec<Magnitude>,
}

impl Report for FlowReport {
    fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "file              {} → {}", self.file, self.out);
        let _ = writeln!(
            s,
            "flow              {} ({}, {} scheme), t = 0 … {}",
            self.flow,
            self.dtype,
            self.scheme,
            num(self.t_end)
        );
        let _ = writeln!(
            s,
            "steps             {} accepted, {} rejected, {} evaluations, {} linear iterations ({} H solves)",
            self.steps, self.rejected, self.evals, self.linear_iterations, self.h_solves
        );
        let _ = writeln!(
            s,
            "‖G‖               {} → {}",
            self.moment_norm_initial.text(),
            self.moment_norm_final.text()
        );
        let _ = writeln!(s, "‖ΔX‖/‖X‖ (max)    {}", num(self.product_rel_change));
        let _ = writeln!(s, "N·Σσ^(2/N)        {}", self.lower_bound.text());
        let _ = writeln!(s, "t                 ‖G‖           ‖W‖² − bound");
        for i in 0..self.t.len() {
            let _ = writeln!(
                s,
                "{:<18}{:<14}{}",
                num(self.t[i]),
                self.moment_norm[i].text(),
                self.l2_gap[i].text()
            );
        }
        s.pop();
        s
    }
}

/// A progress bar on stderr (only when stderr is a terminal and `--json` is off), and the
/// step budget of the run ([`StepBudget`], set with [`Bar::with_budget`]).
pub(crate) struct Bar {
    pb: Option<indicatif::ProgressBar>,
    budget: Option<StepBudget>,
}

impl Bar {
    pub(crate) fn new(json: bool, what: &str) -> Self {
        if json || !std::io::stderr().is_terminal() {
            return Self {
                pb: None,
                budget: None,
            };
        }
        let pb = indicatif::ProgressBar::new(1000);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent}% ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.set_message(what.to_string());
        Self {
            pb: Some(pb),
            budget: None,
        }
    }

    /// Stops the run early when `--t-end` is out of reach of `max_steps` steps.
    pub(crate) fn with_budget(mut self, max_steps: usize) -> Self {
        self.budget = Some(StepBudget::new(max_steps));
        self
    }

    /// The error to report when the step budget stopped the run.
    pub(crate) fn refusal(&self) -> Option<CliError> {
        self.budget
            .as_ref()
            .and_then(StepBudget::refusal)
            .map(CliError::new)
    }
}

impl<T: dln::linalg::Scalar> Observer<Progress<'_, T>> for Bar {
    fn on_step(&mut self, p: &Progress<'_, T>) -> ControlFlow<()> {
        if let Some(pb) = &self.pb {
            pb.set_position(((p.t / p.t_end).clamp(0.0, 1.0) * 1000.0) as u64);
        }
        let within = self
            .budget
            .as_mut()
            .is_none_or(|b| b.on_step(p.stats.n_steps, p.t, p.h, p.t_end));
        if within {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }
    fn on_finish(&mut self, _p: &Progress<'_, T>, _why: &Termination) {
        if let Some(pb) = self.pb.take() {
            pb.finish_and_clear();
        }
    }
}

fn compute<T: Element>(args: &Args, net: &Network<T>) -> Result<FlowReport> {
    let integration = FlowBuilder::new()
        .rtol(args.rtol)
        .atol(args.atol)
        .max_steps(args.max_steps)
        .build()
        .map_err(CliError::new)?;
    let flow = match args.flow {
        FlowKind::L2 => BalancingFlow::L2,
        FlowKind::KirwanNess => BalancingFlow::KirwanNess,
    };
    let scheme = match args.scheme {
        SchemeArg::Auto => Scheme::Auto,
        SchemeArg::Structured => Scheme::Structured,
        SchemeArg::Generic => Scheme::Generic,
    };
    let solver = match args.solver {
        SolverArg::Normal => FiberSolver::Normal,
        SolverArg::H => FiberSolver::H,
    };
    let opts = BalancingOptions {
        flow,
        scheme,
        integration,
        solver,
        ..Default::default()
    };
    let mut bar = Bar::new(args.json, flow.name()).with_budget(args.max_steps);
    let run = balancing_flow(net, &opts, &linspace(args.t_end, args.samples), &mut bar)
        .map_err(|e| CliError::file(&args.weights, format!("{} flow failed: {e}", flow.name())))?;
    if let Some(e) = bar.refusal() {
        return Err(match flow {
            // The reason is usually the size of the weights: say so.
            BalancingFlow::KirwanNess => CliError::new(format!(
                "{}; the Kirwan–Ness flow is cubic in W, so its speed grows as ‖W‖² (here {})",
                e.problem(),
                Magnitude(net.l2_norm_scaled().mul(net.l2_norm_scaled())).text()
            )),
            BalancingFlow::L2 => e,
        });
    }
    write_weights(&args.out, &run.network)?;
    let first = run.samples.first().map(|s| s.moment_norm_scaled);
    let last = run.samples.last().map(|s| s.moment_norm_scaled);
    Ok(FlowReport {
        file: args.weights.display().to_string(),
        out: args.out.display().to_string(),
        flow: flow.name(),
        scheme: run.scheme.name(),
        dtype: T::DTYPE_NAME,
        widths: net.widths(),
        t_end: args.t_end,
        steps: run.stats.n_steps,
        rejected: run.stats.n_rejected,
        evals: run.stats.n_evals,
        rhs_evaluations: run.stats.n_evals,
        linear_iterations: run.cg_iterations,
        cg_iterations: run.cg_iterations,
        h_solves: run.h_solves,
        moment_norm_initial: Magnitude(first.unwrap_or(ScaledReal::ZERO)),
        moment_norm_final: Magnitude(last.unwrap_or(ScaledReal::ZERO)),
        product_rel_change: run
            .samples
            .iter()
            .map(|s| s.product_rel_change)
            .fold(0.0, f64::max),
        lower_bound: Magnitude(run.lower_bound_scaled),
        t: run.samples.iter().map(|s| s.t).collect(),
        moment_norm: run
            .samples
            .iter()
            .map(|s| Magnitude(s.moment_norm_scaled))
            .collect(),
        moment_norm_rel: run.samples.iter().map(|s| s.moment_norm_rel).collect(),
        l2_gap: run
            .samples
            .iter()
            .map(|s| Magnitude(s.l2_gap_scaled))
            .collect(),
    })
}

/// Runs `dln flow`.
///
/// # Errors
/// Unreadable or invalid weights, an unwritable `--out`, a failed integration.
pub fn run(args: Args) -> Result<()> {
    check_samples(args.samples)?;
    check_output_file(&args.out)?;
    let net = read_weights(&args.weights)?;
    let report = dispatch!(net, net => compute(&args, &net))?;
    emit(&report, args.json)
}
