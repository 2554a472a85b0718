//! The realization action and its moment map,
//! $$\mu_{LS}(A,B,C) = AA^*-A^*A+BB^*-C^*C,\qquad
//! \frac{d}{d\tau}\Big|_{0}\tfrac12\big(\\|e^{\tau a}Ae^{-\tau a}\\|^2+\\|e^{\tau a}B\\|^2+\\|Ce^{-\tau a}\\|^2\big)
//! = \operatorname{Re}\operatorname{Tr}(\mu_{LS}^*\\,a),$$
//! for $GL_n$ acting on realizations by $M\cdot(A,B,C) = (MAM^{-1}, MB, CM^{-1})$ (theory §5,
//! claim 35). Two balancing problems on that orbit are Kempf–Ness problems:
//!
//! - **Helmke's norm-balanced realization** ([`norm_balance`]): the minimizer of
//!   $\\|MAM^{-1}\\|_F^2+\\|MB\\|_F^2+\\|CM^{-1}\\|_F^2$ over $M\in GL_n$, characterised by
//!   $\mu_{LS} = 0$; the function is geodesically convex in $P = M^*M$.
//! - **Moore's balanced realization** ([`kempf_ness_balancing`]): the minimizer of
//!   $\operatorname{tr}(MPM^* + M^{-*}QM^{-1})$ for the Gramians $P, Q$, which satisfies
//!   $M^*M = P^{-1}\\#Q$ (matrix geometric mean); then $MPM^* = M^{-*}QM^{-1} = \Sigma$, the Hankel
//!   singular values. The production route is the square-root method in
//!   [`gramian`](crate::gramian), which never forms $P$ or $Q$; this one is its
//!   Kempf–Ness certificate.
//!
//! For the two-layer deep linear network ($A = 0$, $B = W_1$, $C = W_2$) the moment map is the
//! balancedness defect $\mu_{LS} = W_1W_1^* - W_2^*W_2 = G_1$.
//!
//! All functions are generic over [`Scalar`] ($\mathbb R$ or $\mathbb C$).
//!
//! # References
//! - U. Helmke, *Balanced realizations for linear systems: a variational approach*, SIAM J.
//!   Control Optim. 31 (1993).
//! - B. C. Moore, *Principal component analysis in linear systems*, IEEE TAC 26 (1981).
//! - G. Kempf, L. Ness, *The length of vectors in representation spaces* (1979).

use crate::{Result, SystemsError};
use dln_linalg::{HermitianEigen, Scalar, geometric_mean, hermitian_part, psd_sqrt, re_inner};
use faer::{Mat, MatRef};

/// $\mu_{LS}(A,B,C) = AA^*-A^*A+BB^*-C^*C$ ($n\times n$ Hermitian).
///
/// # Panics
/// If the shapes are inconsistent ($A$ $n\times n$, $B$ $n\times m$, $C$ $p\times n$).
#[track_caller]
pub fn moment_map<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>, c: MatRef<'_, T>) -> Mat<T> {
    let n = a.nrows();
    assert!(
        a.ncols() == n && b.nrows() == n && c.ncols() == n,
        "moment_map: inconsistent shapes"
    );
    a * a.adjoint() - a.adjoint() * a + b * b.adjoint() - c.adjoint() * c
}

/// $\tfrac12(\\|A\\|_F^2+\\|B\\|_F^2+\\|C\\|_F^2)$, the Kempf–Ness potential of the realization action.
pub fn potential<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>, c: MatRef<'_, T>) -> f64 {
    0.5 * (dln_linalg::frob_sq(a) + dln_linalg::frob_sq(b) + dln_linalg::frob_sq(c))
}

/// Options for [`norm_balance`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormBalanceOptions {
    /// Stop when $\\|\mu_{LS}\\|_F \le$ `tol` $\cdot(\\|A\\|_F^2+\\|B\\|_F^2+\\|C\\|_F^2)$ of the
    /// input (default $10^{-12}$), or when $\\|\mu_{LS}\\|_F$ is at most the rounding level
    /// [`moment_map_rounding`] of the current realization, if that is larger (below it the
    /// computed $\mu_{LS}$ is indistinguishable from $0$; `tol = 0` asks for exactly that).
    pub tol: f64,
    /// Maximal number of Newton steps (default 100).
    pub max_iterations: usize,
}

