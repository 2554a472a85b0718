//! Gramians from Cholesky factors and Hankel singular values,
//! $$P = SS^\top,\quad Q = R^\top R,\qquad \sigma_k(G) = \sigma_k(RS) = \sqrt{\lambda_k(PQ)},$$
//! where $AP+PA^\top+BB^\top = 0$, $A^\top Q+QA+C^\top C = 0$ (continuous time) or
//! $APA^\top-P+BB^\top = 0$, $A^\top QA-Q+C^\top C = 0$ (discrete time).
//!
//! The factors come straight from Hammarling's method
//! ([`lyapunov_cholesky_schur`]), and the Hankel
//! singular values are the singular values of the $n\times n$ product $RS$: $P$, $Q$ and $PQ$ are
//! never formed, so the small singular values keep their relative accuracy (python-control's
//! $\sqrt{\operatorname{eig}(PQ)}$ squares the condition number and loses them).
//!
//! The real Schur form of $A$ is computed once; the observability equation uses the Schur form
//! of $A^\top$ obtained from it by reversing the order of the states,
//! $A^\top = (ZJ)(JT^\top J)(ZJ)^\top$ with $J$ the reversal permutation, which is again
//! quasi-upper triangular with standardized $2\times2$ blocks.
//!
//! # Algorithm
//! One real Schur decomposition ($\approx 25n^3$ flops), two Hammarling solves with their
//! back-transformations ($\approx 2\cdot 5n^3$), one $n\times n$ product and SVD
//! ($\approx 2n^3 + 20n^3$ with vectors). [`hankel_singular_values_schur`] skips the
//! back-transformations: the singular values of a product of two triangular factors in Schur
//! coordinates.
//!
//! # References
//! - S. J. Hammarling, IMA J. Numer. Anal. 2 (1982) 303–323.
//! - M. S. Tombs, I. Postlethwaite, *Truncated balanced realization of a stable non-minimal
//!   state-space system*, Int. J. Control 46 (1987).
//! - SLICOT AB09AX, AB13AD (Hankel singular values from the Cholesky factors).

use crate::equil::{scale_system, unscale_hsv};
use crate::lyapunov::{
    HAMMARLING_BLOCK, TimeDomain, lyapunov_cholesky_schur, lyapunov_cholesky_tilde,
};
use crate::model::{Sampling, StateSpace};
pub use crate::refine::Refinement;
use crate::schur::{RealSchur, real_schur};
use crate::{Result, SystemsError};
use dln_linalg::ThinSvd;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, MatRef};

/// The Lyapunov time domain of a sampling description.
pub fn time_domain(s: Sampling) -> TimeDomain {
    match s {
        Sampling::Continuous => TimeDomain::Continuous,
        Sampling::Discrete { .. } => TimeDomain::Discrete,
    }
}

/// Cholesky factors of the two Gramians of a stable system.
#[derive(Debug, Clone)]
pub struct GramianFactors {
    /// $S$ with $P = SS^\top$ (controllability Gramian; upper triangular).
    pub s: Mat<f64>,
    /// $R$ with $Q = R^\top R$ (observability Gramian; lower triangular, $R = V^\top$ for the
    /// upper-triangular Hammarling factor $V$ of $(A^\top, C^\top)$).
    pub r: Mat<f64>,
}

impl GramianFactors {
    /// The controllability Gramian $P = SS^\top$ (formed explicitly; for tests and small models).
    pub fn p(&self) -> Mat<f64> {
        &self.s * self.s.transpose()
    }
    /// The observability Gramian $Q = R^\top R$.
    pub fn q(&self) -> Mat<f64> {
        self.r.transpose() * &self.r
    }

    /// Relative residuals of the two Lyapunov equations,
    /// $\\|AP+PA^\top+BB^\top\\|_F/(2\\|A\\|_F\\|P\\|_F+\\|BB^\top\\|_F)$ (and the DT analogue), for
    /// $P$ and $Q$. Costs $O(n^3)$; diagnostic only.
    pub fn residuals(&self, sys: &StateSpace) -> (f64, f64) {
        let a = sys.a();
        let p = self.p();
        let q = self.q();
        let bb = sys.b() * sys.b().transpose();
        let cc = sys.c().transpose() * sys.c();
        let an = a.norm_l2();
        let res = |a: MatRef<'_, f64>, x: &Mat<f64>, w: &Mat<f64>| -> f64 {
            let xn = x.norm_l2();
            match sys.sampling() {
                Sampling::Continuous => {
                    (a * x + x * a.transpose() + w).norm_l2()
                        / (2.0 * an * xn + w.norm_l2()).max(f64::MIN_POSITIVE)
                }
                Sampling::Discrete { .. } => {
                    (a * x * a.transpose() - x + w).norm_l2()
                        / ((an * an + 1.0) * xn + w.norm_l2()).max(f64::MIN_POSITIVE)
                }
            }
        };
        (res(a, &p, &bb), res(a.transpose(), &q, &cc))
    }
}

