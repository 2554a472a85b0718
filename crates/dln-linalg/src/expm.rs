//! The matrix exponential of a general square matrix, by scaling and squaring with Padé
//! approximants.
//!
//! $$e^{A} = \big(r_m(2^{-s}A)\big)^{2^s},\qquad r_m = q_m^{-1}p_m,$$
//! with the degree $m\in\\{3,5,7,9,13\\}$ and the scaling $s$ chosen from $\|A\|_1$ as in
//! Higham (2005), so that the backward error is below the unit roundoff. Used for
//! Lie-algebra elements $a\in\mathfrak{gl}_d$ that are not normal (the group elements $e^{\tau a}$
//! of the structure-preserving integrators). For Hermitian arguments prefer
//! [`crate::hermitian_exp`], which is exact in exact arithmetic.
//!
//! # References
//! N. J. Higham, *The scaling and squaring method for the matrix exponential revisited*,
//! SIAM J. Matrix Anal. Appl. 26 (2005).

use crate::{LinalgError, Result, Scalar, check_finite};
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef};

const THETA: [(usize, f64); 5] = [
    (3, 1.495585217958292e-2),
    (5, 2.539_398_330_063_23e-1),
    (7, 9.504178996162932e-1),
    (9, 2.097847961257068e0),
    (13, 5.371920351148152e0),
];

fn pade_coefficients(m: usize) -> &'static [f64] {
    match m {
        3 => &[120.0, 60.0, 12.0, 1.0],
        5 => &[30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0],
        7 => &[
            17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0,
        ],
        9 => &[
            17643225600.0,
            8821612800.0,
            2075673600.0,
            302702400.0,
            30270240.0,
            2162160.0,
            110880.0,
            3960.0,
            90.0,
            1.0,
        ],
        _ => &[
            64764752532480000.0,
            32382376266240000.0,
            7771770303897600.0,
            1187353796428800.0,
            129060195264000.0,
            10559470521600.0,
            670442572800.0,
            33522128640.0,
            1323241920.0,
            40840800.0,
            960960.0,
            16380.0,
            182.0,
            1.0,
        ],
    }
}

/// Induced 1-norm $\|A\|_1 = \max_j\sum_i|a_{ij}|$.
pub fn norm_1<T: Scalar>(a: MatRef<'_, T>) -> f64 {
    (0..a.ncols())
        .map(|j| (0..a.nrows()).map(|i| a[(i, j)].modulus()).sum::<f64>())
        .fold(0.0, f64::max)
}

/// $\sum_k c_k M_k$ (plus $c_I I$).
fn combine<T: Scalar>(n: usize, identity: f64, terms: &[(f64, &Mat<T>)]) -> Mat<T> {
    Mat::from_fn(n, n, |i, j| {
        let mut v = if i == j {
            T::from_f64(identity)
        } else {
            T::from_f64(0.0)
        };
        for (c, m) in terms {
            v += m[(i, j)].scale(*c);
        }
        v
    })
}

