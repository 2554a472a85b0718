//! Schur forms, reordering, Sylvester and Lyapunov solvers: hard cases, SLICOT examples,
//! random stress tests and property tests.

mod common;
use common::{check_real_schur, eig_distance, faer_eigs, similar};

use dln_linalg::{c64, random};
use dln_systems::SystemsError;
use dln_systems::lyapunov::{
    TimeDomain, lyapunov, lyapunov_cholesky, lyapunov_complex, separation_estimate,
};
use dln_systems::reference::RandomStable;
use dln_systems::schur::{
    ComplexSchur, complex_schur, real_schur, reorder_complex_schur, reorder_real_schur,
};
use dln_systems::sylvester::sylvester;
use faer::{Mat, MatRef};
use proptest::prelude::*;

const EPS: f64 = f64::EPSILON;

// ---------------------------------------------------------------------------------------------
// helpers

fn check_complex_schur(a: MatRef<'_, c64>, s: &ComplexSchur, k: f64) {
    let n = a.nrows();
    let nf = n.max(1) as f64;
    let an = a.norm_l2().max(f64::MIN_POSITIVE);
    let rec = &s.z * &s.t * s.z.adjoint();
    let back = (&rec - a).norm_l2() / an;
    assert!(back <= k * nf * EPS, "backward error {back:e} (n = {n})");
    let orth = (s.z.adjoint() * &s.z - Mat::<c64>::identity(n, n)).norm_l2();
    assert!(orth <= k * nf * EPS, "unitarity {orth:e}");
    for j in 0..n {
        for i in j + 1..n {
            assert!(s.t[(i, j)] == c64::new(0.0, 0.0), "T not triangular");
        }
    }
}

/// Random stable matrix: Gaussian shifted so that max Re λ = -margin (CT) or scaled so that the
/// spectral radius is `margin` (DT).
fn random_stable(rng: &mut random::StdRng, n: usize, time: TimeDomain, margin: f64) -> Mat<f64> {
    let class = match time {
        TimeDomain::Continuous => RandomStable::continuous(n, 0, 0, margin),
        TimeDomain::Discrete => RandomStable::discrete(n, 0, 0, margin),
    };
    class.matrix(rng).unwrap()
}

fn lyap_residual(
    a: MatRef<'_, f64>,
    x: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
    time: TimeDomain,
) -> f64 {
    let r = match time {
        TimeDomain::Continuous => a * x + x * a.transpose() + q,
        TimeDomain::Discrete => a * x * a.transpose() - x + q,
    };
    let an = a.norm_l2();
    let denom = match time {
        TimeDomain::Continuous => 2.0 * an * x.norm_l2() + q.norm_l2(),
        TimeDomain::Discrete => (an * an + 1.0) * x.norm_l2() + q.norm_l2(),
    };
    r.norm_l2() / denom
}

fn is_upper(u: MatRef<'_, f64>) -> bool {
    (0..u.ncols()).all(|j| (j + 1..u.nrows()).all(|i| u[(i, j)] == 0.0))
}

// ---------------------------------------------------------------------------------------------
// Schur: hard cases