/// The real Schur form of $A^\top$ from that of $A$: $(JT^\top J,\ ZJ)$.
pub(crate) fn transposed_schur(s: &RealSchur) -> RealSchur {
    let n = s.t.nrows();
    RealSchur {
        t: Mat::from_fn(n, n, |i, j| s.t[(n - 1 - j, n - 1 - i)]),
        z: Mat::from_fn(n, n, |i, j| s.z[(i, n - 1 - j)]),
    }
}

/// Options of the Gramian and Hankel-singular-value computations.
///
/// The model is always scaled by exact powers of two ([`crate::equil`]: magnitudes of $A$, $B$,
/// $C$), which changes no result and only avoids overflow and underflow; `equilibrate` adds the
/// diagonal state scaling of SLICOT `TB01ID`'s kind. Results are always returned in the original
/// coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GramianOptions {
    /// Equilibrate the state coordinates first ([`crate::equil::scale_system`]). Default:
    /// `false` in the library; the program (`dln hsv`, `dln reduce`) and Python default to on.
    /// Measured over the SLICOT test set (`docs/performance.md`, "HSV accuracy"), it recovers the
    /// small HSVs of badly scaled models (lf10: relative error 22 → 7e-13 with the default
    /// refinement) and is never worse than 1.6× on the others (CDplayer_dt 2.8e-9 → 4.5e-9).
    /// Model reduction equilibrates the same way with
    /// [`ReductionOptions::equilibrate`](crate::reduction::ReductionOptions::equilibrate). The
    /// power-of-two size scaling that keeps entries of size $2^{\pm1000}$ representable is
    /// applied either way.
    pub equilibrate: bool,
    /// Refine the Hankel singular values by one step of iterative refinement of both Gramians
    /// against the original $A$ ([`crate::refine`]): removes the part of the error that comes
    /// from the Schur form's backward error on models with a very slow mode. Default
    /// [`Refinement::Auto`]. Affects the Hankel singular values only, not the factors.
    pub refine: Refinement,
}

/// Gramian factors for a model whose $A$ has the given real Schur form.
pub(crate) fn factors_with_schur(sys: &StateSpace, schur: &RealSchur) -> Result<GramianFactors> {
    factors_with_schur_pair(sys, schur, &transposed_schur(schur))
}

/// [`factors_with_schur`] given also the Schur form `st` of $A^\top$ ([`transposed_schur`]).
pub(crate) fn factors_with_schur_pair(
    sys: &StateSpace,
    schur: &RealSchur,
    st: &RealSchur,
) -> Result<GramianFactors> {
    let td = time_domain(sys.sampling());
    // The two factors are independent given the Schur form.
    let (s, v) = rayon::join(
        || lyapunov_cholesky_schur(schur, sys.b(), td),
        || lyapunov_cholesky_schur(st, sys.c().transpose(), td),
    );
    let (s, v) = (s?, v?);
    Ok(GramianFactors {
        s,
        r: v.transpose().to_owned(),
    })
}

/// Cholesky factors $S$, $R$ of the controllability and observability Gramians.
///
/// # Errors
/// [`SystemsError::Unstable`] naming the offending eigenvalue if $A$ is not stable;
/// [`SystemsError::NoConvergence`] if the Schur decomposition fails.
///
/// # Algorithm
/// See the [module documentation](self); $\approx 35n^3$ flops.
pub fn gramian_factors(sys: &StateSpace) -> Result<GramianFactors> {
    gramian_factors_with(sys, GramianOptions::default())
}

