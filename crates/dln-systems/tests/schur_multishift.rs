//! `real_schur` on the multishift/AED path (n ≥ 75) and across the crossover to the double-shift
//! kernel: Frank, Grcar, companion, Hessenberg matrices with tiny and graded subdiagonals, nearly
//! defective matrices, random matrices compared with faer's eigenvalues. Backward error and
//! orthogonality at O(nε), standardized quasi-triangular T, and invariants that do not depend on
//! eigenvalue conditioning (the trace) where the eigenvalues themselves are ill conditioned.
//! `timing_vs_faer_eigen` (ignored) times ours against faer's `eigen()` in one run.

mod common;
use common::{check_real_schur, eig_distance, faer_eigs, similar};
use dln_linalg::{c64, random};
use dln_systems::schur::{real_eigenvalues, real_schur};
use faer::Mat;

const K: f64 = 10.0;

/// Sizes on both sides of the crossover (75) and large enough for several AED windows and
/// multishift sweeps with 10–64 shifts.
const SIZES: [usize; 4] = [60, 80, 200, 450];

fn trace_matches(a: &Mat<f64>, ev: &[c64], what: &str) {
    let n = a.nrows();
    let tr: f64 = (0..n).map(|i| a[(i, i)]).sum();
    let s: c64 = ev.iter().copied().sum();
    let scale = (0..n).map(|i| a[(i, i)].abs()).sum::<f64>() + a.norm_l2();
    assert!(
        (s.re - tr).abs() <= 10.0 * n as f64 * f64::EPSILON * scale && s.im.abs() <= 1e-8 * scale,
        "{what}: sum of eigenvalues {s} vs trace {tr} (n = {n})"
    );
}

#[test]
fn frank_matrices() {
    for n in SIZES {
        // Frank matrix: f_ij = n + 1 - max(i, j) for j ≥ i - 1 (1-based), zero below. Its small
        // eigenvalues are very ill conditioned; the large ones are well conditioned.
        let a = Mat::from_fn(n, n, |i, j| {
            if j + 1 >= i {
                (n - i.max(j)) as f64
            } else {
                0.0
            }
        });
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "Frank");
        let ev = s.eigenvalues();
        trace_matches(&a, &ev, "Frank");
        let mut ours: Vec<f64> = ev.iter().map(|l| l.re).collect();
        let mut theirs: Vec<f64> = faer_eigs(a.as_ref()).iter().map(|l| l.re).collect();
        ours.sort_by(|x, y| y.total_cmp(x));
        theirs.sort_by(|x, y| y.total_cmp(x));
        for k in 0..5 {
            assert!(
                (ours[k] - theirs[k]).abs() <= 1e-10 * theirs[k].abs(),
                "Frank n = {n}: eigenvalue {k}: {} vs {}",
                ours[k],
                theirs[k]
            );
        }
    }
}

#[test]
fn grcar_matrices() {
    for n in SIZES {
        // Grcar: -1 on the subdiagonal, 1 on the diagonal and three superdiagonals. Highly
        // non-normal: eigenvalues are ill conditioned, so only backward error and trace.
        let a = Mat::from_fn(n, n, |i, j| {
            if i == j + 1 {
                -1.0
            } else if j >= i && j <= i + 3 {
                1.0
            } else {
                0.0
            }
        });
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "Grcar");
        trace_matches(&a, &s.eigenvalues(), "Grcar");
    }
}

#[test]
fn companion_matrices() {
    let mut rng = random::rng(77);
    for n in SIZES {
        // Companion matrix of a random monic polynomial (unbalanced, entries O(1)).
        let c: Mat<f64> = random::gaussian(&mut rng, 1, n);
        let a = Mat::from_fn(n, n, |i, j| {
            if i == 0 {
                -c[(0, j)]
            } else if i == j + 1 {
                1.0
            } else {
                0.0
            }
        });
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "companion");
        trace_matches(&a, &s.eigenvalues(), "companion");
    }
}

#[test]
fn hessenberg_tiny_and_graded_subdiagonals() {
    let mut rng = random::rng(31);
    for n in SIZES {
        let g: Mat<f64> = random::gaussian(&mut rng, n, n);
        // (a) Random Hessenberg with a few tiny subdiagonal entries (1e-13 .. 1e-300) that the
        // deflation criterion must treat correctly (neither ignored nor over-eager).
        let mut h = Mat::from_fn(n, n, |i, j| if i <= j + 1 { g[(i, j)] } else { 0.0 });
        for (m, &tiny) in [1e-13, 1e-17, 1e-40, 1e-300].iter().enumerate() {
            let k = (m + 1) * n / 5;
            h[(k, k - 1)] = tiny;
        }
        let s = real_schur(h.as_ref()).unwrap();
        check_real_schur(h.as_ref(), &s, K, "tiny subdiagonals");
        let d = eig_distance(&s.eigenvalues(), &faer_eigs(h.as_ref()));
        assert!(
            d <= 1e-8 * h.norm_l2(),
            "tiny subdiagonals n = {n}: distance {d:e}"
        );
        // (b) Graded Hessenberg: entries decaying like 10^{-(i+j)·16/n} (small eigenvalues must
        // keep their relative accuracy under the Ahues–Tisseur criterion).
        let r = 16.0 / n as f64;
        let h = Mat::from_fn(n, n, |i, j| {
            if i <= j + 1 {
                g[(i, j)] * 10f64.powf(-r * (i + j) as f64)
            } else {
                0.0
            }
        });
        let s = real_schur(h.as_ref()).unwrap();
        check_real_schur(h.as_ref(), &s, K, "graded Hessenberg");
        trace_matches(&h, &s.eigenvalues(), "graded Hessenberg");
    }
}