#[test]
fn schur_small_and_trivial() {
    // 0x0, 1x1, zero matrix.
    let s = real_schur(Mat::<f64>::zeros(0, 0).as_ref()).unwrap();
    assert_eq!(s.t.nrows(), 0);
    let a = Mat::from_fn(1, 1, |_, _| -3.5);
    let s = real_schur(a.as_ref()).unwrap();
    check_real_schur(a.as_ref(), &s, 1.0, "real Schur");
    assert_eq!(s.eigenvalues(), vec![c64::new(-3.5, 0.0)]);
    let z = Mat::<f64>::zeros(6, 6);
    let s = real_schur(z.as_ref()).unwrap();
    assert!(s.t.norm_l2() == 0.0);
    check_real_schur(z.as_ref(), &s, 1.0, "real Schur");
    // 2x2: rotation (complex pair), real distinct, real double (defective), b = 0, c = 0.
    for m in [
        faer::mat![[0.0, 1.0], [-1.0, 0.0]],
        faer::mat![[1.0, 2.0], [3.0, 4.0]],
        faer::mat![[1.0, 1.0], [0.0, 1.0]],
        faer::mat![[2.0, 0.0], [5.0, 3.0]],
        faer::mat![[1.0, -5.0], [1.0, 2.0]],
        faer::mat![[1e-300, 1.0], [-1.0, 1e300]],
    ] {
        let s = real_schur(m.as_ref()).unwrap();
        check_real_schur(m.as_ref(), &s, 4.0, "real Schur");
        let d = eig_distance(&s.eigenvalues(), &faer_eigs(m.as_ref()));
        assert!(d <= 1e-12 * m.norm_l2(), "{d:e}");
    }
    let s = real_schur(faer::mat![[0.0, 1.0], [-1.0, 0.0]].as_ref()).unwrap();
    let ev = s.eigenvalues();
    assert!(
        (ev[0] - c64::new(0.0, 1.0)).norm() < 1e-15 && (ev[1] - c64::new(0.0, -1.0)).norm() < 1e-15
    );
}

#[test]
fn schur_random_sizes_match_faer_eigenvalues() {
    let mut rng = random::rng(42);
    for n in [3usize, 4, 7, 16, 31, 64, 100, 150, 300] {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, 4.0, "real Schur");
        let d = eig_distance(&s.eigenvalues(), &faer_eigs(a.as_ref()));
        assert!(
            d <= 1e-9 * a.norm_l2(),
            "n = {n}: eigenvalue distance {d:e}"
        );
    }
}

#[test]
fn schur_defective_and_clustered() {
    let mut rng = random::rng(7);
    // Jordan block J_12(0.5), hidden by an orthogonal similarity.
    let n = 12;
    let j = Mat::from_fn(n, n, |i, k| {
        if i == k {
            0.5
        } else if k == i + 1 {
            1.0
        } else {
            0.0
        }
    });
    let a = similar(&mut rng, &j);
    let s = real_schur(a.as_ref()).unwrap();
    check_real_schur(a.as_ref(), &s, 8.0, "real Schur");
    // Eigenvalues of a Jordan block are perturbed by ~ eps^(1/n): only their mean is accurate.
    let ev = s.eigenvalues();
    let mean: c64 = ev.iter().copied().sum::<c64>() / n as f64;
    assert!((mean - c64::new(0.5, 0.0)).norm() < 1e-12);
    for l in &ev {
        assert!((l - c64::new(0.5, 0.0)).norm() < 0.2);
    }
    // Clustered eigenvalues 1 + k·1e-10.
    let n = 20;
    let d = Mat::from_fn(n, n, |i, k| {
        if i == k {
            1.0 + 1e-10 * i as f64
        } else if k > i {
            0.3
        } else {
            0.0
        }
    });
    let a = similar(&mut rng, &d);
    let s = real_schur(a.as_ref()).unwrap();
    check_real_schur(a.as_ref(), &s, 8.0, "real Schur");
    // Complex pairs with equal real parts and a repeated pair.
    let mut d = Mat::<f64>::zeros(10, 10);
    for (k, &(re, im)) in [
        (-1.0, 2.0),
        (-1.0, 2.0),
        (-1.0, 0.5),
        (0.3, 1e-6),
        (2.0, 7.0),
    ]
    .iter()
    .enumerate()
    {
        d[(2 * k, 2 * k)] = re;
        d[(2 * k + 1, 2 * k + 1)] = re;
        d[(2 * k, 2 * k + 1)] = im;
        d[(2 * k + 1, 2 * k)] = -im;
    }
    let a = similar(&mut rng, &d);
    let s = real_schur(a.as_ref()).unwrap();
    check_real_schur(a.as_ref(), &s, 8.0, "real Schur");
    let dist = eig_distance(&s.eigenvalues(), &faer_eigs(d.as_ref()));
    assert!(dist < 1e-6, "{dist:e}");
    // Already upper triangular, and a companion matrix.
    let mut t: Mat<f64> = random::gaussian(&mut rng, 40, 40);
    for jj in 0..40 {
        for ii in jj + 1..40 {
            t[(ii, jj)] = 0.0;
        }
    }
    let s = real_schur(t.as_ref()).unwrap();
    check_real_schur(t.as_ref(), &s, 8.0, "real Schur");
    let n = 15;
    let comp = Mat::from_fn(n, n, |i, k| {
        if i == 0 {
            -1.0 / (k + 1) as f64
        } else if i == k + 1 {
            1.0
        } else {
            0.0
        }
    });
    let s = real_schur(comp.as_ref()).unwrap();
    check_real_schur(comp.as_ref(), &s, 8.0, "real Schur");
    // Graded matrix (entries spanning 1e-12 .. 1e12).
    let n = 30;
    let g0: Mat<f64> = random::gaussian(&mut rng, n, n);
    let g = Mat::from_fn(n, n, |i, k| {
        g0[(i, k)] * 10f64.powf(0.8 * (k as f64 - i as f64))
    });
    let s = real_schur(g.as_ref()).unwrap();
    check_real_schur(g.as_ref(), &s, 8.0, "real Schur");
}