/// [`gramian_factors`] with explicit [`GramianOptions`]; the factors are returned in the
/// original coordinates, $S = 2^{e_B-e_A/2}D\tilde S$, $R = 2^{e_C-e_A/2}\tilde RD^{-1}$
/// ([`crate::equil`]).
///
/// # Errors
/// As [`gramian_factors`]; [`SystemsError::NotRepresentable`] if a factor entry overflows `f64`.
pub fn gramian_factors_with(sys: &StateSpace, opts: GramianOptions) -> Result<GramianFactors> {
    let (scaled, sc) = scale_system(sys, opts.equilibrate)?;
    let schur = real_schur(scaled.a())?;
    let f = factors_with_schur(&scaled, &schur).map_err(|e| sc.unscale_error(e))?;
    Ok(GramianFactors {
        s: sc.unscale_controllability_factor(&f.s)?,
        r: sc.unscale_observability_factor(&f.r)?,
    })
}

/// The controllability Gramian factor $S$ ($P = SS^\top$) alone.
///
/// # Errors
/// As [`gramian_factors`].
pub fn controllability_factor(sys: &StateSpace) -> Result<Mat<f64>> {
    controllability_factor_with(sys, GramianOptions::default())
}

/// [`controllability_factor`] with explicit [`GramianOptions`] (original coordinates).
///
/// # Errors
/// As [`gramian_factors_with`].
pub fn controllability_factor_with(sys: &StateSpace, opts: GramianOptions) -> Result<Mat<f64>> {
    let (scaled, sc) = scale_system(sys, opts.equilibrate)?;
    let schur = real_schur(scaled.a())?;
    let s = lyapunov_cholesky_schur(&schur, scaled.b(), time_domain(sys.sampling()))
        .map_err(|e| sc.unscale_error(e))?;
    sc.unscale_controllability_factor(&s)
}

/// SVD of $RS = U\Sigma V^\top$: the Hankel singular values and the singular vectors that define
/// the balancing transformations.
pub(crate) fn hankel_svd(f: &GramianFactors) -> Result<ThinSvd<f64>> {
    let rs = &f.r * &f.s;
    Ok(dln_linalg::thin_svd(rs.as_ref())?)
}

/// Hankel singular values $\sigma_1\ge\dots\ge\sigma_n\ge0$ of a stable model (continuous or
/// discrete), from the Cholesky factors of the Gramians.
///
/// # Errors
/// As [`gramian_factors`].
///
/// # Algorithm
/// $\approx 35n^3$ flops for the factors plus the singular values of $RS$.
pub fn hankel_singular_values(sys: &StateSpace) -> Result<Vec<f64>> {
    hankel_singular_values_with(sys, GramianOptions::default())
}

/// [`hankel_singular_values`] with explicit [`GramianOptions`]. The singular values of
/// $\tilde R\tilde S$ of the scaled model are multiplied by $2^{e_B+e_C-e_A}$ at the end
/// ([`crate::equil`]), so inputs with entries $2^{\pm1000}$ give their (representable) HSVs.
///
/// # Errors
/// As [`gramian_factors`]; [`SystemsError::NotRepresentable`] naming $\sigma_k$ if a Hankel
/// singular value above the rounding level lies outside the range of `f64`.
pub fn hankel_singular_values_with(sys: &StateSpace, opts: GramianOptions) -> Result<Vec<f64>> {
    let (scaled, sc) = scale_system(sys, opts.equilibrate)?;
    let schur = real_schur(scaled.a())?;
    let refine = opts
        .refine
        .applies(&schur, scaled.a().norm_l2(), time_domain(sys.sampling()));
    let mut hsv = if refine {
        let st = transposed_schur(&schur);
        let f = factors_with_schur_pair(&scaled, &schur, &st).map_err(|e| sc.unscale_error(e))?;
        let svd = hankel_svd(&f)?;
        let d = crate::refine::hsv_corrections(&scaled, &schur, &st, &f, &svd)
            .map_err(|e| sc.unscale_error(e))?;
        let mut s: Vec<f64> = svd.s.iter().zip(&d).map(|(s, d)| s + d).collect();
        // First-order corrections keep the order except within rounding; restore it.
        s.sort_by(|x, y| y.total_cmp(x));
        s
    } else {
        // Not yet `hankel_singular_values_schur` (faster, and more accurate on build/build_dt):
        // with it, the forced refinement (computed from the back-transformed factors) falls
        // behind the unrefined route and `hsv_accuracy::refinement_never_spoils_a_model` fails;
        // the refinement has to move to Schur coordinates first.
        let f = factors_with_schur(&scaled, &schur).map_err(|e| sc.unscale_error(e))?;
        let rs = &f.r * &f.s;
        dln_linalg::singular_values(rs.as_ref())?
    };
    unscale_hsv(&mut hsv, sc.hsv_exponent())?;
    Ok(hsv)
}

