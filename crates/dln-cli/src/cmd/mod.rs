//! The subcommands of `dln`, one module each.
//!
//! # Conventions (read before adding a command)
//!
//! **Registering** a command `foo` is three one-line edits in this file, marked `REGISTER`:
//! `pub mod foo;`, the variant `Foo(foo::Args),` of [`Command`], and the arm
//! `Command::Foo(a) => foo::run(a),` of [`Command::run`].
//!
//! **A command module** `src/cmd/foo.rs` starts with a `//!` doc and exports exactly
//! - `pub struct Args`, `#[derive(Debug, clap::Args)]`, whose doc comment is the command's help
//!   text (first line: the one-line summary). Inputs are positional `PathBuf`s; outputs are
//!   `--out PATH`; `--json` switches the report to one JSON object. Numeric options use the
//!   parsers of this module ([`positive_f64`], [`nonneg_f64`]) so that bad values are rejected by
//!   clap before any work is done.
//! - `pub fn run(args: Args) -> Result<()>`.
//!
//! **Real and complex**: read the input with [`crate::io`] ([`read_weights`](crate::io::read_weights),
//! [`read_system`]), then write the computation once, generic over
//! `T: `[`Element`](crate::io::Element) (`f64` or `c64`), and call it through
//! [`dispatch!`](crate::io::dispatch): `dispatch!(any, net => compute(&args, net))`. Outputs keep the
//! input's dtype.
//!
//! **Order of work**: validate arguments and check `--out` *before* computing
//! ([`check_output_file`](crate::io::check_output_file) /
//! [`check_output_dir`](crate::io::check_output_dir)); compute; write outputs only through the
//! `crate::io::write_*` functions (atomic: nothing is left behind on failure); print the report
//! last, with [`emit`].
//!
//! **Output**: stdout carries only the report: a `#[derive(serde::Serialize)]` struct that
//! implements [`Report`] (snake_case field names, numbers as JSON numbers; a value that is
//! undefined or does not apply is left out with `#[serde(skip_serializing_if = "Option::is_none")]`,
//! never printed as `null`, and never `-0`). Progress bars (indicatif) go to stderr, only when stderr is a terminal and
//! `--json` is off.
//!
//! **Errors**: return [`CliError`] naming the file and array at fault;
//! `main` prints it as the single line `dln: error: <file>: <array>: <problem>` and exits with
//! status 1. No `unwrap`/`expect` on anything that depends on user data.
//!
//! **Tests**: `tests/<command>.rs`, using the helpers of `tests/common/mod.rs` (writing `.npz`
//! inputs, running the binary, re-reading outputs). Every failure test asserts a non-zero exit, a
//! one-line stderr naming the file/array, and that `--out` does not exist afterwards.

use crate::error::{CliError, Result};
use crate::io::{AnyMat, RawSystem, TimeDomain, read_system};
use dln::systems::SystemsError;
use dln::systems::model::{Sampling, StateSpace};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

// REGISTER (1/3): one `pub mod` line per command.
pub mod balance;
pub mod entropy;
pub mod flow;
pub mod gram;
pub mod hsv;
pub mod minreal;
pub mod moments;
pub mod reduce;
pub mod sample;
pub mod train;

/// The subcommands. The doc comment of each `Args` struct is the command's help.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    // REGISTER (2/3): one variant per command.
    /// Moments, norms and the balancedness of a network's weights.
    Moments(moments::Args),
    /// Balance a network's weights (Kempf–Ness): least norm in the fiber, same end-to-end map.
    Balance(balance::Args),
    /// Hankel singular values of a stable linear system.
    Hsv(hsv::Args),
    /// Controllability or observability Gramian of a stable linear system.
    Gram(gram::Args),
    /// Reduce a stable linear system by balanced truncation or singular perturbation.
    Reduce(reduce::Args),
    /// Minimal realization of a linear system (any A): remove uncontrollable and unobservable parts.
    Minreal(minreal::Args),
    /// Run a balancing flow (L² or Kirwan–Ness) on a network's fiber.
    Flow(flow::Args),
    /// Train a network by least squares: gradient flow or gradient descent, with weight decay.
    Train(train::Args),
    /// Sample the Gaussian prior or noisy-training paths (the Bayesian reading of regularization).
    Sample(sample::Args),
    /// Entropy S(X) = log vol(O_X) of the balanced orbit of X.
    Entropy(entropy::Args),
}