impl Default for NormBalanceOptions {
    fn default() -> Self {
        Self {
            tol: 1e-12,
            max_iterations: 100,
        }
    }
}

/// A norm-balanced realization $M\cdot(A,B,C)$ with its certificate.
#[derive(Debug, Clone)]
pub struct NormBalanced<T: Scalar> {
    /// The transformation $M$ (a product of positive-definite factors $e^{a}$).
    pub m: Mat<T>,
    /// $M^{-1}$.
    pub m_inv: Mat<T>,
    /// $MAM^{-1}$.
    pub a: Mat<T>,
    /// $MB$.
    pub b: Mat<T>,
    /// $CM^{-1}$.
    pub c: Mat<T>,
    /// $\\|\mu_{LS}\\|_F$ at the result (the Hermitian part of [`moment_map`] of the returned
    /// matrices).
    pub mu_norm: f64,
    /// The minimal value $\tfrac12(\\|MAM^{-1}\\|^2+\\|MB\\|^2+\\|CM^{-1}\\|^2)$.
    pub potential: f64,
    /// Newton steps taken.
    pub iterations: usize,
}

/// The rounding level of the computed moment map,
/// $$\rho(A,B,C) = \gamma_{n+4}\big(2\\|A\\|_F^2+\\|B\\|_F^2+\\|C\\|_F^2\big),\qquad
/// \gamma_k = \frac{ku}{1-ku},\ u = \varepsilon/2:$$
/// a bound on $\\|\mathrm{fl}(\mu_{LS}) - \mu_{LS}\\|_F$ for [`moment_map`] evaluated in floating
/// point ($|\mathrm{fl}(XY) - XY| \le \gamma_n|X||Y|$ entrywise for inner products of length $n$,
/// $\\||X||Y|\\|_F\le\\|X\\|_F\\|Y\\|_F$; the complex products and the three sums add at most
/// $4u$). A computed $\\|\mu_{LS}\\|_F \le \rho$ is consistent with $\mu_{LS} = 0$: no iteration can
/// certify a smaller value, so it is the floor of [`norm_balance`]'s stopping rule.
///
/// # Panics
/// If the shapes are inconsistent.
#[track_caller]
pub fn moment_map_rounding<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>, c: MatRef<'_, T>) -> f64 {
    let n = a.nrows();
    assert!(
        a.ncols() == n && b.nrows() == n && c.ncols() == n,
        "moment_map_rounding: inconsistent shapes"
    );
    let ku = (n + 4) as f64 * 0.5 * f64::EPSILON;
    ku / (1.0 - ku)
        * (2.0 * dln_linalg::frob_sq(a) + dln_linalg::frob_sq(b) + dln_linalg::frob_sq(c))
}

fn sc<T: Scalar>(m: MatRef<'_, T>, s: f64) -> Mat<T> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)].scale(s))
}

/// Derivative of $\mu_{LS}$ along the infinitesimal action of a Hermitian $h$: the Hessian of the
/// potential at the identity, $\langle \mathcal H(h),h\rangle = 2\\|(hA-Ah,\ hB,\ -Ch)\\|^2$.
fn hess<T: Scalar>(
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    c: MatRef<'_, T>,
    h: MatRef<'_, T>,
) -> Mat<T> {
    let da = h * a - a * h;
    let db = h * b;
    let dc = -(c * h);
    let x = &da * a.adjoint() + a * da.adjoint() - da.adjoint() * a - a.adjoint() * &da
        + &db * b.adjoint()
        + b * db.adjoint()
        - dc.adjoint() * c
        - c.adjoint() * &dc;
    hermitian_part(x.as_ref())
}

