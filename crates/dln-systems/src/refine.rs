//! One step of iterative refinement of the Hankel singular values against the original $A$.
//!
//! The Cholesky factors $S$, $R$ of the Gramians come from Hammarling's method on the computed
//! real Schur form $A + \Delta A = ZTZ^\top$, and they are accurate for *that* matrix. The
//! backward error $\|\Delta A\|\approx\varepsilon\|A\|$ is harmless for most models, but a
//! Gramian is as sensitive to it as the slowest mode is slow: on `lf10` (slowest mode
//! $\approx2\cdot10^{-8}\|A\|_F$ after scaling) it moves $\sigma_1$ by $1.6\cdot10^{-8}$ relative, while
//! every other Hankel singular value is right to $10^{-10}$.
//!
//! The refinement computes the residual of $P = SS^\top$ with the *original* $A$,
//! $$\mathcal R_P = AP + PA^\top + BB^\top\quad\text{(CT)},\qquad
//! \mathcal R_P = APA^\top - P + BB^\top\quad\text{(DT)},$$
//! which equals $-(\Delta A\,P + P\,\Delta A^\top)$ up to rounding, and solves the correction
//! equation $AE + EA^\top + \mathcal R_P = 0$ (resp. $AEA^\top - E + \mathcal R_P = 0$) with the
//! same Schur form (Bartels–Stewart, [`lyapunov_schur`]); the error of this solve is the same
//! *relative* error applied to a correction that is itself small. Likewise $F$ for $Q = R^\top R$.
//!
//! The residual is evaluated **from the factor**, $(AS)S^\top + S(AS)^\top + BB^\top$, with
//! compensated dot products (Ogita–Rump–Oishi `Dot2`, the products' errors by FMA) and rounded
//! once. Forming $P = SS^\top$ and $AP$ in working precision adds rounding errors of the same
//! size $\varepsilon\|A\|\|P\|$ as the residual itself: that is harmless for $\sigma_1$ but
//! swamps the corrections of the small Hankel singular values (measured with plain residuals:
//! `beam` $10^{-8}\to9\cdot10^{-7}$, `heat-cont` $3\cdot10^{-11}\to5\cdot10^{-7}$, lf10's
//! $\sigma_4$ $10^{-10}\to10^{-7}$; with compensated ones none gets worse by more than 1.6×).
//!
//! The corrected Gramians $P+E$, $Q+F$ are never factored (that would need a Cholesky factor of a
//! semidefinite matrix and lose the small singular values). Instead each Hankel singular value is
//! corrected to first order. With $RS = U\Sigma V^\top$, the right and left eigenvectors of $PQ$
//! for $\sigma_i^2$ are $x_i = Sv_i$ and $y_i^\top = u_i^\top R$ ($y_i^\top x_i = \sigma_i$), so
//! $$\delta\sigma_i = \frac{u_i^\top R\,E\,R^\top u_i + v_i^\top S^\top F\,S v_i}{2\sigma_i},$$
//! with a second-order remainder $O(\|\delta\|^2/\text{gap})$ that is far below rounding for the
//! corrections this step is for ($\le10^{-6}\sigma_i$). A correction is applied only where it is
//! that small and finite; larger ones mean the first-order model does not apply (or the factor is
//! not a Gramian of a nearby problem) and the unrefined value is kept.
//!
//! # Cost
//! Per Gramian: $AS$ and $(AS)S^\top$ with compensated dot products ($2n^3$ multiply-adds at about
//! ten times the cost of a blocked product's), the correction solve ($\approx 10n^3$ flops with
//! its back-transformation) and $R^\top U$, $EG$ ($4n^3$). Measured (test profile, shared machine)
//! 3–7× the unrefined Hankel singular values, hence [`Refinement::Auto`], which refines only
//! models whose slowest mode makes it worthwhile.
//!
//! # References
//! - N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, ch. 12
//!   (iterative refinement) and ch. 16 (the Sylvester equation, its backward error and
//!   sensitivity).
//! - T. Ogita, S. M. Rump, S. Oishi, *Accurate sum and dot product*, SIAM J. Sci. Comput. 26
//!   (2005) 1955–1988 (`Dot2`).
//! - J. H. Wilkinson, *The Algebraic Eigenvalue Problem*, 1965, §2.8 (first-order perturbation of
//!   a simple eigenvalue by left and right eigenvectors).

use crate::Result;
use crate::gramian::{GramianFactors, time_domain};
use crate::lyapunov::{TimeDomain, lyapunov_schur};
use crate::model::StateSpace;
use crate::schur::RealSchur;
use dln_linalg::ThinSvd;
use faer::{Mat, MatRef};

/// When to refine the Hankel singular values ([`GramianOptions::refine`](crate::gramian::GramianOptions::refine)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refinement {
    /// Refine when the Schur form's backward error can matter: when the sensitivity indicator
    /// [`slow_mode_indicator`] exceeds [`AUTO_THRESHOLD`] (default).
    #[default]
    Auto,
    /// Always refine (about $2$–$4\times$ the cost of the unrefined values).
    Always,
    /// Never refine.
    Never,
}

