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
//! - `svd`: the product $RS$ of those (back-transformed) factors and its singular values;
//! - `hsv_after_schur`: [`hankel_singular_values_schur`], what [`hankel_singular_values`] does
//!   after the Schur form (both factors in Schur coordinates, no back-transformation, the
//!   triangular product and its singular values);
//! - `hsv`: the whole [`hankel_singular_values`] (what `dln hsv` computes);
//! - `factors_tilde`: both factors in Schur coordinates ([`lyapunov_cholesky_tilde`]), i.e. the
//!   two Hammarling sweeps without their back-transformations;
//! - `thin_svd`: the SVD of the $n\times n$ product $RS$ with singular vectors (what [`reduce`]
//!   needs for its projections);
//! - `reduce`: [`reduce`] at the given order (balanced truncation, square root);
//!   `hinf_error`: its certified $\mathcal H_\infty$ error (what `dln reduce` adds), with the
//!   number of Hamiltonian eigenvalue problems it solved; skipped with `DLN_TIMING_HINF=off`.
//!
//! A second test, `hammarling_blocked_vs_unblocked`, times [`lyapunov_cholesky_schur_blocked`]
//! with the default block size against the unblocked recursion (block size 0) on random stable
//! systems of the orders in `DLN_TIMING_SIZES` (default `250,500,1000`), interleaved, and checks
//! that the two factors agree.
mod common;
use common::read_npy;
use dln_systems::gramian::{hankel_singular_values, hankel_singular_values_schur};
use dln_systems::lyapunov::{
    HAMMARLING_BLOCK, TimeDomain, lyapunov_cholesky_schur, lyapunov_cholesky_schur_blocked,
    lyapunov_cholesky_tilde,
};
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
    let with_hinf = std::env::var("DLN_TIMING_HINF").map_or(true, |v| v != "off");
    let mut t = [f64::INFINITY; 11];
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
        let rs = timed(&mut t[4], || {
            let rs = rf.transpose() * &sf;
            dln_linalg::singular_values(rs.as_ref()).expect("svd");
            rs
        });
        timed(&mut t[9], || {
            let st = transposed(&s);
            let uc = lyapunov_cholesky_tilde(&s, b.as_ref(), td, HAMMARLING_BLOCK);
            let uo = lyapunov_cholesky_tilde(&st, c.transpose(), td, HAMMARLING_BLOCK);
            (
                uc.expect("controllability factor"),
                uo.expect("observability factor"),
            )
        });
        timed(&mut t[10], || {
            dln_linalg::thin_svd(rs.as_ref()).expect("thin svd")
        });
        timed(&mut t[8], || {
            hankel_singular_values_schur(&sys, &s).expect("hsv after the Schur form")
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
        if with_hinf {
            let (e, p) = timed(&mut t[7], || red.hinf_error_profiled().expect("hinf_error"));
            iterations = e.iterations;
            hinf = e.value;
            eprintln!("hinf_error profile: {p:?}");
        }
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
        "hsv_after_schur",
        "factors_tilde",
        "thin_svd",
    ];
    let mut json = serde_json::Map::new();
    json.insert("n".into(), a.nrows().into());
    json.insert("order".into(), r.into());
    json.insert("reps".into(), reps.into());
    for (k, v) in names.iter().zip(t) {
        if v.is_finite() {
            json.insert((*k).into(), v.into());
        }
    }
    if with_hinf {
        json.insert("hamiltonian_eigenproblems".into(), iterations.into());
        json.insert("hinf_error_value".into(), hinf.into());
    }
    println!("timing_stages {}", serde_json::Value::Object(json));
}

/// A random stable real Schur form of order `n` and a random $B$ ($n\times2$): the Schur form of
/// $M = \mathrm{randn}/\sqrt n$ (xorshift, Box–Muller), shifted by $-(\max\operatorname{Re}
/// \lambda + 1)$ on the diagonal (the Schur form of $M - (\max\operatorname{Re}\lambda+1)I$).
fn random_stable_schur(n: usize, seed: u64) -> (RealSchur, Mat<f64>) {
    let mut state = seed.max(1);
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut gauss =
        move || (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
    let scale = 1.0 / (n as f64).sqrt();
    let m = Mat::from_fn(n, n, |_, _| gauss() * scale);
    let b = Mat::from_fn(n, 2, |_, _| gauss());
    let mut s = real_schur(m.as_ref()).expect("real_schur");
    let shift = s
        .eigenvalues()
        .iter()
        .map(|l| l.re)
        .fold(f64::NEG_INFINITY, f64::max)
        + 1.0;
    for i in 0..n {
        s.t[(i, i)] -= shift;
    }
    (s, b)
}

#[test]
#[ignore = "timing: run in a release build"]
fn hammarling_blocked_vs_unblocked() {
    if cfg!(debug_assertions) {
        eprintln!("note: debug assertions are on; timings are not representative (use --release)");
    }
    let sizes: Vec<usize> = std::env::var("DLN_TIMING_SIZES")
        .unwrap_or_else(|_| "250,500,1000".into())
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    let reps = env_usize("DLN_TIMING_REPS", 3).max(1);
    let td = TimeDomain::Continuous;
    for n in sizes {
        let (s, b) = random_stable_schur(n, 1000 + n as u64);
        // Schur coordinates (the recursion alone) and with the back-transformation.
        let mut t = [f64::INFINITY; 4];
        let (mut u0, mut u1) = (Mat::zeros(0, 0), Mat::zeros(0, 0));
        for _ in 0..reps {
            u0 = timed(&mut t[0], || {
                lyapunov_cholesky_tilde(&s, b.as_ref(), td, 0).expect("unblocked")
            });
            u1 = timed(&mut t[1], || {
                lyapunov_cholesky_tilde(&s, b.as_ref(), td, HAMMARLING_BLOCK).expect("blocked")
            });
            timed(&mut t[2], || {
                lyapunov_cholesky_schur_blocked(&s, b.as_ref(), td, 0).expect("unblocked")
            });
            timed(&mut t[3], || {
                lyapunov_cholesky_schur_blocked(&s, b.as_ref(), td, HAMMARLING_BLOCK)
                    .expect("blocked")
            });
        }
        let (y0, y1) = (&u0 * u0.transpose(), &u1 * u1.transpose());
        let dist = (&y1 - &y0).norm_l2() / y0.norm_l2();
        assert!(
            dist < 1e3 * n as f64 * f64::EPSILON,
            "n = {n}: |Y_blocked - Y_unblocked| / |Y| = {dist:e}"
        );
        println!(
            "hammarling n = {n} (min of {reps}): Schur coordinates unblocked {:.4} s, blocked \
             (nb = {HAMMARLING_BLOCK}) {:.4} s, ratio {:.3}; with the back-transformation \
             {:.4} s vs {:.4} s, ratio {:.3}; |Y_b - Y_u|/|Y| = {dist:.1e}",
            t[0],
            t[1],
            t[1] / t[0],
            t[2],
            t[3],
            t[3] / t[2]
        );
    }
}
