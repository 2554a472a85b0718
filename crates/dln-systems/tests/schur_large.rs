//! `real_schur` on larger matrices (the Francis double-shift iteration written for this crate):
//! random, graded, clustered, defective, normal and degenerate matrices at n = 100, 300, 600.

mod common;
use common::{check_real_schur, eig_distance, faer_eigs, similar};
use dln_linalg::{c64, random};
use dln_systems::schur::{real_schur, reorder_real_schur};
use faer::Mat;

const K: f64 = 10.0;

const SIZES: [usize; 3] = [100, 300, 600];

#[test]
fn large_random_matches_faer() {
    let mut rng = random::rng(2024);
    for n in SIZES {
        let a: Mat<f64> = random::gaussian(&mut rng, n, n);
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "random");
        let d = eig_distance(&s.eigenvalues(), &faer_eigs(a.as_ref()));
        assert!(
            d <= 1e-9 * a.norm_l2(),
            "random n = {n}: eigenvalue distance {d:e}"
        );
        // Eigenvalues come in conjugate pairs exactly as the 2x2 blocks say.
        let ev = s.eigenvalues();
        assert_eq!(
            ev.iter().filter(|l| l.im > 0.0).count(),
            ev.iter().filter(|l| l.im < 0.0).count()
        );
    }
}

#[test]
fn large_graded() {
    let mut rng = random::rng(11);
    for n in SIZES {
        // Entries graded over 1e-8 .. 1e8 across the matrix (D G D^{-1} type grading).
        let g0: Mat<f64> = random::gaussian(&mut rng, n, n);
        let alpha = 16.0 / n as f64;
        let g = Mat::from_fn(n, n, |i, k| {
            g0[(i, k)] * 10f64.powf(alpha * (k as f64 - i as f64))
        });
        let s = real_schur(g.as_ref()).unwrap();
        check_real_schur(g.as_ref(), &s, K, "graded");
        // Diagonal grading of a random matrix: A = D G D with D = diag(10^(-4..4)).
        let d = |i: usize| 10f64.powf(-4.0 + 8.0 * i as f64 / (n - 1) as f64);
        let a = Mat::from_fn(n, n, |i, k| g0[(i, k)] * d(i) * d(k));
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "diagonally graded");
        let dist = eig_distance(&s.eigenvalues(), &faer_eigs(a.as_ref()));
        assert!(
            dist <= 1e-8 * a.norm_l2(),
            "graded n = {n}: eigenvalue distance {dist:e}"
        );
    }
}

#[test]
fn large_clustered() {
    let mut rng = random::rng(5);
    for n in SIZES {
        // Normal matrix with clustered and repeated eigenvalues: real cluster 1 + 1e-10 k, a
        // repeated complex pair -1 ± 2i, a tight complex cluster 0.5 ± (1 + 1e-9 k) i.
        let mut d = Mat::<f64>::zeros(n, n);
        let mut exact = Vec::with_capacity(n);
        let mut k = 0;
        let mut idx = 0usize;
        while k < n {
            match idx % 3 {
                0 => {
                    d[(k, k)] = 1.0 + 1e-10 * idx as f64;
                    exact.push(c64::new(d[(k, k)], 0.0));
                    k += 1;
                }
                _ if k + 1 < n => {
                    let (re, im) = if idx % 3 == 1 {
                        (-1.0, 2.0)
                    } else {
                        (0.5, 1.0 + 1e-9 * idx as f64)
                    };
                    d[(k, k)] = re;
                    d[(k + 1, k + 1)] = re;
                    d[(k, k + 1)] = im;
                    d[(k + 1, k)] = -im;
                    exact.push(c64::new(re, im));
                    exact.push(c64::new(re, -im));
                    k += 2;
                }
                _ => {
                    d[(k, k)] = -3.0;
                    exact.push(c64::new(-3.0, 0.0));
                    k += 1;
                }
            }
            idx += 1;
        }
        let a = similar(&mut rng, &d);
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "clustered normal");
        let dist = eig_distance(&s.eigenvalues(), &exact);
        assert!(
            dist < 1e-6,
            "clustered n = {n}: eigenvalue distance {dist:e}"
        );
        // Non-normal cluster: eigenvalues 1 + 1e-10 k with a strictly upper triangular coupling.
        let t = Mat::from_fn(n, n, |i, j| {
            if i == j {
                1.0 + 1e-10 * i as f64
            } else if j > i {
                0.3 / (1.0 + (j - i) as f64)
            } else {
                0.0
            }
        });
        let a = similar(&mut rng, &t);
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "clustered non-normal");
        let mean: c64 = s.eigenvalues().iter().copied().sum::<c64>() / n as f64;
        let exact_mean = (0..n).map(|i| 1.0 + 1e-10 * i as f64).sum::<f64>() / n as f64;
        assert!(
            (mean - c64::new(exact_mean, 0.0)).norm() < 1e-10,
            "trace n = {n}"
        );
    }
}