/// [`Refinement::Auto`] refines when $\varepsilon\,\kappa_{\rm slow} > 10^{-9}$
/// ([`slow_mode_indicator`]), i.e. when a backward error of a few $\varepsilon\|A\|$ in the Schur
/// form may move the Gramians by more than about $10^{-9}$ relative. Chosen by measurement over
/// the SLICOT test set (`docs/performance.md`, "HSV accuracy"): the models above it (lf10,
/// CDplayer, random, and unequilibrated iss and mrdemo2m) are improved by refinement by factors
/// 1.5–20000; below it refinement changes the error by less than a factor 1.6 either way, and
/// dense well-damped models (the random stable class, indicator $\approx10^{-14}$) do not pay
/// for it.
pub const AUTO_THRESHOLD: f64 = 1e-9;

/// $\varepsilon\,\kappa_{\rm slow}$ with $\kappa_{\rm slow} = \|A\|_F/\min_i|\operatorname{Re}\lambda_i|$
/// (CT) or $\max(\|A\|_F, 1)/(1-\max_i|\lambda_i|)$ (DT), from the eigenvalues of a Schur form: a
/// first-order estimate of the relative change of the Gramians along the slowest mode under a
/// backward error $\varepsilon\|A\|$. Infinite for a (numerically) unstable $A$.
pub fn slow_mode_indicator(schur: &RealSchur, anorm: f64, td: TimeDomain) -> f64 {
    let ev = schur.eigenvalues();
    let dist = match td {
        TimeDomain::Continuous => ev.iter().map(|l| -l.re).fold(f64::INFINITY, f64::min),
        TimeDomain::Discrete => ev
            .iter()
            .map(|l| 1.0 - l.norm())
            .fold(f64::INFINITY, f64::min),
    };
    let scale = match td {
        TimeDomain::Continuous => anorm,
        TimeDomain::Discrete => anorm.max(1.0),
    };
    if ev.is_empty() {
        0.0
    } else if dist > 0.0 {
        f64::EPSILON * scale / dist
    } else {
        f64::INFINITY
    }
}

impl Refinement {
    /// Whether to refine a model whose $A$ has the Schur form `schur`.
    pub fn applies(self, schur: &RealSchur, anorm: f64, td: TimeDomain) -> bool {
        match self {
            Refinement::Always => true,
            Refinement::Never => false,
            Refinement::Auto => slow_mode_indicator(schur, anorm, td) > AUTO_THRESHOLD,
        }
    }
}

/// Corrections larger than this fraction of $\sigma_i$ are not applied (first-order validity).
const MAX_REL_CORRECTION: f64 = 1e-6;

/// Rows of a matrix as one row-major buffer.
fn rows(m: MatRef<'_, f64>) -> Vec<f64> {
    let (r, c) = (m.nrows(), m.ncols());
    let mut v = Vec::with_capacity(r * c);
    for i in 0..r {
        for j in 0..c {
            v.push(m[(i, j)]);
        }
    }
    v
}

/// A compensated sum $s + c$ (Ogita–Rump–Oishi `Dot2`): as accurate as a sum computed in twice the
/// working precision and rounded once.
#[derive(Clone, Copy, Default)]
struct Dot2 {
    s: f64,
    c: f64,
}

impl Dot2 {
    /// Adds $\sum_k x_ky_k$ (each product and each partial sum with its exact error term).
    #[inline]
    fn add_dot(&mut self, x: &[f64], y: &[f64]) {
        for (&a, &b) in x.iter().zip(y) {
            let p = a * b;
            let ep = a.mul_add(b, -p);
            let t = self.s + p;
            let z = t - self.s;
            let es = (self.s - (t - z)) + (p - z);
            self.s = t;
            self.c += ep + es;
        }
    }
    /// Adds $\sum_k x_ky_k$ in plain arithmetic to the correction term (for low-order parts).
    #[inline]
    fn add_dot_low(&mut self, x: &[f64], y: &[f64]) {
        self.c += x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    }
    /// Adds a double-double value.
    #[inline]
    fn add(&mut self, hi: f64, lo: f64) {
        let t = self.s + hi;
        let z = t - self.s;
        let es = (self.s - (t - z)) + (hi - z);
        self.s = t;
        self.c += es + lo;
    }
    /// The normalized pair $(h, l)$, $h = \mathrm{fl}(s + c)$.
    #[inline]
    fn pair(self) -> (f64, f64) {
        let h = self.s + self.c;
        (h, self.c - (h - self.s))
    }
}

