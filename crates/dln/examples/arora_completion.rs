//! The matrix-completion experiment of Arora, Cohen, Hu and Luo, *Implicit regularization in deep
//! matrix factorization* (NeurIPS 2019): gradient descent on a deep linear network
//! $X = W_N\cdots W_1$ ($100\times100$ layers) from a small initialisation, fitted to $m$ observed
//! entries of a rank-5 $100\times100$ matrix $M$ with the completion loss
//! $E(X) = \tfrac12\|P_\Omega(X - M)\|_F^2$, and the reconstruction error on **all** entries,
//! $\|X - M\|_F/\|M\|_F$, against $m$ for depths $N = 2, 3, 4$.
//!
//! Only the public `dln` API is used: [`MatrixCompletion`], [`gaussian_init`] and
//! [`gradient_descent`] (which allocates nothing per step), with an [`Observer`] that stops the run
//! once the training loss is small.
//!
//! Setup (all seeded): $M = UV^{\mathsf T}$ with Gaussian $U, V\in\mathbb R^{100\times5}$, scaled to
//! $\|M\|_F^2 = 5$ (singular values near 1); for each $m$, $\Omega$ is a uniformly random set of $m$
//! entries; the layers start from `gaussian_init` (entries $N(0, 1/100)$) times `--init-scale`
//! (default $10^{-2}$: entries of standard deviation $10^{-3}$); step size `--lr` (default 0.5,
//! stable at every depth and $m$ of the grid; from this initialisation depth 4 needs
//! $\sim10^5$ steps); a run stops when $E(X)\le 10^{-8}\cdot\tfrac12\|P_\Omega M\|_F^2$ (the fit
//! to the observed entries is then $10^{-4}$ relative) or after `--max-steps`.
//!
//! ```sh
//! cargo run --release -p dln --example arora_completion                 # the full grid
//! cargo run --release -p dln --example arora_completion -- --m 1000,3000 --depths 2,3
//! ```
//!
//! Options: `--m m1,m2,…` (default 1000,2000,3000,4000,5000), `--depths N1,…` (default 2,3,4),
//! `--lr η` (default 0.5), `--init-scale s`, `--tol τ` (relative training loss, default 1e-8),
//! `--max-steps S` (default 200000), `--seed s` (default 0), `--csv FILE` (default
//! `arora_completion.csv`). Prints a table (reconstruction error by $m$ and depth, with steps and
//! seconds) and writes one CSV row per run. A run whose loss becomes non-finite (step size too
//! large for that depth and $m$) is reported as diverged, with the step, and the grid goes on.

use dln::algebra::Network;
use dln::flows::loss::{Loss, MatrixCompletion};
use dln::flows::training::{gaussian_init, gradient_descent};
use dln::flows::{FlowError, Observer, Progress};
use dln::linalg::random;
use faer::Mat;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::time::Instant;

const D: usize = 100;
const RANK: usize = 5;

#[derive(Debug, Clone)]
struct Options {
    m: Vec<usize>,
    depths: Vec<usize>,
    lr: f64,
    init_scale: f64,
    tol: f64,
    max_steps: usize,
    seed: u64,
    csv: String,
}

fn list(name: &str, v: &str) -> Result<Vec<usize>, String> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("{name}: `{v}` is not a comma-separated list of integers"))
        })
        .collect()
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{name}: `{v}` is not a valid number"))
}