#[test]
fn schur_rejects_non_finite() {
    let mut a = Mat::<f64>::identity(3, 3);
    a[(1, 2)] = f64::NAN;
    assert!(real_schur(a.as_ref()).is_err());
}

#[test]
fn reorder_real_moves_selected_first() {
    let mut rng = random::rng(5);
    for n in [2usize, 5, 17, 60, 120] {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let mut s = real_schur(a.as_ref()).unwrap();
        let ev = s.eigenvalues();
        let mut res: Vec<f64> = ev.iter().map(|l| l.re).collect();
        res.sort_by(f64::total_cmp);
        // Threshold in the widest gap of the middle half (never on an eigenvalue).
        let (lo, hi) = (n / 4, (3 * n / 4).max(n / 4 + 1).min(n - 1));
        let mut alpha = res[0] - 1.0;
        let mut gap = -1.0;
        for i in lo..hi {
            if res[i + 1] - res[i] > gap {
                gap = res[i + 1] - res[i];
                alpha = 0.5 * (res[i] + res[i + 1]);
            }
        }
        let sel = |l: c64| l.re < alpha;
        let expected = ev.iter().filter(|l| sel(**l)).count();
        let k = reorder_real_schur(&mut s, sel).unwrap();
        assert_eq!(k, expected, "n = {n}");
        check_real_schur(a.as_ref(), &s, 16.0, "real Schur");
        let ev2 = s.eigenvalues();
        assert!(ev2[..k].iter().all(|l| sel(*l)) && ev2[k..].iter().all(|l| !sel(*l)));
        assert!(
            k == n || k == 0 || s.t[(k, k - 1)] == 0.0,
            "leading block is not decoupled"
        );
        assert!(eig_distance(&ev2, &ev) < 1e-8 * a.norm_l2());
        // Leading columns of Z span an invariant subspace: A Z1 = Z1 T11.
        let z1 = s.z.as_ref().subcols(0, k);
        let r = a.as_ref() * z1 - z1 * s.t.as_ref().submatrix(0, 0, k, k);
        assert!(r.norm_l2() <= 1e3 * n as f64 * EPS * a.norm_l2());
    }
    // Select the unstable part (Re λ > 0) of a system with both, complex pairs included.
    let a = random_stable(&mut rng, 30, TimeDomain::Continuous, 0.1);
    let a = &a + Mat::<f64>::identity(30, 30) * 1.0;
    let mut s = real_schur(a.as_ref()).unwrap();
    let k = reorder_real_schur(&mut s, |l| l.re > 0.0).unwrap();
    let ev = s.eigenvalues();
    assert!(ev[..k].iter().all(|l| l.re > 0.0) && ev[k..].iter().all(|l| l.re <= 0.0));
    check_real_schur(a.as_ref(), &s, 16.0, "real Schur");
}