/// The residual of $X = SS^\top$,
/// $\mathcal R = ASS^\top + SS^\top A^\top + WW^\top$ (CT) or
/// $(AS)(AS)^\top - SS^\top + WW^\top$ (DT), evaluated from the factor with compensated dot
/// products ([`Dot2`]) and rounded once: the rounding errors of forming $X$ and $AX$ in working
/// precision (of the size $\varepsilon\|A\|\|X\|$ of the residual itself) would otherwise swamp the
/// corrections of the small Hankel singular values.
fn factored_residual(
    a: MatRef<'_, f64>,
    s: MatRef<'_, f64>,
    w: MatRef<'_, f64>,
    td: TimeDomain,
) -> Mat<f64> {
    let n = a.nrows();
    let ar = rows(a);
    let sr = rows(s);
    let st = rows(s.transpose());
    let wr = rows(w);
    let m = w.ncols();
    // M = A S in double-double, stored by rows.
    let mut mh = vec![0.0; n * n];
    let mut ml = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut acc = Dot2::default();
            acc.add_dot(&ar[i * n..(i + 1) * n], &st[j * n..(j + 1) * n]);
            (mh[i * n + j], ml[i * n + j]) = acc.pair();
        }
    }
    let row = |i: usize, len: usize| i * len..(i + 1) * len;
    let mut r = Mat::<f64>::zeros(n, n);
    match td {
        TimeDomain::Continuous => {
            // X = M S^T in double-double; R = X + X^T + W W^T.
            let mut xh = vec![0.0; n * n];
            let mut xl = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    let mut acc = Dot2::default();
                    acc.add_dot(&mh[row(i, n)], &sr[row(j, n)]);
                    acc.add_dot_low(&ml[row(i, n)], &sr[row(j, n)]);
                    (xh[i * n + j], xl[i * n + j]) = acc.pair();
                }
            }
            for j in 0..n {
                for i in j..n {
                    let mut acc = Dot2::default();
                    acc.add(xh[i * n + j], xl[i * n + j]);
                    acc.add(xh[j * n + i], xl[j * n + i]);
                    acc.add_dot(&wr[row(i, m)], &wr[row(j, m)]);
                    let v = acc.pair().0;
                    r[(i, j)] = v;
                    r[(j, i)] = v;
                }
            }
        }
        TimeDomain::Discrete => {
            // R = M M^T - S S^T + W W^T.
            let neg: Vec<f64> = sr.iter().map(|x| -x).collect();
            for j in 0..n {
                for i in j..n {
                    let mut acc = Dot2::default();
                    acc.add_dot(&mh[row(i, n)], &mh[row(j, n)]);
                    acc.add_dot_low(&ml[row(i, n)], &mh[row(j, n)]);
                    acc.add_dot_low(&mh[row(i, n)], &ml[row(j, n)]);
                    acc.add_dot(&neg[row(i, n)], &sr[row(j, n)]);
                    acc.add_dot(&wr[row(i, m)], &wr[row(j, m)]);
                    let v = acc.pair().0;
                    r[(i, j)] = v;
                    r[(j, i)] = v;
                }
            }
        }
    }
    r
}

/// The first-order corrections $\delta\sigma_i$ of the Hankel singular values `svd.s` (the SVD of
/// $RS$ for the factors `f` of `sys`, computed with the Schur form `schur` of `sys.a()` and
/// `schur_t` of its transpose), from one refinement step of both Gramians against `sys.a()`.
///
/// Entries are `0.0` where the correction is not applied (non-finite, $\sigma_i = 0$, or larger
/// than $10^{-6}\sigma_i$).
///
/// # Errors
/// As [`lyapunov_schur`] (a singular correction equation; cannot happen for the stable $A$ the
/// factors were computed for).
pub(crate) fn hsv_corrections(
    sys: &StateSpace,
    schur: &RealSchur,
    schur_t: &RealSchur,
    f: &GramianFactors,
    svd: &ThinSvd<f64>,
) -> Result<Vec<f64>> {
    let n = sys.order();
    let td = time_domain(sys.sampling());
    let a = sys.a();
    let anorm = a.norm_l2();
    // Controllability: E from the residual of P = S S^T.
    let e = lyapunov_schur(
        schur,
        factored_residual(a, f.s.as_ref(), sys.b(), td).as_ref(),
        td,
        anorm,
    )?;
    // Observability: F from the residual of Q = R^T R with A^T.
    let fq = lyapunov_schur(
        schur_t,
        factored_residual(a.transpose(), f.r.transpose(), sys.c().transpose(), td).as_ref(),
        td,
        anorm,
    )?;
    // G = R^T U, H = S V: delta_i = (g_i^T E g_i + h_i^T F h_i) / (2 sigma_i).
    let g = f.r.transpose() * &svd.u;
    let h = &f.s * &svd.v;
    let eg = &e * &g;
    let fh = &fq * &h;
    Ok((0..svd.s.len())
        .map(|i| {
            let s = svd.s[i];
            let mut num = 0.0;
            for k in 0..n {
                num += g[(k, i)] * eg[(k, i)] + h[(k, i)] * fh[(k, i)];
            }
            let d = num / (2.0 * s);
            if s > 0.0 && d.is_finite() && d.abs() <= MAX_REL_CORRECTION * s {
                d
            } else {
                0.0
            }
        })
        .collect())
}