#[test]
fn nearly_defective() {
    let mut rng = random::rng(8);
    for n in SIZES {
        // Jordan blocks of size 4 at eigenvalues 1, 2, 3, ... (and one complex pair per block
        // cycle), perturbed by 1e-10, hidden by an orthogonal similarity.
        let mut t = Mat::<f64>::zeros(n, n);
        for i in 0..n {
            t[(i, i)] = 1.0 + (i / 4) as f64;
            if i % 4 != 3 && i + 1 < n {
                t[(i, i + 1)] = 1.0;
            }
        }
        let p: Mat<f64> = random::gaussian(&mut rng, n, n);
        let t = &t + &p * 1e-10;
        let a = similar(&mut rng, &t);
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "nearly defective");
        trace_matches(&a, &s.eigenvalues(), "nearly defective");
        // Each cluster's mean is well conditioned: compare the sorted means of groups of four.
        let mut ev: Vec<f64> = s.eigenvalues().iter().map(|l| l.re).collect();
        ev.sort_by(f64::total_cmp);
        for (b, chunk) in ev.chunks(4).enumerate() {
            let mean = chunk.iter().sum::<f64>() / chunk.len() as f64;
            assert!(
                (mean - (1.0 + b as f64)).abs() < 1e-5,
                "nearly defective n = {n}: cluster {b} mean {mean}"
            );
        }
    }
}

#[test]
fn random_matches_faer_across_sizes() {
    let mut rng = random::rng(4242);
    for n in [74usize, 75, 76, 151, 590, 700] {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "random");
        let d = eig_distance(&s.eigenvalues(), &faer_eigs(a.as_ref()));
        assert!(d <= 1e-9 * a.norm_l2(), "random n = {n}: distance {d:e}");
    }
}

#[test]
fn eigenvalues_only_path_agrees() {
    let mut rng = random::rng(5150);
    for n in [1usize, 2, 5, 60, 80, 300] {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let ev = real_eigenvalues(a.as_ref()).unwrap();
        let s = real_schur(a.as_ref()).unwrap();
        // Same Hessenberg matrix, same QR iteration on it: the eigenvalues agree to rounding.
        let d = eig_distance(&ev, &s.eigenvalues());
        assert!(d <= 1e-12 * a.norm_l2().max(1.0), "n = {n}: distance {d:e}");
        let d = eig_distance(&ev, &faer_eigs(a.as_ref()));
        assert!(d <= 1e-9 * a.norm_l2().max(1.0), "n = {n}: vs faer {d:e}");
        assert_eq!(
            ev.iter().filter(|l| l.im > 0.0).count(),
            ev.iter().filter(|l| l.im < 0.0).count()
        );
    }
    // A Hamiltonian matrix (eigenvalues symmetric about the imaginary axis) of order 2·150.
    let n = 150;
    let a: Mat<f64> = random::gaussian(&mut rng, n, n);
    let g: Mat<f64> = random::gaussian(&mut rng, n, n);
    let q: Mat<f64> = random::gaussian(&mut rng, n, n);
    let (g, q) = (&g + g.transpose(), &q + q.transpose());
    let h = Mat::from_fn(2 * n, 2 * n, |i, j| match (i < n, j < n) {
        (true, true) => a[(i, j)],
        (true, false) => g[(i, j - n)],
        (false, true) => q[(i - n, j)],
        (false, false) => -a[(j - n, i - n)],
    });
    let ev = real_eigenvalues(h.as_ref()).unwrap();
    let mirrored: Vec<c64> = ev.iter().map(|l| -l.conj()).collect();
    let d = eig_distance(&ev, &mirrored);
    assert!(d <= 1e-8 * h.norm_l2(), "Hamiltonian symmetry: {d:e}");
}