/// Helmke's norm-balanced realization: minimizes
/// $\\|MAM^{-1}\\|_F^2+\\|MB\\|_F^2+\\|CM^{-1}\\|_F^2$ over $M\in GL_n$ and certifies
/// $\mu_{LS}(MAM^{-1},MB,CM^{-1}) \approx 0$.
///
/// # Errors
/// [`SystemsError::NoConvergence`] when neither the tolerance nor the rounding level
/// [`moment_map_rounding`] is reached (e.g. the orbit is not closed, as for realizations that are
/// neither controllable nor observable in the required sense, where the infimum is not attained);
/// eigen-decomposition failures.
///
/// # Panics
/// If the shapes are inconsistent.
///
/// # Algorithm
/// Newton's method on the group in exponential coordinates: the step $h$ (Hermitian) solves
/// $\mathcal H(h) = -\mu_{LS}$ by conjugate gradients (each operator application $O(n^2(n+m+p))$
/// flops), followed by an Armijo backtracking line search along $t\mapsto e^{th}$ and the update
/// $M\leftarrow e^{th}M$. The potential is geodesically convex, so the iteration converges
/// globally (quadratically near a closed-orbit minimizer).
///
/// The Newton equation lives on the Hermitian matrices, the tangent space of $P = M^*M$: the
/// anti-Hermitian directions generate the unitary group, which leaves the potential unchanged,
/// so $\mathcal H$ vanishes on them. The right-hand side is therefore the Hermitian part of the
/// computed $\mu_{LS}$ (whose rounding errors need not be Hermitian: complex products with fused
/// multiply-adds leave imaginary parts of order $\varepsilon$ on the diagonal of $AA^*$), and every
/// conjugate-gradient iterate stays exactly Hermitian. An anti-Hermitian residual, however small,
/// would otherwise be divided by a vanishing curvature and blow the step up.
///
/// The iteration stops at $\\|\mu_{LS}\\|_F\le\max(\mathrm{tol}\cdot s_0,\ \rho)$ (see
/// [`NormBalanceOptions::tol`] and [`moment_map_rounding`]); a line search that finds no step
/// reducing the potential or $\\|\mu_{LS}\\|$ above that level is reported as
/// [`SystemsError::NoConvergence`], never accepted.
#[track_caller]
pub fn norm_balance<T: Scalar>(
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    c: MatRef<'_, T>,
    opts: NormBalanceOptions,
) -> Result<NormBalanced<T>> {
    let n = a.nrows();
    assert!(
        a.ncols() == n && b.nrows() == n && c.ncols() == n,
        "norm_balance: inconsistent shapes"
    );
    let (mut ca, mut cb, mut cc) = (a.to_owned(), b.to_owned(), c.to_owned());
    let mut m = Mat::<T>::identity(n, n);
    let mut mi = Mat::<T>::identity(n, n);
    let scale = (2.0 * potential(a, b, c)).max(f64::MIN_POSITIVE);
    for it in 0..=opts.max_iterations {
        // The gradient of the potential: the Hermitian part of the computed moment map (see
        // # Algorithm: the Newton equation is posed on Hermitian matrices).
        let mu = hermitian_part(moment_map(ca.as_ref(), cb.as_ref(), cc.as_ref()).as_ref());
        let mun = mu.norm_l2();
        let rho = moment_map_rounding(ca.as_ref(), cb.as_ref(), cc.as_ref());
        if mun <= (opts.tol * scale).max(rho) {
            let potential = potential(ca.as_ref(), cb.as_ref(), cc.as_ref());
            return Ok(NormBalanced {
                m,
                m_inv: mi,
                a: ca,
                b: cb,
                c: cc,
                mu_norm: mun,
                potential,
                iterations: it,
            });
        }
        if it == opts.max_iterations {
            break;
        }
        // CG on H(h) = -mu over Hermitian matrices: mu and every H(d) are exactly Hermitian, so
        // are all iterates.
        let rhs = -&mu;
        let mut h = Mat::<T>::zeros(n, n);
        let mut r = rhs.clone();
        let mut d = r.clone();
        let mut rr = re_inner(r.as_ref(), r.as_ref());
        let rr0 = rr;
        let forcing = (mun / scale).sqrt().min(0.1);
        for _ in 0..(n * n + 10).min(500) {
            if rr <= forcing * forcing * rr0 {
                break;
            }
            let hd = hess(ca.as_ref(), cb.as_ref(), cc.as_ref(), d.as_ref());
            let dhd = re_inner(d.as_ref(), hd.as_ref());
            if dhd <= 1e-300 {
                break;
            }
            let alpha = rr / dhd;
            h += sc(d.as_ref(), alpha);
            r -= sc(hd.as_ref(), alpha);
            let rr_new = re_inner(r.as_ref(), r.as_ref());
            d = &r + sc(d.as_ref(), rr_new / rr);
            rr = rr_new;
        }
        if re_inner(h.as_ref(), h.as_ref()) == 0.0 {
            h = rhs.clone(); // gradient step fallback
        }
        let slope = re_inner(mu.as_ref(), h.as_ref());
        let (h, slope) = if slope < 0.0 {
            (h, slope)
        } else {
            (rhs.clone(), -re_inner(mu.as_ref(), mu.as_ref()))
        };
        let f0 = potential(ca.as_ref(), cb.as_ref(), cc.as_ref());
        let eig = HermitianEigen::new(h.as_ref())?;
        let mut t = 1.0f64;
        let mut accepted = false;
        for _ in 0..60 {
            let e = eig.map(|x| (t * x).exp());
            let ei = eig.map(|x| (-t * x).exp());
            let na = &e * &ca * &ei;
            let nb = &e * &cb;
            let nc = &cc * &ei;
            let f1 = potential(na.as_ref(), nb.as_ref(), nc.as_ref());
            // Armijo on the potential; once its decrease is below rounding (near the minimizer,
            // where the decrease is O(||mu||^2)), judge the step by the moment map instead.
            let rounding = 64.0 * f64::EPSILON * f0;
            let armijo = f1 <= f0 + 1e-4 * t * slope;
            let flat = f1 <= f0 + rounding
                && moment_map(na.as_ref(), nb.as_ref(), nc.as_ref()).norm_l2() < mun;
            if armijo || flat {
                ca = na;
                cb = nb;
                cc = nc;
                m = &e * &m;
                mi = &mi * &ei;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            // No step reduces the potential or the moment map, and mu is above both the
            // tolerance and its rounding level (checked above): a failure, never a result.
            return Err(SystemsError::NoConvergence {
                what: "norm balancing (Newton on the realization orbit; no descent step)",
                iterations: it,
            });
        }
    }
    Err(SystemsError::NoConvergence {
        what: "norm balancing (Newton on the realization orbit)",
        iterations: opts.max_iterations,
    })
}

/// Moore balancing as a Kempf–Ness problem: given Gramians $P,Q\succ0$, returns
/// $(M, M^{-1}, \sigma)$ with $M^*M = P^{-1}\\#Q$ and $MPM^* = M^{-*}QM^{-1} = \mathrm{diag}(\sigma)$,
/// $\sigma$ non-increasing (the Hankel singular values).
///
/// $M$ minimizes $\operatorname{tr}(MPM^*+M^{-*}QM^{-1})$; the minimal value is $2\sum_k\sigma_k$.
///
/// # Errors
/// [`dln_linalg::LinalgError::NotPositive`] if $P$ or $Q$ is not positive definite.
///
/// # Panics
/// If $P$ and $Q$ are not square of the same size.
///
/// # Algorithm
/// $W = P^{-1}\\#Q$ (three Hermitian eigendecompositions), $M_0 = W^{1/2}$, then the Hermitian
/// eigendecomposition $M_0PM_0 = U\Sigma U^*$ and $M = U^*M_0$; $O(n^3)$. It squares condition
/// numbers (it needs $P$, $Q$ themselves): use the square-root method for production.
#[track_caller]
pub fn kempf_ness_balancing<T: Scalar>(
    p: MatRef<'_, T>,
    q: MatRef<'_, T>,
) -> Result<(Mat<T>, Mat<T>, Vec<f64>)> {
    let n = p.nrows();
    assert!(
        p.ncols() == n && q.nrows() == n && q.ncols() == n,
        "kempf_ness_balancing: shapes differ"
    );
    let pinv = dln_linalg::psd_pow(p, -1.0)?;
    let w = geometric_mean(pinv.as_ref(), q)?;
    let m0 = psd_sqrt(w.as_ref())?;
    let m0inv = dln_linalg::psd_pow(w.as_ref(), -0.5)?;
    let s = hermitian_part((&m0 * p * &m0).as_ref());
    let e = HermitianEigen::new(s.as_ref())?;
    // descending order
    let idx: Vec<usize> = (0..n).rev().collect();
    let u = Mat::from_fn(n, n, |i, j| e.vectors[(i, idx[j])]);
    let sigma: Vec<f64> = idx.iter().map(|&k| e.values[k]).collect();
    let m = u.adjoint() * &m0;
    let minv = &m0inv * &u;
    Ok((m, minv, sigma))
}