#[test]
fn large_structured_and_degenerate() {
    let mut rng = random::rng(99);
    let n = 120;
    // Zero, identity, already triangular, already split Hessenberg.
    for a in [
        Mat::<f64>::zeros(n, n),
        Mat::<f64>::identity(n, n),
        {
            let mut t: Mat<f64> = random::gaussian(&mut rng, n, n);
            for j in 0..n {
                for i in j + 1..n {
                    t[(i, j)] = 0.0;
                }
            }
            t
        },
        {
            let mut h: Mat<f64> = random::gaussian(&mut rng, n, n);
            for j in 0..n {
                for i in j + 2..n {
                    h[(i, j)] = 0.0;
                }
                if j % 17 == 3 && j + 1 < n {
                    h[(j + 1, j)] = 0.0;
                }
            }
            h
        },
    ] {
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "structured");
        let dist = eig_distance(&s.eigenvalues(), &faer_eigs(a.as_ref()));
        assert!(dist <= 1e-9 * a.norm_l2().max(1.0), "structured: {dist:e}");
    }
    // Jordan block J_n(0.5) hidden by an orthogonal similarity (defective; eigenvalues only
    // determined to ~eps^(1/n), their mean to working precision).
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
    check_real_schur(a.as_ref(), &s, K, "Jordan");
    let mean: c64 = s.eigenvalues().iter().copied().sum::<c64>() / n as f64;
    assert!((mean - c64::new(0.5, 0.0)).norm() < 1e-10);
    // Companion matrix, a cyclic shift (all eigenvalues on the unit circle), and extreme scalings.
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
    check_real_schur(comp.as_ref(), &s, K, "companion");
    let cyc = Mat::from_fn(n, n, |i, k| if i == (k + 1) % n { 1.0 } else { 0.0 });
    let s = real_schur(cyc.as_ref()).unwrap();
    check_real_schur(cyc.as_ref(), &s, K, "cyclic");
    for l in s.eigenvalues() {
        assert!((l.norm() - 1.0).abs() < 1e-12);
    }
    let g: Mat<f64> = random::gaussian(&mut rng, n, n);
    for scale in [1e-150, 1e150] {
        let a = &g * scale;
        let s = real_schur(a.as_ref()).unwrap();
        check_real_schur(a.as_ref(), &s, K, "scaled");
    }
}

#[test]
fn large_then_reorder() {
    // The Schur form from the multishift path feeds reordering (stable/anti-stable split).
    let mut rng = random::rng(17);
    let n = 200;
    let a: Mat<f64> = random::gaussian(&mut rng, n, n);
    let mut s = real_schur(a.as_ref()).unwrap();
    let k = reorder_real_schur(&mut s, |l| l.re < 0.0).unwrap();
    check_real_schur(a.as_ref(), &s, K, "reordered");
    let ev = s.eigenvalues();
    assert!(ev[..k].iter().all(|l| l.re < 0.0) && ev[k..].iter().all(|l| l.re >= 0.0));
}