impl Command {
    /// Runs the command.
    ///
    /// # Errors
    /// The command's [`CliError`].
    pub fn run(self) -> Result<()> {
        match self {
            // REGISTER (3/3): one arm per command.
            Command::Moments(a) => moments::run(a),
            Command::Balance(a) => balance::run(a),
            Command::Hsv(a) => hsv::run(a),
            Command::Gram(a) => gram::run(a),
            Command::Reduce(a) => reduce::run(a),
            Command::Minreal(a) => minreal::run(a),
            Command::Flow(a) => flow::run(a),
            Command::Train(a) => train::run(a),
            Command::Sample(a) => sample::run(a),
            Command::Entropy(a) => entropy::run(a),
        }
    }
}

/// What a command prints on stdout: one JSON object with `--json`, human-readable text otherwise.
pub trait Report: Serialize {
    /// The human-readable form (a small table), without a trailing newline.
    fn human(&self) -> String;
}

/// Prints `report` on stdout: `serde_json` on one line with `json`, [`Report::human`] otherwise.
/// A closed stdout (e.g. `| head`) is not an error.
///
/// # Errors
/// Serialization failures (a programming error) and write failures other than a broken pipe.
pub fn emit<R: Report>(report: &R, json: bool) -> Result<()> {
    let text = if json {
        let mut value = serde_json::to_value(report)
            .map_err(|e| crate::error::CliError::new(format!("cannot encode JSON: {e}")))?;
        positive_zeros(&mut value);
        value.to_string()
    } else {
        report.human()
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::error::CliError::new(
            format!("cannot write to stdout: {e}"),
        )),
        _ => Ok(()),
    }
}

/// Replaces every `-0.0` in a JSON value by `0.0`: reports never print `-0`.
fn positive_zeros(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n)
            if n.as_f64().is_some_and(|x| x == 0.0 && x.is_sign_negative()) =>
        {
            *v = serde_json::Value::from(0.0);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(positive_zeros),
        serde_json::Value::Object(o) => o.values_mut().for_each(positive_zeros),
        _ => {}
    }
}

/// clap value parser: a finite number $>0$.
///
/// # Errors
/// A message for clap when the value is not a finite positive number.
pub fn positive_f64(s: &str) -> std::result::Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(format!("must be finite and positive, got {s}"))
    }
}

/// clap value parser: a finite number $\ge0$.
///
/// # Errors
/// A message for clap when the value is not a finite non-negative number.
pub fn nonneg_f64(s: &str) -> std::result::Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(format!("must be finite and non-negative, got {s}"))
    }
}

/// A number for the human-readable tables: 6 significant digits, scientific when far from 1.
pub fn num(x: f64) -> String {
    if x == 0.0 {
        // Also for -0.0: the tables never print `-0`.
        return "0".to_string();
    }
    if (1e-3..1e6).contains(&x.abs()) {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0');
        s.trim_end_matches('.').to_string()
    } else {
        format!("{x:.5e}")
    }
}

/// An absolute quantity that may lie outside the `f64` range (e.g. $\|\mathbf W\|_2^2$ for
/// weights $10^{200}$), reported exactly.
///
/// **Rule** (for every command): in JSON it is a number when representable in `f64` (finite and
/// zero or normal) and otherwise a *string* in scientific notation with 12 significant digits,
/// e.g. `"1.23456789012e600"`; the table prints the same text. Scale-invariant quantities (relative
/// norms, gaps) are always numbers.
#[derive(Debug, Clone, Copy)]
pub struct Magnitude(pub dln::linalg::ScaledReal);

impl Magnitude {
    /// The text printed in the table.
    pub fn text(self) -> String {
        match self.0.to_f64_checked() {
            Some(x) => num(x),
            None => self.0.to_string(),
        }
    }
}

impl Serialize for Magnitude {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0.to_f64_checked() {
            Some(x) => s.serialize_f64(x),
            None => s.serialize_str(&self.0.to_string()),
        }
    }
}

