//! Lyapunov and Stein equations over $\mathbb C$ on the complex Schur form, with the
//! column-by-column triangular solvers.

use super::{LyapunovSolution, TimeDomain, equation_name};
use crate::schur::complex_schur;
use crate::{Result, SystemsError};
use dln_linalg::c64;
use faer::{Mat, MatMut, MatRef};

/// Solves $AX + XA^{*} + Q = 0$ (continuous) or $AXA^{*} - X + Q = 0$ (discrete) over
/// $\mathbb C$ for Hermitian $Q$; returns the Hermitian $X$ and its relative residual.
///
/// # Errors
/// [`SystemsError::Linalg`] for non-finite input; [`SystemsError::SingularEquation`] if
/// $\lambda_i + \bar\lambda_j \approx 0$ (CT) or $\lambda_i\bar\lambda_j \approx 1$ (DT);
/// [`SystemsError::NoConvergence`] if the Schur decomposition fails.
///
/// # Panics
/// If $A$ is not square or $Q$ is not $n\times n$.
///
/// # Algorithm
/// Complex Schur form $A = ZTZ^{*}$; the triangular equation $TY + YT^{*} = C$ is solved
/// column by column (CT), resp. by the column recursion of the Stein equation (DT); $O(n^3)$.
#[track_caller]
pub fn lyapunov_complex(
    a: MatRef<'_, c64>,
    q: MatRef<'_, c64>,
    time: TimeDomain,
) -> Result<LyapunovSolution<c64>> {
    assert_eq!(a.nrows(), a.ncols(), "lyapunov_complex: A must be square");
    assert_eq!(
        (q.nrows(), q.ncols()),
        (a.nrows(), a.nrows()),
        "lyapunov_complex: Q must be n x n"
    );
    let n = a.nrows();
    if n == 0 {
        return Ok(LyapunovSolution {
            x: Mat::zeros(0, 0),
            residual: 0.0,
        });
    }
    dln_linalg::check_finite(q)?;
    let s = complex_schur(a)?;
    let ev = s.eigenvalues();
    let an = a.norm_l2();
    let eps = f64::EPSILON;
    for &l in &ev {
        for &mu in &ev {
            let (gap, tol) = match time {
                TimeDomain::Continuous => ((l + mu.conj()).norm(), 10.0 * n as f64 * eps * an),
                TimeDomain::Discrete => (
                    (l * mu.conj() - 1.0).norm(),
                    10.0 * n as f64 * eps * (an * an).max(1.0),
                ),
            };
            if gap <= tol {
                return Err(SystemsError::SingularEquation {
                    equation: equation_name(time),
                    detail: format!(
                        "eigenvalues {:+e}{:+e}i and {:+e}{:+e}i of A",
                        l.re, l.im, mu.re, mu.im
                    ),
                });
            }
        }
    }
    let mut c = -(s.z.adjoint() * q * &s.z);
    match time {
        TimeDomain::Continuous => tri_lyap_complex(s.t.as_ref(), c.as_mut()),
        TimeDomain::Discrete => tri_stein_complex(s.t.as_ref(), c.as_mut()),
    }
    let x0 = &s.z * &c * s.z.adjoint();
    let x = Mat::from_fn(n, n, |i, j| (x0[(i, j)] + x0[(j, i)].conj()) * 0.5);
    let ax = a * &x;
    let r = match time {
        TimeDomain::Continuous => &ax + ax.adjoint() + q,
        TimeDomain::Discrete => &ax * a.adjoint() - &x + q,
    };
    let (xn, qn) = (x.norm_l2(), q.norm_l2());
    let denom = match time {
        TimeDomain::Continuous => 2.0 * an * xn + qn,
        TimeDomain::Discrete => (an * an + 1.0) * xn + qn,
    };
    let residual = if denom == 0.0 {
        0.0
    } else {
        r.norm_l2() / denom
    };
    Ok(LyapunovSolution { x, residual })
}

/// Solves $TY + YT^{*} = C$ in place, $T$ upper triangular: columns from the last, using
/// $(YT^{*})_{:,j} = \sum_{k\ge j} y_k\bar t_{jk}$.
fn tri_lyap_complex(t: MatRef<'_, c64>, mut y: MatMut<'_, c64>) {
    let n = t.nrows();
    let zero = c64::new(0.0, 0.0);
    for j in (0..n).rev() {
        for k in j + 1..n {
            let f = t[(j, k)].conj();
            if f != zero {
                for i in 0..n {
                    let v = y[(i, k)] * f;
                    y[(i, j)] -= v;
                }
            }
        }
        let g = t[(j, j)].conj();
        for i in (0..n).rev() {
            let mut s = y[(i, j)];
            for l in i + 1..n {
                s -= t[(i, l)] * y[(l, j)];
            }
            y[(i, j)] = s / (t[(i, i)] + g);
        }
    }
}

/// Solves $TYT^{*} - Y = C$ in place, $T$ upper triangular: columns from the last, using
/// $(TYT^{*})_{:,j} = \sum_{k\ge j} (TY)_{:,k}\bar t_{jk}$.
fn tri_stein_complex(t: MatRef<'_, c64>, mut y: MatMut<'_, c64>) {
    let n = t.nrows();
    let zero = c64::new(0.0, 0.0);
    // ty holds T Y_{:,k} for solved columns k.
    let mut ty = Mat::<c64>::zeros(n, n);
    for j in (0..n).rev() {
        // (T y_j) conj(t_jj) - y_j = c_j - sum_{k>j} (T y_k) conj(t_jk).
        for k in j + 1..n {
            let f = t[(j, k)].conj();
            if f != zero {
                for i in 0..n {
                    let v = ty[(i, k)] * f;
                    y[(i, j)] -= v;
                }
            }
        }
        let g = t[(j, j)].conj();
        // Solve (g T - I) y = rhs, upper triangular, from the bottom.
        for i in (0..n).rev() {
            let mut s = y[(i, j)];
            for l in i + 1..n {
                s -= g * t[(i, l)] * y[(l, j)];
            }
            y[(i, j)] = s / (g * t[(i, i)] - 1.0);
        }
        for i in 0..n {
            let mut s = zero;
            for l in i..n {
                s += t[(i, l)] * y[(l, j)];
            }
            ty[(i, j)] = s;
        }
    }
}
