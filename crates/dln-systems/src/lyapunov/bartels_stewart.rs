//! Bartels–Stewart: the full symmetric solution $X$ of the Lyapunov or Stein equation on the
//! real Schur form, the quasi-triangular equation being solved by the recursive blocked solver of
//! [`crate::sylvester`] (SLICOT `SB03MD`'s task).

use super::{LyapunovSolution, TimeDomain, equation_name, finite, residual_of};
use crate::schur::{RealSchur, real_schur};
use crate::sylvester::{gemm, lyap_tri, symmetrize};
use crate::{Result, SystemsError};
use dln_linalg::c64;
use faer::{Mat, MatRef};

/// Checks the unique solvability $\lambda_i+\lambda_j\ne0$ (CT) / $\lambda_i\lambda_j\ne1$ (DT).
fn check_spectrum(ev: &[c64], anorm: f64, time: TimeDomain) -> Result<()> {
    let n = ev.len().max(1) as f64;
    let eps = f64::EPSILON;
    for (i, &l) in ev.iter().enumerate() {
        for &mu in &ev[i..] {
            let (gap, tol) = match time {
                TimeDomain::Continuous => ((l + mu).norm(), 10.0 * n * eps * anorm),
                TimeDomain::Discrete => (
                    (l * mu - 1.0).norm(),
                    10.0 * n * eps * (anorm * anorm).max(1.0),
                ),
            };
            if gap <= tol {
                let rel = match time {
                    TimeDomain::Continuous => "sum to",
                    TimeDomain::Discrete => "have product",
                };
                let target = match time {
                    TimeDomain::Continuous => "zero",
                    TimeDomain::Discrete => "one",
                };
                return Err(SystemsError::SingularEquation {
                    equation: equation_name(time),
                    detail: format!(
                        "eigenvalues {:+e}{:+e}i and {:+e}{:+e}i of A {rel} (nearly) {target}",
                        l.re, l.im, mu.re, mu.im
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Solves $AX + XA^{\mathsf T} + Q = 0$ (continuous) or $AXA^{\mathsf T} - X + Q = 0$ (discrete)
/// for symmetric $Q$; returns the symmetric $X$ and its relative residual.
///
/// Stability of $A$ is not required, only unique solvability: $\lambda_i + \lambda_j \ne 0$ (CT),
/// $\lambda_i\lambda_j \ne 1$ (DT) for all eigenvalues of $A$. Only the symmetric part of $Q$ is
/// used. To reproduce SLICOT `SB03MD` ($A^{\mathsf T}X + XA = C$, resp.
/// $A^{\mathsf T}XA - X = C$), pass $A^{\mathsf T}$ and $-C$.
///
/// # Errors
/// [`SystemsError::NonFinite`] for NaN/Inf in $A$ or $Q$; [`SystemsError::SingularEquation`] if
/// $|\lambda_i+\lambda_j| \le 10n\varepsilon\|A\|_F$ (CT) or
/// $|\lambda_i\lambda_j-1| \le 10n\varepsilon\max(\|A\|_F^2,1)$ (DT) for some pair, or a block
/// of the triangular solve is singular; [`SystemsError::NoConvergence`] if the Schur
/// decomposition fails.
///
/// # Panics
/// If $A$ is not square or $Q$ is not $n\times n$.
///
/// # Algorithm
/// Real Schur form, $C = Z^{\mathsf T}QZ$, recursive blocked quasi-triangular solve, $X =
/// ZYZ^{\mathsf T}$ (module docs); $\approx 30n^3$ flops, backward stable in the sense of a small
/// relative residual.
///
/// # Example
/// ```
/// use dln_systems::lyapunov::{lyapunov, TimeDomain};
/// use faer::mat;
/// let a = mat![[-1.0, 2.0], [0.0, -3.0]];
/// let q = mat![[1.0, 0.0], [0.0, 1.0]];
/// let s = lyapunov(a.as_ref(), q.as_ref(), TimeDomain::Continuous).unwrap();
/// let r = &a * &s.x + &s.x * a.transpose() + &q;
/// assert!(r.norm_l2() < 1e-14 && s.residual < 1e-15);
/// ```
#[track_caller]
pub fn lyapunov(
    a: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
    time: TimeDomain,
) -> Result<LyapunovSolution<f64>> {
    assert_eq!(a.nrows(), a.ncols(), "lyapunov: A must be square");
    assert_eq!(
        (q.nrows(), q.ncols()),
        (a.nrows(), a.nrows()),
        "lyapunov: Q must be n x n"
    );
    finite("A", a)?;
    finite("Q", q)?;
    let n = a.nrows();
    if n == 0 {
        return Ok(LyapunovSolution {
            x: Mat::zeros(0, 0),
            residual: 0.0,
        });
    }
    let s = real_schur(a)?;
    let x = lyapunov_schur(&s, q, time, a.norm_l2())?;
    let residual = residual_of(a, x.as_ref(), q, time);
    Ok(LyapunovSolution { x, residual })
}

/// [`lyapunov`] for $A$ given by its real Schur form $A = ZTZ^{\mathsf T}$ (reuse one Schur form
/// for several right-hand sides); returns $X$ only.
///
/// # Errors
/// As [`lyapunov`].
///
/// # Panics
/// If $Q$ is not $n\times n$.
pub fn lyapunov_schur(
    s: &RealSchur,
    q: MatRef<'_, f64>,
    time: TimeDomain,
    anorm: f64,
) -> Result<Mat<f64>> {
    let n = s.t.nrows();
    assert_eq!((q.nrows(), q.ncols()), (n, n), "lyapunov: Q must be n x n");
    let ev = s.eigenvalues();
    check_spectrum(&ev, anorm, time)?;
    // C = -Z^T Q Z (symmetrized).
    let mut tmp = Mat::<f64>::zeros(n, n);
    gemm(tmp.as_mut(), s.z.transpose(), q, 1.0, true);
    let mut c = Mat::<f64>::zeros(n, n);
    gemm(c.as_mut(), tmp.as_ref(), s.z.as_ref(), -1.0, true);
    symmetrize(c.as_mut());
    let smin = (f64::EPSILON * anorm).max(f64::MIN_POSITIVE * 1e3);
    lyap_tri(s.t.as_ref(), c.as_mut(), time == TimeDomain::Discrete, smin).map_err(|_| {
        SystemsError::SingularEquation {
            equation: equation_name(time),
            detail:
                "a diagonal block of the quasi-triangular equation is singular to working precision"
                    .into(),
        }
    })?;
    gemm(tmp.as_mut(), s.z.as_ref(), c.as_ref(), 1.0, true);
    let mut x = Mat::<f64>::zeros(n, n);
    gemm(x.as_mut(), tmp.as_ref(), s.z.transpose(), 1.0, true);
    symmetrize(x.as_mut());
    Ok(x)
}