fn parse_options() -> Result<Options, String> {
    let mut o = Options {
        m: vec![1000, 2000, 3000, 4000, 5000],
        depths: vec![2, 3, 4],
        lr: 0.5,
        init_scale: 1e-2,
        tol: 1e-8,
        max_steps: 200_000,
        seed: 0,
        csv: "arora_completion.csv".to_string(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        match flag.as_str() {
            "--m" => o.m = list(flag, value)?,
            "--depths" => o.depths = list(flag, value)?,
            "--lr" => o.lr = number(flag, value)?,
            "--init-scale" => o.init_scale = number(flag, value)?,
            "--tol" => o.tol = number(flag, value)?,
            "--max-steps" => o.max_steps = number(flag, value)?,
            "--seed" => o.seed = number(flag, value)?,
            "--csv" => o.csv = value.to_string(),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if o.m.iter().any(|&m| m == 0 || m > D * D) {
        return Err(format!("--m: every m must lie in 1..={}", D * D));
    }
    if o.depths.contains(&0) {
        return Err("--depths: every depth must be at least 1".to_string());
    }
    Ok(o)
}

/// The rank-5 ground truth, $\|M\|_F^2 = 5$.
fn ground_truth(seed: u64) -> Mat<f64> {
    let mut rng = random::rng(seed);
    let u = random::gaussian::<f64, _>(&mut rng, D, RANK);
    let v = random::gaussian::<f64, _>(&mut rng, RANK, D);
    let m = &u * &v;
    random::scaled(m.as_ref(), (RANK as f64).sqrt() / m.norm_l2())
}

/// A uniformly random set of `m` entries (the `m` largest of $d^2$ Gaussians) as a 0/1 mask.
fn mask(seed: u64, m: usize) -> Mat<f64> {
    let mut rng = random::rng(seed);
    let g = random::gaussian::<f64, _>(&mut rng, D * D, 1);
    let mut order: Vec<usize> = (0..D * D).collect();
    order.sort_by(|&a, &b| g[(b, 0)].total_cmp(&g[(a, 0)]));
    let mut p = Mat::<f64>::zeros(D, D);
    for &e in &order[..m] {
        p[(e % D, e / D)] = 1.0;
    }
    p
}

fn product(w: &[Mat<f64>]) -> Mat<f64> {
    let mut x = w[0].clone();
    for wk in &w[1..] {
        x = wk * &x;
    }
    x
}

/// Stops gradient descent once $E(X)\le$ `target` (checked every `every` steps).
struct StopAtLoss<'a> {
    loss: &'a MatrixCompletion<f64>,
    target: f64,
    every: usize,
    last: f64,
}

impl Observer<Progress<'_, f64>> for StopAtLoss<'_> {
    fn on_step(&mut self, p: &Progress<'_, f64>) -> ControlFlow<()> {
        if p.stats.n_steps % self.every != 0 {
            return ControlFlow::Continue(());
        }
        self.last = self.loss.value(product(p.weights).as_ref());
        if self.last <= self.target {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

struct Row {
    m: usize,
    depth: usize,
    steps: usize,
    converged: bool,
    train_rel: f64,
    recon: f64,
    seconds: f64,
    /// Set when gradient descent diverged (the error, naming the step); the other fields are then
    /// those of the initial weights.
    diverged: Option<String>,
}

fn run(o: &Options, truth: &Mat<f64>, m: usize, depth: usize) -> Result<Row, String> {
    let observed = mask(o.seed.wrapping_add(1000 + m as u64), m);
    let loss = MatrixCompletion::new(truth.clone(), observed)
        .map_err(|e| format!("completion loss: {e}"))?;
    let scale = loss.value(Mat::<f64>::zeros(D, D).as_ref());
    let w0 = gaussian_init::<f64>(
        &vec![D; depth + 1],
        o.seed.wrapping_add(depth as u64),
        false,
    )
    .map_err(|e| format!("initial weights: {e}"))?;
    let w0 = Network::new(
        w0.layers()
            .iter()
            .map(|l| random::scaled(l.as_ref(), o.init_scale))
            .collect(),
    )
    .map_err(|e| format!("initial weights: {e}"))?;
    let mut stop = StopAtLoss {
        loss: &loss,
        target: o.tol * scale,
        every: 50,
        last: f64::INFINITY,
    };
    let start = Instant::now();
    let trained = match gradient_descent(&w0, &loss, 0.0, o.lr, o.max_steps, o.max_steps, &mut stop)
    {
        Ok(t) => t,
        // Divergence is a result of the run (the step size is too large for this m and depth):
        // recorded in the table with the step it happened at, and the grid goes on.
        Err(e @ FlowError::Diverged { step, .. }) => {
            return Ok(Row {
                m,
                depth,
                steps: step,
                converged: false,
                train_rel: f64::NAN,
                recon: f64::NAN,
                seconds: start.elapsed().as_secs_f64(),
                diverged: Some(format!("{e} (try a smaller --lr than {})", o.lr)),
            });
        }
        Err(e) => return Err(format!("m = {m}, depth {depth}: {e}")),
    };
    let seconds = start.elapsed().as_secs_f64();
    let x = trained.network.product();
    let train = loss.value(x.as_ref());
    Ok(Row {
        m,
        depth,
        steps: trained.stats.n_steps,
        converged: train <= o.tol * scale,
        train_rel: train / scale,
        recon: (&x - truth).norm_l2() / truth.norm_l2(),
        seconds,
        diverged: None,
    })
}

fn main() {
    let o = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("arora_completion: {e}");
            std::process::exit(2);
        }
    };
    let truth = ground_truth(o.seed);
    println!(
        "Arora–Cohen–Hu–Luo matrix completion: {D}×{D}, rank {RANK}, ‖M‖_F² = {RANK}; lr {}, \
         init scale {} (entries sd {:.0e}), stop at training loss ≤ {:.0e} (relative), seed {}",
        o.lr,
        o.init_scale,
        o.init_scale / (D as f64).sqrt(),
        o.tol,
        o.seed
    );
    let total = Instant::now();
    let mut rows = Vec::new();
    for &m in &o.m {
        for &depth in &o.depths {
            match run(&o, &truth, m, depth) {
                Ok(r) if r.diverged.is_some() => {
                    println!(
                        "m = {:5}  depth {}  diverged: {}",
                        r.m,
                        r.depth,
                        r.diverged.as_deref().unwrap_or_default()
                    );
                    rows.push(r);
                }
                Ok(r) => {
                    println!(
                        "m = {:5}  depth {}  {:7} steps  {:6.1} s  training loss {:.1e}  reconstruction error {:.3e}{}",
                        r.m,
                        r.depth,
                        r.steps,
                        r.seconds,
                        r.train_rel,
                        r.recon,
                        if r.converged { "" } else { "  (not converged)" }
                    );
                    rows.push(r);
                }
                Err(e) => {
                    eprintln!("arora_completion: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let mut table = String::new();
    let _ = write!(table, "\n| m |");
    for n in &o.depths {
        let _ = write!(table, " depth {n} |");
    }
    let _ = write!(table, "\n|---|");
    for _ in &o.depths {
        let _ = write!(table, "---|");
    }
    for &m in &o.m {
        let _ = write!(table, "\n| {m} |");
        for &n in &o.depths {
            let r = rows
                .iter()
                .find(|r| r.m == m && r.depth == n)
                .expect("every run is recorded");
            if r.diverged.is_some() {
                let _ = write!(table, " diverged at step {} |", r.steps);
            } else {
                let _ = write!(
                    table,
                    " {:.2e}{} ({} steps, {:.1} s) |",
                    r.recon,
                    if r.converged { "" } else { "*" },
                    r.steps,
                    r.seconds
                );
            }
        }
    }
    println!("{table}");
    println!(
        "reconstruction error ‖X − M‖_F/‖M‖_F on all entries (* = stopped at --max-steps before the \
         training loss reached the tolerance; `diverged` = the loss became non-finite at that \
         step: a smaller --lr is needed); total {:.1} s",
        total.elapsed().as_secs_f64()
    );
    let mut csv = String::from(
        "m,depth,steps,converged,diverged,train_loss_rel,reconstruction_error,seconds\n",
    );
    for r in &rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{:e},{:e},{:.3}",
            r.m,
            r.depth,
            r.steps,
            r.converged,
            r.diverged.is_some(),
            r.train_rel,
            r.recon,
            r.seconds
        );
    }
    if let Err(e) = std::fs::write(&o.csv, csv) {
        eprintln!("arora_completion: cannot write {}: {e}", o.csv);
        std::process::exit(1);
    }
    println!("wrote {}", o.csv);
}
