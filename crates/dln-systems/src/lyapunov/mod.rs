//! Lyapunov equations $AX + XA^{\mathsf T} + Q = 0$ (continuous time) and
//! $AXA^{\mathsf T} - X + Q = 0$ (discrete time, the Stein equation).
//!
//! - [`lyapunov`]: the full symmetric solution $X$ by Bartels–Stewart on the real Schur form
//!   (SLICOT `SB03MD`'s task).
//! - [`lyapunov_cholesky`]: for $Q = BB^{\mathsf T}$ and stable $A$, the upper-triangular Cholesky
//!   factor $U$ of $X = UU^{\mathsf T}$ by Hammarling's method, without ever forming $X$ or
//!   $BB^{\mathsf T}$ (SLICOT `SB03OD`'s task). Gramians are computed this way: the controllability
//!   Gramian from $(A, B)$, the observability Gramian from $(A^{\mathsf T}, C^{\mathsf T})$.
//! - [`separation_estimate`]: an estimate of $\operatorname{sep}$, the distance of the Lyapunov
//!   operator to singularity, which governs the conditioning of $X$ (SLICOT `SB03QD`/`SB03SD`).
//! - [`lyapunov_complex`]: $AX + XA^{*} + Q = 0$ / $AXA^{*} - X + Q = 0$ over $\mathbb C$.
//!
//! **Sign and transpose conventions.** SLICOT (and MATLAB's `lyap`) write
//! $\operatorname{op}(A)^{\mathsf T}X + X\operatorname{op}(A) = C$; with $\operatorname{op}(A)=A$
//! this is our equation for $A^{\mathsf T}$ and $Q = -C$. scipy's `solve_continuous_lyapunov(a, q)`
//! solves $AX + XA^{*} = Q$, i.e. ours with $-Q$.
//!
//! # Algorithm
//! Both solvers start from the real Schur form $A = ZTZ^{\mathsf T}$ ([`real_schur`]) and
//! transform the equation to $TY + YT^{\mathsf T} = -Z^{\mathsf T}QZ$ (resp. $TYT^{\mathsf T} - Y =
//! \dots$), $X = ZYZ^{\mathsf T}$. Bartels–Stewart solves the quasi-triangular equation by a
//! recursive blocked algorithm (Jonsson–Kågström), all updates being matrix products; total
//! $\approx 25n^3$ (Schur) $+\\,5n^3$ flops. Hammarling's method computes $Y = \tilde U\tilde
//! U^{\mathsf T}$ column block by column block from the bottom right (see
//! [`lyapunov_cholesky`]); the factor is returned to the original coordinates by an RQ
//! factorization of $Z\tilde U$.
//!
//! # Layout
//! One file per method; this module holds the public types, the input checks and the residual
//! shared by all solvers, and re-exports every solver.
//! - `bartels_stewart`: [`lyapunov`], [`lyapunov_schur`] (the full solution $X$).
//! - `hammarling`: [`lyapunov_cholesky`], [`lyapunov_cholesky_schur`] (the Cholesky factor),
//!   [`lyapunov_cholesky_schur_blocked`] (explicit block size), [`lyapunov_cholesky_tilde`] (the
//!   factor in Schur coordinates), with the quasi-triangular recursion, its $1\times1$ /
//!   $2\times2$ diagonal-block step and the level-3 (blocked) driver.
//! - `separation`: [`separation_estimate`], [`separation_estimate_schur`].
//! - `complex`: [`lyapunov_complex`] (triangular solvers over $\mathbb C$).
//!
//! # References
//! - R. H. Bartels, G. W. Stewart, Comm. ACM 15 (1972) 820–826.
//! - S. J. Hammarling, *Numerical solution of the stable, non-negative definite Lyapunov
//!   equation*, IMA J. Numer. Anal. 2 (1982) 303–323.
//! - I. Jonsson, B. Kågström, ACM TOMS 28 (2002) 392–415 (recursive blocked solvers).
//! - N. J. Higham, *FORTRAN codes for estimating the one-norm of a real or complex matrix*, ACM TOMS
//!   14 (1988) 381–396 (the norm estimator behind [`separation_estimate`]).
//! - SLICOT routines SB03MD, SB03OD, SB03QD, SB03SD (documentation of the same tasks).
//!
//! [`real_schur`]: crate::schur::real_schur

mod bartels_stewart;
mod complex;
mod hammarling;
mod separation;

