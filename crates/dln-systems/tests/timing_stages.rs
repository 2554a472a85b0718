//! Stage timings of `dln hsv` and `dln reduce` on one system read from `.npy` files, in one
//! process, interleaved, minimum of several repetitions: the library side of the side-by-side
//! comparison with SLICOT (`benches/slycot/side_by_side.py`, which runs this test between its
//! `dln` and slycot jobs).
//!
//! Opt-in (`#[ignore]`) and only in a release build:
//! `DLN_TIMING_SYS=DIR cargo test --release -p dln-systems --test timing_stages -- --ignored
//! --nocapture` with `DIR/{A,B,C}.npy` (continuous time, `D = 0`); `DLN_TIMING_REPS` (default 3)
//! and `DLN_TIMING_ORDER` (default 20) are optional. It prints one line starting with
//! `timing_stages ` followed by a JSON object of minimum times in seconds:
//!
//! - `schur`: our [`real_schur`]; `faer_eigen`: faer's `eigen()` on the same matrix (the target:
//!   `schur <= faer_eigen`);
//! - `hammarling_c`, `hammarling_o`: the two Hammarling sweeps from that Schur form (Cholesky
//!   factors of the controllability and observability Gramians);
//! - `svd`: the product $RS$ and its singular values;
//! - `hsv`: the whole [`hankel_singular_values`] (what `dln hsv` computes);
//! - `reduce`: [`reduce`] at the given order (balanced truncation, square root);
//!   `hinf_error`: its certified $\mathcal H_\infty$ error (what `dln reduce` adds), with the
//!   number of Hamiltonian eigenvalue problems it solved.
mod common;
use common::read_npy;
use dln_systems::gramian::hankel_singular_values;
use dln_systems::lyapunov::{TimeDomain, lyapunov_cholesky_schur};
use dln_systems::model::StateSpace;
use dln_systems::reduction::{OrderSelection, ReductionOptions, reduce};
use dln_systems::schur::{RealSchur, real_schur};
use faer::Mat;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

/// The Schur form of $A^{\mathsf T}$ from that of $A$: $A^{\mathsf T} = (ZJ)(JT^{\mathsf T}J)(ZJ)^{\mathsf T}$
/// with the flip $J$ (as the library does for the observability Gramian).
fn transposed(s: &RealSchur) -> RealSchur {
    let n = s.t.nrows();
    RealSchur {
        t: Mat::from_fn(n, n, |i, j| s.t[(n - 1 - j, n - 1 - i)]),
        z: Mat::from_fn(n, n, |i, j| s.z[(i, n - 1 - j)]),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Minimum over `best` and the time of `f`.
fn timed<T>(best: &mut f64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = black_box(f());
    *best = best.min(t.elapsed().as_secs_f64());
    out
}

#[test]
#[ignore = "timing: needs DLN_TIMING_SYS and a release build"]
fn stages_from_npy() {
    let Some(dir) = std::env::var_os("DLN_TIMING_SYS").map(PathBuf::from) else {
        eprintln!("skipped: set DLN_TIMING_SYS to a directory with A.npy, B.npy, C.npy");
        return;
    };
    if cfg!(debug_assertions) {
        eprintln!("note: debug assertions are on; timings are not representative (use --release)");
    }
    let (a, b, c) = (
        read_npy(&dir.join("A.npy")),
        read_npy(&dir.join("B.npy")),
        read_npy(&dir.join("C.npy")),
    );
    let sys = StateSpace::continuous(
        a.clone(),
        b.clone(),
        c.clone(),
        Mat::zeros(c.nrows(), b.ncols()),
    )
    .expect("a valid system");
    let reps = env_usize("DLN_TIMING_REPS", 3).max(1);
    let r = env_usize("DLN_TIMING_ORDER", 20);
    let td = TimeDomain::Continuous;
    let mut t = [f64::INFINITY; 8];
    let mut iterations = 0;
    let mut hinf = 0.0;
    for _ in 0..reps {
        let s = timed(&mut t[0], || real_schur(a.as_ref()).expect("real_schur"));
        timed(&mut t[1], || a.eigen().expect("faer eigen"));
        let sf = timed(&mut t[2], || {
            lyapunov_cholesky_schur(&s, b.as_ref(), td).expect("controllability factor")
        });
        let rf = timed(&mut t[3], || {
            lyapunov_cholesky_schur(&transposed(&s), c.transpose(), td)
                .expect("observability factor")
        });
        timed(&mut t[4], || {
            let rs = rf.transpose() * &sf;
            dln_linalg::singular_values(rs.as_ref()).expect("svd")
        });
        timed(&mut t[5], || hankel_singular_values(&sys).expect("hsv"));
        let red = timed(&mut t[6], || {
            reduce(
                &sys,
                ReductionOptions {
                    order: OrderSelection::Fixed(r),
                    ..Default::default()
                },
            )
            .expect("reduce")
        });
        let (e, p) = timed(&mut t[7], || red.hinf_error_profiled().expect("hinf_error"));
        iterations = e.iterations;
        hinf = e.value;
        eprintln!("hinf_error profile: {p:?}");
    }
    let names = [
        "schur",
        "faer_eigen",
        "hammarling_c",
        "hammarling_o",
        "svd",
        "hsv",
        "reduce",
        "hinf_error",
    ];
    let mut json = serde_json::Map::new();
    json.insert("n".into(), a.nrows().into());
    json.insert("order".into(), r.into());
    json.insert("reps".into(), reps.into());
    for (k, v) in names.iter().zip(t) {
        json.insert((*k).into(), v.into());
    }
    json.insert("hamiltonian_eigenproblems".into(), iterations.into());
    json.insert("hinf_error_value".into(), hinf.into());
    println!("timing_stages {}", serde_json::Value::Object(json));
}