/// A list of numbers for the human-readable tables.
pub fn nums(xs: &[f64]) -> String {
    xs.iter().map(|&x| num(x)).collect::<Vec<_>>().join("  ")
}

/// `--equil on|off` of the Gramian-based commands (`hsv`, `gram`, `reduce`): diagonal state
/// equilibration by powers of two before the Schur form (SLICOT `TB01ID`'s idea;
/// [`dln::systems::equil`]). `hsv` and `reduce` default to `on` (chosen by measurement over the
/// test set, `docs/performance.md` "HSV accuracy": decisive on badly scaled models such as lf10,
/// within 1.6x of `off` on every other model); `gram` keeps `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Equil {
    /// Equilibrate (recommended for badly scaled models).
    On,
    /// Use the coordinates as given (only the exact power-of-two size scaling).
    Off,
}

impl Equil {
    /// Whether equilibration is on.
    pub fn is_on(self) -> bool {
        self == Equil::On
    }

    /// The library options.
    pub fn options(self) -> dln::systems::gramian::GramianOptions {
        dln::systems::gramian::GramianOptions {
            equilibrate: self == Equil::On,
            ..Default::default()
        }
    }
}

/// The input of the linear-system commands, shared with `#[command(flatten)]`.
#[derive(Debug, Clone, clap::Args)]
pub struct SystemArgs {
    /// Linear system: a directory with A.npy, B.npy, C.npy, D.npy [meta.json], or an .npz with arrays A, B, C, D.
    pub system: PathBuf,
    /// Discrete time: x(k+1) = A x(k) + B u(k); overrides meta.json. Default: meta.json, else continuous.
    #[arg(long)]
    pub discrete: bool,
    /// Sampling time of a discrete system (default 1).
    #[arg(long, value_name = "H", requires = "discrete", value_parser = positive_f64)]
    pub dt: Option<f64>,
}

/// A validated real system with the files it came from (for error messages).
#[derive(Debug, Clone)]
pub struct LoadedSystem {
    /// The raw arrays and their files.
    pub raw: RawSystem,
    /// The validated model.
    pub sys: StateSpace,
}

impl LoadedSystem {
    /// Maps an error of `dln-systems` to the file and array it concerns.
    pub fn error(&self, e: SystemsError) -> CliError {
        system_error(&self.raw, e)
    }

    /// The time domain, as written to `meta.json`.
    pub fn time(&self) -> TimeDomain {
        self.raw.time
    }
}

fn system_error(raw: &RawSystem, e: SystemsError) -> CliError {
    match e {
        SystemsError::NonFinite { name, row, col } => {
            raw.error(name, format!("non-finite entry at [{row}, {col}]"))
        }
        e @ SystemsError::Unstable { .. } => raw.error("A", e),
        other => CliError::file(&raw.source, other),
    }
}

impl SystemArgs {
    /// Reads and validates the system. `dln-systems` works over the reals: `complex128` arrays
    /// are rejected.
    ///
    /// # Errors
    /// See [`read_system`]; complex data; validation failures of [`StateSpace::new`].
    pub fn load(&self) -> Result<LoadedSystem> {
        let discrete = self.discrete.then(|| self.dt.unwrap_or(1.0));
        let raw = read_system(&self.system, discrete)?;
        let real = |name: &str, m: &AnyMat| -> Result<faer::Mat<f64>> {
            match m {
                AnyMat::Real(m) => Ok(m.clone()),
                AnyMat::Complex(_) => Err(raw.error(
                    name,
                    "dtype complex128 is not supported for linear systems (the systems commands are real)",
                )),
            }
        };
        // Name the array that is actually complex (the others were promoted on reading).
        let first_complex = raw.complex_array().unwrap_or("A");
        if raw.is_complex() {
            real(first_complex, &raw.a)?;
        }
        let sampling = match raw.time {
            TimeDomain::Continuous => Sampling::Continuous,
            TimeDomain::Discrete { dt } => Sampling::Discrete { dt },
        };
        let sys = StateSpace::new(
            real("A", &raw.a)?,
            real("B", &raw.b)?,
            real("C", &raw.c)?,
            real("D", &raw.d)?,
            sampling,
        )
        .map_err(|e| system_error(&raw, e))?;
        Ok(LoadedSystem { raw, sys })
    }
}