pub use bartels_stewart::{lyapunov, lyapunov_schur};
pub use complex::lyapunov_complex;
pub use hammarling::{
    HAMMARLING_BLOCK, lyapunov_cholesky, lyapunov_cholesky_schur, lyapunov_cholesky_schur_blocked,
    lyapunov_cholesky_tilde,
};
pub use separation::{separation_estimate, separation_estimate_schur};

use crate::sylvester::gemm;
use crate::{Result, SystemsError};
use dln_linalg::c64;
use faer::{Mat, MatRef};

/// Continuous or discrete time: which Lyapunov equation, which stability region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeDomain {
    /// $AX + XA^{\mathsf T} + Q = 0$; stability means $\operatorname{Re}\lambda < 0$.
    Continuous,
    /// $AXA^{\mathsf T} - X + Q = 0$; stability means $|\lambda| < 1$.
    Discrete,
}

impl TimeDomain {
    /// The open stability region as a phrase (`"open left half-plane"` / `"open unit disc"`).
    pub fn region(self) -> &'static str {
        match self {
            TimeDomain::Continuous => "open left half-plane",
            TimeDomain::Discrete => "open unit disc",
        }
    }

    /// Whether $\lambda$ lies in the open stability region.
    pub fn is_stable(self, l: c64) -> bool {
        match self {
            TimeDomain::Continuous => l.re < 0.0,
            TimeDomain::Discrete => l.norm() < 1.0,
        }
    }
}

/// A solution $X$ of a Lyapunov equation with its relative residual
/// $$\rho = \frac{\|AX + XA^{*} + Q\|_F}{2\\|A\|_F\\|X\|_F + \|Q\|_F}\quad\text{resp.}\quad
/// \frac{\|AXA^{*} - X + Q\|_F}{(\|A\|_F^2 + 1)\\|X\|_F + \|Q\|_F},$$
/// evaluated with the original data; a backward-stable solver gives $\rho = O(n\varepsilon)$.
#[derive(Debug, Clone)]
pub struct LyapunovSolution<T> {
    /// The (Hermitian) solution $X$.
    pub x: Mat<T>,
    /// The relative residual $\rho$.
    pub residual: f64,
}

/// The Cholesky factor of the solution of a Lyapunov equation with right-hand side
/// $BB^{\mathsf T}$: $X = UU^{\mathsf T}$, $U$ upper triangular $n\times n$ with non-negative
/// diagonal.
#[derive(Debug, Clone)]
pub struct CholeskyFactor {
    /// The upper-triangular factor $U$.
    pub u: Mat<f64>,
    /// The relative residual of $X = UU^{\mathsf T}$ as in [`LyapunovSolution`], with
    /// $Q = BB^{\mathsf T}$.
    pub residual: f64,
}

fn finite(name: &'static str, m: MatRef<'_, f64>) -> Result<()> {
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            if !m[(i, j)].is_finite() {
                return Err(SystemsError::NonFinite {
                    name,
                    row: i,
                    col: j,
                });
            }
        }
    }
    Ok(())
}

const CT_EQ: &str = "Lyapunov equation AX + XA^T + Q = 0";
const DT_EQ: &str = "Stein equation AXA^T - X + Q = 0";

fn equation_name(time: TimeDomain) -> &'static str {
    match time {
        TimeDomain::Continuous => CT_EQ,
        TimeDomain::Discrete => DT_EQ,
    }
}

/// Relative residual of $X$ (see [`LyapunovSolution`]), given $AX$.
fn residual_of(
    a: MatRef<'_, f64>,
    x: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
    time: TimeDomain,
) -> f64 {
    let n = a.nrows();
    if n == 0 {
        return 0.0;
    }
    let mut ax = Mat::<f64>::zeros(n, n);
    gemm(ax.as_mut(), a, x, 1.0, true);
    let (an, xn, qn) = (a.norm_l2(), x.norm_l2(), q.norm_l2());
    let r = match time {
        TimeDomain::Continuous => {
            let mut r = q.to_owned();
            r += &ax;
            r += ax.transpose();
            r
        }
        TimeDomain::Discrete => {
            let mut r = q.to_owned();
            r -= x;
            gemm(r.as_mut(), ax.as_ref(), a.transpose(), 1.0, false);
            r
        }
    };
    let denom = match time {
        TimeDomain::Continuous => 2.0 * an * xn + qn,
        TimeDomain::Discrete => (an * an + 1.0) * xn + qn,
    };
    if denom == 0.0 {
        0.0
    } else {
        r.norm_l2() / denom
    }
}