/// General matrix exponential $e^{A}$.
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input; [`LinalgError::Singular`] if the Padé
/// denominator is singular (only possible for input far outside the floating-point range).
///
/// # Panics
/// If `a` is not square.
#[track_caller]
pub fn expm<T: Scalar>(a: MatRef<'_, T>) -> Result<Mat<T>> {
    assert_eq!(a.nrows(), a.ncols(), "expm: matrix must be square");
    check_finite(a)?;
    let n = a.nrows();
    if n == 0 {
        return Ok(Mat::zeros(0, 0));
    }
    let nrm = norm_1(a);
    let (m, s) = match THETA.iter().find(|(_, th)| nrm <= *th) {
        Some(&(m, _)) => (m, 0i32),
        None => {
            let s = (nrm / THETA[4].1).log2().ceil().max(0.0) as i32;
            (13, s)
        }
    };
    let a = {
        let f = T::from_f64(0.5f64.powi(s));
        Mat::from_fn(n, n, |i, j| a[(i, j)] * f)
    };
    let b = pade_coefficients(m);
    let a2 = &a * &a;
    let (u, v) = if m == 13 {
        let a4 = &a2 * &a2;
        let a6 = &a4 * &a2;
        let inner_u = combine(n, 0.0, &[(b[13], &a6), (b[11], &a4), (b[9], &a2)]);
        let tail_u = combine(n, b[1], &[(b[7], &a6), (b[5], &a4), (b[3], &a2)]);
        let u = &a * (&a6 * &inner_u + &tail_u);
        let inner_v = combine(n, 0.0, &[(b[12], &a6), (b[10], &a4), (b[8], &a2)]);
        let tail_v = combine(n, b[0], &[(b[6], &a6), (b[4], &a4), (b[2], &a2)]);
        (u, &a6 * &inner_v + &tail_v)
    } else {
        // Even powers A^0, A^2, ..., A^{m-1}.
        let mut powers: Vec<Mat<T>> = vec![a2.clone()];
        for _ in 1..m / 2 {
            let next = powers.last().map(|p| p * &a2).unwrap_or_else(|| a2.clone());
            powers.push(next);
        }
        let odd: Vec<(f64, &Mat<T>)> = (1..=m / 2)
            .map(|k| (b[2 * k + 1], &powers[k - 1]))
            .collect();
        let even: Vec<(f64, &Mat<T>)> = (1..=m / 2).map(|k| (b[2 * k], &powers[k - 1])).collect();
        (&a * combine(n, b[1], &odd), combine(n, b[0], &even))
    };
    let q = &v - &u;
    let p = &v + &u;
    let lu = q.partial_piv_lu();
    let mut r = lu.solve(&p);
    if !r.as_ref().is_all_finite() {
        return Err(LinalgError::Singular { rcond: 0.0 });
    }
    for _ in 0..s {
        r = &r * &r;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{gaussian, rng};
    use crate::{hermitian_exp, hermitian_part, rel_diff};
    use faer::c64;

    fn check<T: Scalar>() {
        let mut r = rng(3);
        for n in [1, 2, 5, 12] {
            for scale in [1e-3, 0.1, 1.0, 5.0, 30.0] {
                let g: Mat<T> = gaussian(&mut r, n, n);
                let a = Mat::from_fn(n, n, |i, j| g[(i, j)].scale(scale / (n as f64).sqrt()));
                let e = expm(a.as_ref()).unwrap();
                // e^{A} e^{-A} = I
                let ma = Mat::from_fn(n, n, |i, j| -a[(i, j)]);
                let einv = expm(ma.as_ref()).unwrap();
                let id = Mat::<T>::identity(n, n);
                let cond = norm_1(e.as_ref()) * norm_1(einv.as_ref());
                assert!(
                    rel_diff((&e * &einv).as_ref(), id.as_ref())
                        < 1e3 * n as f64 * f64::EPSILON * cond
                );
                // Hermitian case agrees with the eigen route.
                let h = hermitian_part(a.as_ref());
                let e1 = expm(h.as_ref()).unwrap();
                let e2 = hermitian_exp(h.as_ref()).unwrap();
                assert!(
                    rel_diff(e1.as_ref(), e2.as_ref())
                        < 1e3 * n as f64 * f64::EPSILON * cond.sqrt()
                );
            }
        }
        // Nilpotent: exp([[0,1],[0,0]]) = [[1,1],[0,1]].
        let nil = Mat::<T>::from_fn(2, 2, |i, j| {
            T::from_f64(if i == 0 && j == 1 { 1.0 } else { 0.0 })
        });
        let e = expm(nil.as_ref()).unwrap();
        let want = Mat::<T>::from_fn(2, 2, |i, j| {
            T::from_f64(if i == 1 && j == 0 { 0.0 } else { 1.0 })
        });
        assert!(rel_diff(e.as_ref(), want.as_ref()) < 1e-15);
    }

    #[test]
    fn expm_real() {
        check::<f64>();
    }
    #[test]
    fn expm_complex() {
        check::<c64>();
        // exp(i t) on the 1x1 case.
        let a = Mat::from_fn(1, 1, |_, _| c64::new(0.0, 2.0));
        let e = expm(a.as_ref()).unwrap();
        assert!((e[(0, 0)] - c64::new(2f64.cos(), 2f64.sin())).norm() < 1e-15);
    }
}
