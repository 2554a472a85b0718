//! The separation estimate of the Lyapunov operator (SLICOT `SB03QD`/`SB03SD`'s task), with the
//! Hager–Higham one-norm estimator it is built on.

use super::{TimeDomain, finite};
use crate::Result;
use crate::schur::{RealSchur, real_schur};
use crate::sylvester::{flip, lyap_tri};
use faer::{Mat, MatRef};

/// An estimate of the separation of the Lyapunov operator: $\operatorname{sep} \approx
/// 1/\|\mathcal L^{-1}\|$, with $\mathcal L(Y) = TY + YT^{\mathsf T}$ (CT, i.e.
/// $\operatorname{sep}(A, -A^{\mathsf T}) = \min_{X\ne0}\|AX+XA^{\mathsf T}\|/\|X\|$) or
/// $\mathcal L(Y) = TYT^{\mathsf T} - Y$ (DT), on symmetric matrices, in the Schur coordinates
/// $A = ZTZ^{\mathsf T}$.
///
/// The norm is the $1$-norm of $\operatorname{vec}$ (as SLICOT `SB03QD`/`SB03SD` do), estimated by
/// Hager's method with Higham's refinements (LAPACK `dlacn2`), each step being one
/// quasi-triangular Lyapunov solve with $\mathcal L$ or its adjoint; the input vector is
/// symmetrized from its upper triangle before each solve. The estimate $e$ of
/// $\|\mathcal L^{-1}\|_1$ is a lower bound, almost always within a factor of 3, so the returned
/// $1/e$ is an upper bound of the $1$-norm separation; it relates to the Frobenius separation
/// $\sigma_{\min}(\mathcal L)$ within a factor $n$. A small value ($\ll\|A\|$) warns that $X$ is
/// sensitive: $\|\delta X\|/\|X\| \lesssim \|\delta Q\|/(\operatorname{sep}\\,\|X\|)$.
/// Returns $0$ if the operator is singular to working precision.
///
/// # Errors
/// [`SystemsError::NonFinite`] for NaN/Inf input; [`SystemsError::NoConvergence`] if the Schur
/// decomposition fails.
///
/// # Panics
/// If $A$ is not square.
///
/// # Algorithm
/// Real Schur form, then at most 5 pairs of quasi-triangular Lyapunov solves; $O(n^3)$.
///
/// [`SystemsError::NonFinite`]: crate::SystemsError::NonFinite
/// [`SystemsError::NoConvergence`]: crate::SystemsError::NoConvergence
#[track_caller]
pub fn separation_estimate(a: MatRef<'_, f64>, time: TimeDomain) -> Result<f64> {
    assert_eq!(
        a.nrows(),
        a.ncols(),
        "separation_estimate: A must be square"
    );
    finite("A", a)?;
    if a.nrows() == 0 {
        return Ok(f64::INFINITY);
    }
    let s = real_schur(a)?;
    Ok(separation_estimate_schur(&s, time, a.norm_l2()))
}

/// [`separation_estimate`] from a real Schur form of $A$ (`anorm` = $\|A\|_F$, used for the
/// singularity threshold).
pub fn separation_estimate_schur(s: &RealSchur, time: TimeDomain, anorm: f64) -> f64 {
    let n = s.t.nrows();
    if n == 0 {
        return f64::INFINITY;
    }
    let discrete = time == TimeDomain::Discrete;
    let smin = (f64::EPSILON * anorm).max(f64::MIN_POSITIVE * 1e3);
    let t = s.t.as_ref();
    let tadj = flip(t.transpose());
    // Apply L^{-1} (kase 1) or L^{-*} (kase 2) to a vec'd n x n matrix.
    let apply = |x: &mut [f64], adjoint: bool| -> bool {
        let mut c = Mat::from_fn(
            n,
            n,
            |i, j| if i <= j { x[i + j * n] } else { x[j + i * n] },
        );
        let ok = if adjoint {
            // L*(Y) = T^T Y + Y T (or T^T Y T - Y): with J, (J T^T J)(J Y J) + ... = J C J.
            let mut cf = flip(c.as_ref());
            let ok = lyap_tri(tadj.as_ref(), cf.as_mut(), discrete, smin).is_ok();
            c = flip(cf.as_ref());
            ok
        } else {
            lyap_tri(t, c.as_mut(), discrete, smin).is_ok()
        };
        for j in 0..n {
            for i in 0..n {
                x[i + j * n] = c[(i, j)];
            }
        }
        ok
    };
    match onenorm_estimate(n * n, apply) {
        Some(est) if est > 0.0 => 1.0 / est,
        Some(_) => f64::INFINITY,
        None => 0.0,
    }
}

/// Hager–Higham estimate of $\|M\|_1$ for an operator given by `apply(x, transpose)`
/// (LAPACK `dlacn2`'s algorithm); `None` if `apply` failed.
fn onenorm_estimate(len: usize, mut apply: impl FnMut(&mut [f64], bool) -> bool) -> Option<f64> {
    const ITMAX: usize = 5;
    let sgn = |v: f64| if v >= 0.0 { 1.0 } else { -1.0 };
    let mut x = vec![1.0 / len as f64; len];
    if !apply(&mut x, false) {
        return None;
    }
    if len == 1 {
        return Some(x[0].abs());
    }
    let mut est: f64 = x.iter().map(|v| v.abs()).sum();
    let mut isgn: Vec<f64> = x.iter().map(|&v| sgn(v)).collect();
    x.copy_from_slice(&isgn);
    if !apply(&mut x, true) {
        return None;
    }
    let argmax = |x: &[f64]| {
        let mut j = 0;
        for i in 1..x.len() {
            if x[i].abs() > x[j].abs() {
                j = i;
            }
        }
        j
    };
    let mut j = argmax(&x);
    let mut iter = 2;
    loop {
        x.fill(0.0);
        x[j] = 1.0;
        if !apply(&mut x, false) {
            return None;
        }
        let estold = est;
        est = x.iter().map(|v| v.abs()).sum();
        let same = x.iter().zip(&isgn).all(|(&v, &s)| (v >= 0.0) == (s > 0.0));
        if same || est <= estold {
            est = est.max(estold);
            break;
        }
        for (s, &v) in isgn.iter_mut().zip(&x) {
            *s = sgn(v);
        }
        x.copy_from_slice(&isgn);
        if !apply(&mut x, true) {
            return None;
        }
        let jlast = j;
        j = argmax(&x);
        if (x[jlast] - x[j].abs()).abs() > 0.0 && iter < ITMAX {
            iter += 1;
            continue;
        }
        break;
    }
    // Alternating-sign test vector.
    let mut altsgn = 1.0;
    for (i, xi) in x.iter_mut().enumerate() {
        *xi = altsgn * (1.0 + i as f64 / (len - 1) as f64);
        altsgn = -altsgn;
    }
    if !apply(&mut x, false) {
        return None;
    }
    let temp = 2.0 * x.iter().map(|v| v.abs()).sum::<f64>() / (3.0 * len as f64);
    Some(est.max(temp))
}
