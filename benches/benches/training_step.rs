//! One gradient-descent step on the matrix-completion loss at d = 100, N = 2, 3, 4 (the step of
//! the Arora–Cohen–Hu–Luo experiment, `crates/dln/examples/arora_completion.rs`):
//! - `completion_step`: one step (`network_gradient_into` + the in-place update, no allocation)
//!   against exactly the 3(N−1) d×d products it needs, written into preallocated buffers, in the
//!   same criterion run: `cargo bench -p dln-benches --bench training_step -- completion_step`.
//! - `numpy`: a one-shot side by side with the plain numpy loop `benches/numpy/completion_step.py`
//!   (same d, N, rank, mask density, float64), interleaved, five rounds of 500 steps each, minimum
//!   per step; numpy with its default BLAS threads and with `OPENBLAS_NUM_THREADS=1`. Runs only
//!   when the filter names it: `cargo bench -p dln-benches --bench training_step -- numpy`
//!   (python3 with numpy, or `$DLN_PYTHON`; skipped with a message when absent).

use criterion::{Criterion, criterion_group, criterion_main};
use dln_algebra::Network;
use dln_flows::loss::MatrixCompletion;
use dln_flows::training::{GradientWorkspace, gradient_descent, network_gradient_into};
use dln_linalg::random;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par, unzip, zip};
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

const D: usize = 100;
const RANK: usize = 5;
const DENSITY: f64 = 0.3;
const LR: f64 = 0.1;
const INIT_STD: f64 = 1e-3;

/// A rank-5 target with ‖M‖_F² = 5 and a mask observing round(0.3 d²) entries chosen uniformly
/// (the m largest of d² Gaussians).
fn problem(seed: u64) -> MatrixCompletion<f64> {
    let mut rng = random::rng(seed);
    let m = random::low_rank::<f64, _>(&mut rng, D, D, RANK);
    let m = random::scaled(m.as_ref(), (RANK as f64).sqrt() / m.norm_l2());
    let g = random::gaussian::<f64, _>(&mut rng, D * D, 1);
    let mut order: Vec<usize> = (0..D * D).collect();
    order.sort_by(|&a, &b| g[(b, 0)].total_cmp(&g[(a, 0)]));
    let mut mask = Mat::<f64>::zeros(D, D);
    for &e in &order[..(DENSITY * (D * D) as f64).round() as usize] {
        mask[(e % D, e / D)] = 1.0;
    }
    MatrixCompletion::new(m, mask).expect("shapes agree")
}

fn small_init(seed: u64, n: usize) -> Network<f64> {
    let mut rng = random::rng(seed);
    Network::new(
        (0..n)
            .map(|_| {
                random::scaled(
                    random::gaussian::<f64, _>(&mut rng, D, D).as_ref(),
                    INIT_STD,
                )
            })
            .collect(),
    )
    .expect("finite")
}

fn completion_step(c: &mut Criterion) {
    let loss = problem(0);
    let mut g = c.benchmark_group("completion_step");
    g.sample_size(50);
    for n in [2, 3, 4] {
        let mut w = small_init(1, n).layers().to_vec();
        let mut ws = GradientWorkspace::new(&vec![D; n + 1]);
        g.bench_function(format!("step_d{D}_n{n}"), |b| {
            b.iter(|| {
                let e = network_gradient_into(black_box(&w), &loss, 0.0, &mut ws);
                for (wk, gk) in w.iter_mut().zip(ws.gradient()) {
                    zip!(wk.as_mut(), gk.as_ref()).for_each(|unzip!(w, g)| *w -= LR * *g);
                }
                black_box(e)
            })
        });
        // The unavoidable work: 3(N−1) products d×d·d×d into existing buffers, one thread.
        let a = small_init(2, 2).layers().to_vec();
        let mut dst = Mat::<f64>::zeros(D, D);
        g.bench_function(format!("products_d{D}_n{n}"), |b| {
            b.iter(|| {
                for _ in 0..3 * (n - 1) {
                    matmul(
                        dst.as_mut(),
                        Accum::Replace,
                        a[0].as_ref(),
                        a[1].as_ref(),
                        1.0,
                        Par::Seq,
                    );
                }
                black_box(dst[(0, 0)])
            })
        });
    }
    g.finish();
}

/// Seconds per step of the numpy loop, or `None` (with a message) when it cannot run.
fn numpy_step(python: &str, n: usize, steps: usize, one_thread: bool) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/numpy/completion_step.py");
    let mut cmd = Command::new(python);
    cmd.args([
        script,
        "--d",
        &D.to_string(),
        "--depth",
        &n.to_string(),
        "--rank",
        &RANK.to_string(),
        "--density",
        &DENSITY.to_string(),
        "--steps",
        &steps.to_string(),
        "--reps",
        "1",
        "--lr",
        &LR.to_string(),
        "--init-std",
        &INIT_STD.to_string(),
    ]);
    if one_thread {
        cmd.env("OPENBLAS_NUM_THREADS", "1");
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!(
            "numpy: {python} {script} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"per_step_min_s\": ";
    let at = text.find(key)? + key.len();
    text[at..].split([',', '}']).next()?.trim().parse().ok()
}

fn numpy(_c: &mut Criterion) {
    if !std::env::args().any(|a| a.contains("numpy")) {
        return;
    }
    let python = std::env::var("DLN_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let loss = problem(0);
    let (steps, rounds) = (500, 5);
    for n in [2, 3, 4] {
        let w0 = small_init(1, n);
        let (mut ours, mut np_default, mut np_one) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        for _ in 0..rounds {
            let start = Instant::now();
            let run = gradient_descent(&w0, &loss, 0.0, LR, steps, steps, &mut ()).unwrap();
            ours = ours.min(start.elapsed().as_secs_f64() / steps as f64);
            black_box(run);
            let Some(a) = numpy_step(&python, n, steps, false) else {
                eprintln!("numpy: skipped (no working `{python}` with numpy; set DLN_PYTHON)");
                return;
            };
            np_default = np_default.min(a);
            if let Some(b) = numpy_step(&python, n, steps, true) {
                np_one = np_one.min(b);
            }
        }
        eprintln!(
            "numpy/completion_step_d{D}_n{n}: dln {:.1} µs/step, numpy {:.1} µs/step (default BLAS threads), \
             {:.1} µs/step (OPENBLAS_NUM_THREADS=1); ratio {:.2}× / {:.2}×",
            ours * 1e6,
            np_default * 1e6,
            np_one * 1e6,
            np_default / ours,
            np_one / ours
        );
    }
}

criterion_group!(benches, completion_step, numpy);
criterion_main!(benches);