#[test]
fn complex_schur_and_reorder() {
    let mut rng = random::rng(9);
    for n in [1usize, 2, 9, 50, 120] {
        let a: Mat<c64> = random::gaussian(&mut rng, n, n);
        let mut s = complex_schur(a.as_ref()).unwrap();
        check_complex_schur(a.as_ref(), &s, 8.0);
        let reference = a.eigenvalues().unwrap();
        assert!(eig_distance(&s.eigenvalues(), &reference) < 1e-9 * a.norm_l2());
        let k = reorder_complex_schur(&mut s, |l| l.im > 0.0).unwrap();
        let ev = s.eigenvalues();
        assert!(ev[..k].iter().all(|l| l.im > 0.0) && ev[k..].iter().all(|l| l.im <= 0.0));
        check_complex_schur(a.as_ref(), &s, 16.0);
        // Real input goes through the real Schur form.
        let ar: Mat<f64> = random::gaussian(&mut rng, n, n);
        let sr = complex_schur(ar.as_ref()).unwrap();
        let ac = Mat::from_fn(n, n, |i, j| c64::new(ar[(i, j)], 0.0));
        check_complex_schur(ac.as_ref(), &sr, 8.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Sylvester

#[test]
fn sylvester_real_and_complex() {
    let mut rng = random::rng(21);
    for &(n, m) in &[(1usize, 1usize), (3, 5), (40, 7), (90, 110)] {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let b: Mat<f64> = &random::gaussian::<f64, _>(&mut rng, m, m)
            + Mat::<f64>::identity(m, m) * (3.0 * (n as f64).sqrt() + 3.0);
        let c: Mat<f64> = random::gaussian(&mut rng, n, m);
        let x = sylvester(a.as_ref(), b.as_ref(), c.as_ref()).unwrap();
        let r = (&a * &x + &x * &b - &c).norm_l2()
            / ((a.norm_l2() + b.norm_l2()) * x.norm_l2() + c.norm_l2());
        assert!(r < 10.0 * (n + m) as f64 * EPS, "real ({n}, {m}): {r:e}");
        let a: Mat<c64> = random::gaussian(&mut rng, n, n);
        let b: Mat<c64> = &random::gaussian::<c64, _>(&mut rng, m, m)
            + Mat::<c64>::identity(m, m)
                * faer::Scale(c64::new(0.0, 3.0 * (n as f64).sqrt() + 3.0));
        let c: Mat<c64> = random::gaussian(&mut rng, n, m);
        let x = sylvester(a.as_ref(), b.as_ref(), c.as_ref()).unwrap();
        let r = (&a * &x + &x * &b - &c).norm_l2()
            / ((a.norm_l2() + b.norm_l2()) * x.norm_l2() + c.norm_l2());
        assert!(r < 10.0 * (n + m) as f64 * EPS, "complex ({n}, {m}): {r:e}");
    }
    // Singular: A and -B share an eigenvalue.
    let a = faer::mat![[1.0, 2.0], [0.0, 3.0]];
    let b = faer::mat![[-3.0, 0.0], [1.0, 5.0]];
    let err = sylvester(a.as_ref(), b.as_ref(), Mat::<f64>::identity(2, 2).as_ref()).unwrap_err();
    assert!(
        matches!(err, SystemsError::SingularEquation { .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Lyapunov: SLICOT examples

fn slicot(name: &str) -> (std::path::PathBuf, serde_json::Value) {
    let dir = common::lti_dir().join(name);
    let exp = common::read_json(&dir.join("expected.json"));
    (dir, exp)
}

fn assert_close(a: MatRef<'_, f64>, b: MatRef<'_, f64>, tol: f64, what: &str) {
    assert_eq!(a.shape(), b.shape());
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            assert!(
                (a[(i, j)] - b[(i, j)]).abs() <= tol,
                "{what}: ({i}, {j}) {} vs {}",
                a[(i, j)],
                b[(i, j)]
            );
        }
    }
}

#[test]
fn slicot_sb03md_discrete() {
    let (dir, exp) = slicot("slicot_sb03md");
    let a = common::read_npy(&dir.join("A.npy"));
    let c = common::read_npy(&dir.join("C.npy"));
    // A^T X A - X = C  <=>  ours with A^T and Q = -C.
    let s = lyapunov(a.transpose(), (-&c).as_ref(), TimeDomain::Discrete).unwrap();
    assert_close(
        s.x.as_ref(),
        common::mat(&exp["X"]).as_ref(),
        1e-4,
        "SB03MD X",
    );
    // The slycot run gives X to full precision.
    let refj = common::read_json(&dir.join("reference.json"));
    assert_close(
        s.x.as_ref(),
        common::mat(&refj["X_slycot"]).as_ref(),
        1e-13,
        "SB03MD X (slycot)",
    );
    assert!(s.residual < 1e-15, "{}", s.residual);
}

#[test]
fn slicot_sb03qd_sd_td_ud() {
    for (name, time, sep_key) in [
        ("slicot_sb03qd", TimeDomain::Continuous, "sep"),
        ("slicot_sb03td", TimeDomain::Continuous, "sep"),
        ("slicot_sb03sd", TimeDomain::Discrete, "sepd"),
        ("slicot_sb03ud", TimeDomain::Discrete, "sepd"),
    ] {
        let (dir, exp) = slicot(name);
        let a = common::read_npy(&dir.join("A.npy"));
        let c = common::read_npy(&dir.join("C.npy"));
        let s = lyapunov(a.transpose(), (-&c).as_ref(), time).unwrap();
        assert_close(s.x.as_ref(), common::mat(&exp["X"]).as_ref(), 1e-4, name);
        assert!(s.residual < 1e-15);
        // sep is an estimate: SLICOT's own routines differ by a factor 3 on this example
        // (SB03MD's estimate in reference.json is 1.81, SB03SD's 5.23). Ours must be in the same
        // range and consistent with the exact Frobenius separation.
        let sep = separation_estimate(a.transpose(), time).unwrap();
        let sep_slicot = exp[sep_key].as_f64().unwrap();
        assert!(
            sep > sep_slicot / 3.0 && sep < sep_slicot * 3.0,
            "{name}: sep {sep} vs SLICOT {sep_slicot}"
        );
    }
}

#[test]
fn slicot_sb03od_cholesky() {
    let (dir, exp) = slicot("slicot_sb03od");
    let a = common::read_npy(&dir.join("A.npy"));
    let b = common::read_npy(&dir.join("B.npy")); // m x n, m = 5 > n = 4
    assert_eq!((b.nrows(), b.ncols()), (5, 4));
    // A^T X + X A = -B^T B  <=>  ours with (A^T, B^T).
    let f = lyapunov_cholesky(a.transpose(), b.transpose(), TimeDomain::Continuous).unwrap();
    assert!(is_upper(f.u.as_ref()));
    let x = &f.u * f.u.transpose();
    assert_close(
        x.as_ref(),
        common::mat(&exp["X"]).as_ref(),
        1e-4 * 10.0,
        "SB03OD X",
    );
    assert!(f.residual < 1e-14, "{}", f.residual);
    // SLICOT's factor: X = Us^T Us with Us upper: the Cholesky factor of our X.
    let us = x.llt(faer::Side::Lower).unwrap().L().transpose().to_owned();
    assert_close(
        us.as_ref(),
        common::mat(&exp["U"]).as_ref(),
        1e-4 * 10.0,
        "SB03OD U",
    );
}

// ---------------------------------------------------------------------------------------------
// Lyapunov: random stress

#[test]
fn lyapunov_bartels_stewart_random() {
    let mut rng = random::rng(100);
    for time in [TimeDomain::Continuous, TimeDomain::Discrete] {
        for n in [1usize, 2, 3, 8, 33, 70, 150, 200] {
            let a = random_stable(&mut rng, n, time, 0.3);
            // Indefinite symmetric Q (BS does not need a definite right-hand side).
            let g: Mat<f64> = random::gaussian(&mut rng, n, n);
            let q = &g + g.transpose();
            let s = lyapunov(a.as_ref(), q.as_ref(), time).unwrap();
            assert!(
                s.residual < 10.0 * n as f64 * EPS,
                "{time:?} n = {n}: {:e}",
                s.residual
            );
            let r = lyap_residual(a.as_ref(), s.x.as_ref(), q.as_ref(), time);
            assert!(r < 10.0 * n as f64 * EPS, "{time:?} n = {n}: {r:e}");
            assert!((&s.x - s.x.transpose()).norm_l2() == 0.0, "X not symmetric");
        }
    }
    // Unstable but solvable (no λi + λj = 0) is fine for Bartels–Stewart.
    let a = faer::mat![[1.0, 3.0], [0.0, -2.0]];
    let s = lyapunov(
        a.as_ref(),
        Mat::<f64>::identity(2, 2).as_ref(),
        TimeDomain::Continuous,
    )
    .unwrap();
    assert!(s.residual < 1e-15);
    // Singular: eigenvalues ±1.
    let a = faer::mat![[1.0, 0.0], [0.0, -1.0]];
    let err = lyapunov(
        a.as_ref(),
        Mat::<f64>::identity(2, 2).as_ref(),
        TimeDomain::Continuous,
    )
    .unwrap_err();
    assert!(matches!(err, SystemsError::SingularEquation { .. }));
    let a = faer::mat![[2.0, 0.0], [0.0, 0.5]];
    let err = lyapunov(
        a.as_ref(),
        Mat::<f64>::identity(2, 2).as_ref(),
        TimeDomain::Discrete,
    )
    .unwrap_err();
    assert!(matches!(err, SystemsError::SingularEquation { .. }));
}

#[test]
fn hammarling_random_matches_bartels_stewart() {
    let mut rng = random::rng(200);
    for time in [TimeDomain::Continuous, TimeDomain::Discrete] {
        for &(n, m) in &[
            (1usize, 1usize),
            (1, 3),
            (2, 1),
            (3, 2),
            (10, 1),
            (10, 15),
            (40, 3),
            (77, 100),
            (200, 2),
            (200, 7),
        ] {
            let a = random_stable(&mut rng, n, time, 0.2);
            let b: Mat<f64> = random::gaussian(&mut rng, n, m);
            let f = lyapunov_cholesky(a.as_ref(), b.as_ref(), time).unwrap();
            assert!(is_upper(f.u.as_ref()));
            assert!((0..n).all(|i| f.u[(i, i)] >= 0.0));
            assert!(
                f.residual < 20.0 * n as f64 * EPS,
                "{time:?} ({n}, {m}): residual {:e}",
                f.residual
            );
            let q = &b * b.transpose();
            let bs = lyapunov(a.as_ref(), q.as_ref(), time).unwrap();
            let x = &f.u * f.u.transpose();
            let d = (&x - &bs.x).norm_l2() / bs.x.norm_l2();
            // Both are backward stable; their distance is bounded by cond · eps.
            let sep = separation_estimate(a.as_ref(), time).unwrap();
            let bound = 1e3 * n as f64 * EPS * (a.norm_l2() / sep).max(1.0);
            assert!(
                d < bound,
                "{time:?} ({n}, {m}): UU^T vs BS {d:e} (bound {bound:e})"
            );
        }
    }
}

#[test]
fn hammarling_discrete_near_unit_circle_and_complex_pairs() {
    let mut rng = random::rng(300);
    for margin in [0.99, 0.999, 0.9999] {
        let a = random_stable(&mut rng, 60, TimeDomain::Discrete, margin);
        let b: Mat<f64> = random::gaussian(&mut rng, 60, 2);
        let f = lyapunov_cholesky(a.as_ref(), b.as_ref(), TimeDomain::Discrete).unwrap();
        assert!(f.residual < 1e3 * EPS, "margin {margin}: {:e}", f.residual);
    }
    // Rotation-dominated CT system close to the imaginary axis: many 2x2 blocks.
    let n = 40;
    let mut d = Mat::<f64>::zeros(n, n);
    for k in 0..n / 2 {
        let (re, im) = (-1e-3 * (k + 1) as f64, 1.0 + k as f64);
        d[(2 * k, 2 * k)] = re;
        d[(2 * k + 1, 2 * k + 1)] = re;
        d[(2 * k, 2 * k + 1)] = im;
        d[(2 * k + 1, 2 * k)] = -im;
    }
    let a = similar(&mut rng, &d);
    let b: Mat<f64> = random::gaussian(&mut rng, n, 1);
    let f = lyapunov_cholesky(a.as_ref(), b.as_ref(), TimeDomain::Continuous).unwrap();
    assert!(f.residual < 1e3 * EPS, "{:e}", f.residual);
    // Zero input: U = 0.
    let f = lyapunov_cholesky(
        a.as_ref(),
        Mat::<f64>::zeros(n, 2).as_ref(),
        TimeDomain::Continuous,
    )
    .unwrap();
    assert!(f.u.norm_l2() == 0.0);
}

#[test]
fn hammarling_rejects_unstable() {
    let a = faer::mat![[-1.0, 5.0, 0.0], [0.0, 0.25, 0.0], [0.0, 0.0, -2.0]];
    let b = Mat::<f64>::identity(3, 1);
    match lyapunov_cholesky(a.as_ref(), b.as_ref(), TimeDomain::Continuous) {
        Err(SystemsError::Unstable { re, im, region }) => {
            assert!((re - 0.25).abs() < 1e-14 && im.abs() < 1e-14);
            assert_eq!(region, "open left half-plane");
        }
        other => panic!("expected Unstable, got {other:?}"),
    }
    let a = faer::mat![[0.5, 1.0], [-1.0, 0.5]]; // |λ| = sqrt(1.25)
    match lyapunov_cholesky(
        a.as_ref(),
        Mat::<f64>::identity(2, 2).as_ref(),
        TimeDomain::Discrete,
    ) {
        Err(SystemsError::Unstable { region, .. }) => assert_eq!(region, "open unit disc"),
        other => panic!("expected Unstable, got {other:?}"),
    }
    let mut a = Mat::<f64>::identity(2, 2);
    a[(0, 1)] = f64::INFINITY;
    assert!(matches!(
        lyapunov_cholesky(
            a.as_ref(),
            Mat::<f64>::identity(2, 1).as_ref(),
            TimeDomain::Continuous
        ),
        Err(SystemsError::NonFinite {
            name: "A",
            row: 0,
            col: 1
        })
    ));
}

#[test]
fn separation_estimate_brackets_exact_sep() {
    // Exact Frobenius sep = sigma_min of the n^2 x n^2 Kronecker operator (small n only).
    let mut rng = random::rng(400);
    for time in [TimeDomain::Continuous, TimeDomain::Discrete] {
        for n in [2usize, 4, 7] {
            let a = random_stable(&mut rng, n, time, 0.1);
            let n2 = n * n;
            let kron = Mat::from_fn(n2, n2, |r, c| {
                let (i, j) = (r % n, r / n);
                let (k, l) = (c % n, c / n);
                let id = |x: usize, y: usize| if x == y { 1.0 } else { 0.0 };
                match time {
                    TimeDomain::Continuous => a[(i, k)] * id(j, l) + id(i, k) * a[(j, l)],
                    TimeDomain::Discrete => a[(i, k)] * a[(j, l)] - id(i, k) * id(j, l),
                }
            });
            let sv = kron.singular_values().unwrap();
            let exact = *sv.last().unwrap();
            let est = separation_estimate(a.as_ref(), time).unwrap();
            assert!(
                est >= exact / (n as f64) / 3.0 && est <= exact * (n as f64) * 3.0,
                "{time:?} n={n}: est {est} exact {exact}"
            );
        }
    }
}

#[test]
fn complex_lyapunov() {
    let mut rng = random::rng(500);
    for time in [TimeDomain::Continuous, TimeDomain::Discrete] {
        for n in [1usize, 5, 40] {
            let g: Mat<c64> = random::gaussian(&mut rng, n, n);
            let ev = g.eigenvalues().unwrap();
            let a = match time {
                TimeDomain::Continuous => {
                    let mr = ev.iter().map(|l| l.re).fold(f64::NEG_INFINITY, f64::max);
                    &g - Mat::<c64>::identity(n, n) * faer::Scale(c64::new(mr + 0.5, 0.0))
                }
                TimeDomain::Discrete => {
                    let rho = ev.iter().map(|l| l.norm()).fold(0.0, f64::max);
                    &g * faer::Scale(c64::new(0.9 / rho, 0.0))
                }
            };
            let h: Mat<c64> = random::gaussian(&mut rng, n, n);
            let q = &h + h.adjoint();
            let s = lyapunov_complex(a.as_ref(), q.as_ref(), time).unwrap();
            assert!(
                s.residual < 10.0 * n as f64 * EPS,
                "{time:?} n = {n}: {:e}",
                s.residual
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn prop_real_schur_and_reorder(seed in any::<u64>(), n in 1usize..40, shift in -2.0f64..2.0) {
        let mut rng = random::rng(seed);
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let mut s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, 8.0, "real Schur");
        let sel = |l: c64| l.re < shift;
        let ev = s.eigenvalues();
        let expected = ev.iter().filter(|l| sel(**l)).count();
        let k = reorder_real_schur(&mut s, sel).unwrap();
        prop_assert_eq!(k, expected);
        check_real_schur(a.as_ref(), &s, 32.0, "real Schur");
        let ev2 = s.eigenvalues();
        prop_assert!(ev2[..k].iter().all(|l| sel(*l)) && ev2[k..].iter().all(|l| !sel(*l)));
    }

    #[test]
    fn prop_hammarling_invariants(seed in any::<u64>(), n in 1usize..30, m in 1usize..40, discrete in any::<bool>()) {
        let time = if discrete { TimeDomain::Discrete } else { TimeDomain::Continuous };
        let mut rng = random::rng(seed);
        let a = random_stable(&mut rng, n, time, 0.25);
        let b: Mat<f64> = random::gaussian(&mut rng, n, m);
        let f = lyapunov_cholesky(a.as_ref(), b.as_ref(), time).unwrap();
        prop_assert!(is_upper(f.u.as_ref()));
        prop_assert!(f.residual < 50.0 * n as f64 * EPS, "residual {:e}", f.residual);
        // Invariance: scaling B by c scales U by |c|; an orthogonal mixing of B's columns leaves U unchanged.
        let f2 = lyapunov_cholesky(a.as_ref(), (&b * 3.0).as_ref(), time).unwrap();
        prop_assert!((&f2.u - &f.u * 3.0).norm_l2() <= 1e-8 * f2.u.norm_l2().max(1e-300));
        let qm: Mat<f64> = random::haar_unitary(&mut rng, m);
        let f3 = lyapunov_cholesky(a.as_ref(), (&b * &qm).as_ref(), time).unwrap();
        let x = &f.u * f.u.transpose();
        let x3 = &f3.u * f3.u.transpose();
        prop_assert!((&x3 - &x).norm_l2() <= 1e-8 * x.norm_l2().max(1e-300));
    }
}

/// One-shot timing at n = 1000 (random stable, m = 2); run with
/// `cargo test --release -p dln-systems --test schur_lyapunov -- --ignored timing_n1000 --nocapture`.
#[test]
#[ignore]
fn timing_n1000() {
    let mut rng = random::rng(1000);
    let n = 1000;
    let a = random_stable(&mut rng, n, TimeDomain::Continuous, 0.5);
    let b: Mat<f64> = random::gaussian(&mut rng, n, 2);
    let t0 = std::time::Instant::now();
    let s = real_schur(a.as_ref()).unwrap();
    let t_schur = t0.elapsed();
    let t0 = std::time::Instant::now();
    let f = lyapunov_cholesky(a.as_ref(), b.as_ref(), TimeDomain::Continuous).unwrap();
    let t_ham = t0.elapsed();
    let t0 = std::time::Instant::now();
    let q = &b * b.transpose();
    let x = lyapunov(a.as_ref(), q.as_ref(), TimeDomain::Continuous).unwrap();
    let t_bs = t0.elapsed();
    eprintln!(
        "n = {n}: real_schur {t_schur:?}; lyapunov_cholesky (incl. Schur + residual) {t_ham:?}, residual {:e}; lyapunov (BS) {t_bs:?}, residual {:e}",
        f.residual, x.residual
    );
    drop(s);
}