/// The Hankel singular values from the two factors in Schur coordinates, without returning them
/// to the original coordinates: with $A = ZTZ^\top$, $P = Z\tilde U_c\tilde U_c^\top Z^\top$ and
/// (Schur form $(JT^\top J, ZJ)$ of $A^\top$) $Q = ZJ\tilde U_o\tilde U_o^\top JZ^\top$, so
/// $RS = W_1\tilde U_o^\top J\tilde U_c W_2$ with orthogonal $W_{1,2}$ and
/// $$\sigma(RS) = \sigma(V\tilde U_c),\qquad V = J\tilde U_o^\top J\ \text{(upper triangular)},$$
/// a product of two upper-triangular matrices ($n^3/3$ flops instead of $2n^3$, and no RQ
/// back-transformations, $\approx 4n^3$ flops per factor).
///
/// For a caller that has the real Schur form `schur` of `sys.a()` already; it applies no
/// scaling, equilibration or refinement (those are [`hankel_singular_values_with`]'s, which does
/// not use this route yet: its refinement works on the back-transformed factors).
///
/// # Errors
/// [`SystemsError::Unstable`] if $A$ is not stable; [`SystemsError::Linalg`] if the SVD fails.
///
/// # Panics
/// If `schur` is not of order $n$ (the state dimension of `sys`).
pub fn hankel_singular_values_schur(sys: &StateSpace, schur: &RealSchur) -> Result<Vec<f64>> {
    assert_eq!(
        schur.t.nrows(),
        sys.a().nrows(),
        "hankel_singular_values_schur: Schur form of the wrong order"
    );
    let (_, _, vu) = schur_factor_product(sys, schur)?;
    Ok(dln_linalg::singular_values(vu.as_ref())?)
}

/// The Gramian factors in Schur coordinates, $\tilde U_c$ and $\tilde U_o$ (blocked Hammarling
/// sweeps on the Schur forms of $A$ and $A^\top$, in parallel), and the upper-triangular
/// product $(J\tilde U_o^\top J)\,\tilde U_c$ ($n^3/3$ flops), whose singular values are the
/// Hankel singular values ([`hankel_singular_values_schur`], [`SchurBalancing::new`]).
fn schur_factor_product(
    sys: &StateSpace,
    schur: &RealSchur,
) -> Result<(Mat<f64>, Mat<f64>, Mat<f64>)> {
    let td = time_domain(sys.sampling());
    let n = schur.t.nrows();
    let st = transposed_schur(schur);
    // The two factors are independent given the Schur form.
    let (uc, uo) = rayon::join(
        || lyapunov_cholesky_tilde(schur, sys.b(), td, HAMMARLING_BLOCK),
        || lyapunov_cholesky_tilde(&st, sys.c().transpose(), td, HAMMARLING_BLOCK),
    );
    let (uc, uo) = (uc?, uo?);
    let v = Mat::from_fn(n, n, |i, j| uo[(n - 1 - j, n - 1 - i)]);
    let mut vu = Mat::<f64>::zeros(n, n);
    triangular::matmul(
        vu.as_mut(),
        BlockStructure::TriangularUpper,
        Accum::Replace,
        v.as_ref(),
        BlockStructure::TriangularUpper,
        uc.as_ref(),
        BlockStructure::TriangularUpper,
        1.0,
        faer::get_global_parallelism(),
    );
    Ok((uc, uo, vu))
}

/// Hankel norm $\\|G\\|_H = \sigma_1$ (SLICOT AB13AD with ALPHA at the stability boundary).
///
/// # Errors
/// As [`gramian_factors`].
pub fn hankel_norm(sys: &StateSpace) -> Result<f64> {
    Ok(hankel_singular_values(sys)?.first().copied().unwrap_or(0.0))
}

/// A balanced realization $(TAT^{-1}, TB, CT^{-1}, D)$ with the transformation that produced it.
#[derive(Debug, Clone)]
pub struct Balanced {
    /// The balanced (minimal) realization of order `order`.
    pub system: StateSpace,
    /// All $n$ Hankel singular values of the input, non-increasing.
    pub hsv: Vec<f64>,
    /// Order kept: the number of HSVs above the tolerance (a minimal realization).
    pub order: usize,
    /// $T_L$ ($r\times n$): $A_b = T_LAT_R$, $B_b = T_LB$.
    pub tl: Mat<f64>,
    /// $T_R$ ($n\times r$): $C_b = CT_R$; $T_LT_R = I_r$.
    pub tr: Mat<f64>,
}