/// Times `real_schur` against faer's `eigen()` (eigenvalues and eigenvectors) and
/// `eigenvalues()` on the same matrices, interleaved, minimum of several repetitions. Run with
/// `cargo test -p dln-systems --test schur_multishift -- --ignored --nocapture timing`;
/// `DLN_TIMING_SIZES=500,1000` (comma-separated) replaces the default sizes 200, 500, 1000, 2040.
#[test]
#[ignore = "timing: run explicitly"]
fn timing_vs_faer_eigen() {
    use std::time::{Duration, Instant};
    let mut rng = random::rng(1000);
    let sizes: Vec<usize> = std::env::var("DLN_TIMING_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![200, 500, 1000, 2040]);
    for n in sizes {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let (mut ours, mut eig, mut eigvals, mut ours_ev) =
            (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
        // n = 2040: the order of the Hamiltonian of an n = 1000, r = 20 error system.
        let reps = if n > 1000 { 1 } else { 3 };
        for _ in 0..reps {
            let t = Instant::now();
            let s = real_schur(a.as_ref()).unwrap();
            ours = ours.min(t.elapsed());
            std::hint::black_box(&s);
            let t = Instant::now();
            let e = a.eigen().unwrap();
            eig = eig.min(t.elapsed());
            std::hint::black_box(&e);
            let t = Instant::now();
            let e = a.eigenvalues().unwrap();
            eigvals = eigvals.min(t.elapsed());
            std::hint::black_box(&e);
            let t = Instant::now();
            let e = real_eigenvalues(a.as_ref()).unwrap();
            ours_ev = ours_ev.min(t.elapsed());
            std::hint::black_box(&e);
        }
        eprintln!(
            "n = {n}: real_schur {ours:?}, faer eigen() {eig:?} (ratio {:.2}); real_eigenvalues {ours_ev:?}, faer eigenvalues() {eigvals:?} (ratio {:.2})",
            ours.as_secs_f64() / eig.as_secs_f64(),
            ours_ev.as_secs_f64() / eigvals.as_secs_f64()
        );
    }
}

/// Where our time goes, beside faer's `eigen()` on the same matrix in the same run (min of
/// `DLN_TIMING_REPS`, default 3, interleaved): the [`SchurProfile`] of our fastest run.
/// `cargo test --release -p dln-systems --test schur_multishift -- --ignored --nocapture profile`;
/// `DLN_TIMING_SIZES` as for `timing_vs_faer_eigen` (default 250, 500, 1000). Times are thread
/// CPU times (see [`Clock`]); with `DLN_TIMING_SEQ=1` faer runs sequentially (`Par::Seq`), so
/// that they are the whole cost on a machine shared with other jobs.
#[test]
#[ignore = "timing: run explicitly"]
fn profile_vs_faer_eigen() {
    use dln_systems::schur::profile::{Clock, SchurProfile, real_schur_profiled};
    use std::time::Duration;
    if std::env::var_os("DLN_TIMING_SEQ").is_some() {
        faer::set_global_parallelism(faer::Par::Seq);
    }
    let mut rng = random::rng(1000);
    let sizes: Vec<usize> = std::env::var("DLN_TIMING_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![250, 500, 1000]);
    let reps: usize = std::env::var("DLN_TIMING_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for n in sizes {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let mut best: Option<SchurProfile> = None;
        let mut eig = Duration::MAX;
        for _ in 0..reps.max(1) {
            let (s, p) = real_schur_profiled(a.as_ref()).unwrap();
            check_real_schur(a.as_ref(), &s, K, "profile");
            std::hint::black_box(&s);
            if best.as_ref().is_none_or(|b| p.total < b.total) {
                best = Some(p);
            }
            let t = Clock::now();
            let e = a.eigen().unwrap();
            eig = eig.min(t.elapsed());
            std::hint::black_box(&e);
        }
        let p = best.unwrap();
        let s = |d: Duration| d.as_secs_f64();
        let qr = s(p.total) - s(p.hessenberg) - s(p.form_q);
        eprintln!(
            "n = {n}: ours {:.3} s, faer eigen() {:.3} s, ratio {:.2}\n  hessenberg {:.3}, form Q0 {:.3}, QR phase {:.3} ({:.1} n^3 flops in off-window products, {:.2} Gflop/s there)\n  AED: {} calls, windows {:.0} avg, deflated {} ({} empty calls); window Schur {:.3}, reorder {:.3}, re-Hessenberg {:.3}, apply {:.3}\n  sweeps: {}, bulges {:.1} avg, rows {:.0} avg; chase {:.3}, apply {:.3}\n  small blocks: {} (rows {}), QR {:.3}, apply {:.3}",
            s(p.total),
            s(eig),
            s(p.total) / s(eig),
            s(p.hessenberg),
            s(p.form_q),
            qr,
            p.apply_flops / (n as f64).powi(3),
            p.apply_flops * 1e-9 / (s(p.aed_apply) + s(p.sweep_apply) + s(p.small_apply)),
            p.aed_calls,
            p.aed_window_sum as f64 / p.aed_calls.max(1) as f64,
            p.aed_deflated,
            p.aed_empty,
            s(p.aed_window_schur),
            s(p.aed_reorder),
            s(p.aed_rehess),
            s(p.aed_apply),
            p.sweeps,
            p.sweep_bulges as f64 / p.sweeps.max(1) as f64,
            p.sweep_rows as f64 / p.sweeps.max(1) as f64,
            s(p.sweep_chase),
            s(p.sweep_apply),
            p.small_blocks,
            p.small_rows,
            s(p.small_qr),
            s(p.small_apply),
        );
    }
}