/// Square-root balanced minimal realization (Tombs–Postlethwaite; SLICOT AB09AD `JOB='B'` with
/// the minimal-order cut): keeps the $r$ HSVs $\sigma_k > $ `tol` (default
/// $n\varepsilon\sigma_1$), with $T_R = SV_1\Sigma_1^{-1/2}$, $T_L = \Sigma_1^{-1/2}U_1^\top R$.
/// The balanced Gramians are $P_b = Q_b = \mathrm{diag}(\sigma_1,\dots,\sigma_r)$.
///
/// # Errors
/// As [`gramian_factors`]; [`SystemsError::InvalidArgument`] for a negative or NaN `tol`.
pub fn balanced_realization(sys: &StateSpace, tol: Option<f64>) -> Result<Balanced> {
    let f = gramian_factors(sys)?;
    let svd = hankel_svd(&f)?;
    let n = sys.order();
    let s1 = svd.s.first().copied().unwrap_or(0.0);
    let tol = match tol {
        Some(t) if t.is_nan() || t < 0.0 => {
            return Err(SystemsError::InvalidArgument(format!(
                "tolerance must be non-negative, got {t}"
            )));
        }
        Some(t) if t > 0.0 => t,
        _ => n as f64 * f64::EPSILON * s1,
    };
    let r = svd.s.iter().take_while(|&&x| x > tol).count();
    let (tl, tr) = sr_projection(&f, &svd, r);
    let system = project(sys, tl.as_ref(), tr.as_ref())?;
    Ok(Balanced {
        system,
        hsv: svd.s,
        order: r,
        tl,
        tr,
    })
}

/// Square-root projection $T_L = \Sigma_1^{-1/2}U_1^\top R$, $T_R = SV_1\Sigma_1^{-1/2}$ onto the
/// leading `r` HSVs.
pub(crate) fn sr_projection(
    f: &GramianFactors,
    svd: &ThinSvd<f64>,
    r: usize,
) -> (Mat<f64>, Mat<f64>) {
    let n = f.s.nrows();
    let d: Vec<f64> = svd.s[..r].iter().map(|x| 1.0 / x.sqrt()).collect();
    let u1 = Mat::from_fn(n, r, |i, j| svd.u[(i, j)] * d[j]);
    let v1 = Mat::from_fn(n, r, |i, j| svd.v[(i, j)] * d[j]);
    let tl = u1.transpose() * &f.r;
    let tr = &f.s * v1;
    (tl, tr)
}

/// The square-root method in real Schur coordinates: with $A = ZTZ^\top$ and the factors
/// $\tilde U_c$, $\tilde U_o$ of [`lyapunov_cholesky_tilde`] for $(T, Z^\top B)$ and for the
/// Schur form $(JT^\top J, ZJ)$ of $A^\top$ ([`transposed_schur`]),
/// $$P = (Z\tilde U_c)(Z\tilde U_c)^\top,\qquad Q = R^\top R,\ R = \tilde U_o^\top JZ^\top,
/// \qquad RS = \tilde U_o^\top J\tilde U_c =: M = U\Sigma V^\top,$$
/// so the model in Schur coordinates $(T, Z^\top B, CZ, D)$ has the Gramian factors
/// $\tilde S = \tilde U_c$ (upper triangular) and $\tilde R = \tilde U_o^\top J$ (lower triangular
/// with its columns reversed), and $\tilde R\tilde S = M$. Every projection of the square-root
/// methods, e.g. $T_R = SV_1\Sigma_1^{-1/2} = Z\\,\tilde SV_1\Sigma_1^{-1/2}$,
/// $T_L = \Sigma_1^{-1/2}U_1^\top R = \Sigma_1^{-1/2}U_1^\top\tilde R\\,Z^\top$, gives the same
/// reduced model from $(\tilde S, \tilde R, M)$ and the Schur-coordinate model as from
/// $(S, R, RS)$ and the original one: $Z$ cancels. Against the back-transformed route
/// ([`factors_with_schur_pair`] + [`hankel_svd`]) this saves the two RQ back-transformations
/// ($\approx 4n^3$ flops each) and the dense product $RS$ ($2n^3$; here a product of two
/// triangular matrices, $n^3/3$); the projections cost $O(n^2r)$.
#[derive(Debug, Clone)]
pub(crate) struct SchurBalancing {
    /// The model in real Schur coordinates, $(T, Z^\top B, CZ, D)$.
    pub model: StateSpace,
    /// Its Gramian factors $\tilde S = \tilde U_c$ (field `s`) and $\tilde R = \tilde U_o^\top J$
    /// (field `r`; not lower triangular, unlike [`GramianFactors`]' documentation says of the
    /// back-transformed factors).
    pub f: GramianFactors,
    /// The SVD of $\tilde R\tilde S = \tilde U_o^\top J\tilde U_c$; its singular values are the
    /// (unrefined) Hankel singular values.
    pub svd: ThinSvd<f64>,
}

impl SchurBalancing {
    /// Factors and SVD for `sys` whose $A$ has the Schur form `schur`; `model` is `sys` in those
    /// Schur coordinates, $(T, Z^\top B, CZ, D)$ (the caller usually has it already).
    ///
    /// # Errors
    /// [`SystemsError::Unstable`] if $A$ is not stable; [`SystemsError::Linalg`] if the SVD fails.
    ///
    /// # Panics
    /// If `schur` or `model` is not of the order of `sys`.
    pub(crate) fn new(sys: &StateSpace, schur: &RealSchur, model: StateSpace) -> Result<Self> {
        let n = sys.order();
        assert!(
            schur.t.nrows() == n && model.order() == n,
            "SchurBalancing::new: Schur form or model of the wrong order"
        );
        // M = U~o^T J U~c = J (J U~o^T J) U~c, with J U~o^T J upper triangular.
        let (uc, uo, vu) = schur_factor_product(sys, schur)?;
        let m = Mat::from_fn(n, n, |i, j| vu[(n - 1 - i, j)]);
        let svd = dln_linalg::thin_svd(m.as_ref())?;
        let r = Mat::from_fn(n, n, |i, j| uo[(n - 1 - j, i)]);
        Ok(SchurBalancing {
            model,
            f: GramianFactors { s: uc, r },
            svd,
        })
    }

    /// Gramian factors of the model in its original coordinates, $S = Z\tilde S$ and
    /// $R = \tilde RZ^\top$ (not triangular; $RS = \tilde R\tilde S$ up to rounding, so
    /// [`svd`](Self::svd) is their SVD too): for the refinement of the Hankel singular values
    /// ([`crate::refine`]), which works against the original $A$. $\approx 2n^3$ flops.
    pub(crate) fn original_factors(&self, schur: &RealSchur) -> GramianFactors {
        GramianFactors {
            s: &schur.z * &self.f.s,
            r: &self.f.r * schur.z.transpose(),
        }
    }

    /// The square-root balanced truncation of order `k` (Tombs–Postlethwaite;
    /// $T_L = \Sigma_1^{-1/2}U_1^\top\tilde R$, $T_R = \tilde SV_1\Sigma_1^{-1/2}$ applied to the
    /// Schur-coordinate model): the reduced model of [`crate::reduction::reduce`] with
    /// [`Method::Truncation`](crate::reduction::Method::Truncation) and
    /// [`Balancing::SquareRoot`](crate::reduction::Balancing::SquareRoot) at that order.
    /// $O(n^2k)$ flops.
    ///
    /// # Errors
    /// As [`StateSpace::new`]: non-finite entries if a used $\sigma_i$ is zero (the callers cut
    /// at the minimal order, so it does not happen there).
    ///
    /// # Panics
    /// If `k` exceeds the number of singular values.
    pub(crate) fn square_root_truncation(&self, k: usize) -> Result<StateSpace> {
        let (tl, tr) = sr_projection(&self.f, &self.svd, k);
        project(&self.model, tl.as_ref(), tr.as_ref())
    }
}

/// $(T_LAT_R, T_LB, CT_R, D)$.
pub(crate) fn project(
    sys: &StateSpace,
    tl: MatRef<'_, f64>,
    tr: MatRef<'_, f64>,
) -> Result<StateSpace> {
    StateSpace::new(
        tl * sys.a() * tr,
        tl * sys.b(),
        sys.c() * tr,
        sys.d().to_owned(),
        sys.sampling(),
    )
}
