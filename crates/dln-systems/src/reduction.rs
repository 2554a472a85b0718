//! Model reduction by balancing,
//! $$\sigma_{r+1}\ \le\ \\|G - G_r\\|_{\mathcal H_\infty}\ \le\ 2\sum_{k>r}\sigma_k,$$
//! for balanced truncation and singular perturbation approximation of order $r$ (for repeated
//! HSVs each distinct value counts once in the sum; the bound returned here counts every HSV, so it
//! is always valid).
//!
//! Four methods, as in SLICOT:
//!
//! | [`Method`] / [`Balancing`] | [`SquareRoot`](Balancing::SquareRoot) | [`BalancingFree`](Balancing::BalancingFree) |
//! |---|---|---|
//! | [`Truncation`](Method::Truncation) | AB09AD `JOB='B'` (Tombs–Postlethwaite) | AB09AD `JOB='N'` (Varga) |
//! | [`SingularPerturbation`](Method::SingularPerturbation) | AB09BD `JOB='B'` | AB09BD `JOB='N'` |
//!
//! With [`ReductionOptions::alpha`] set, the model is first split additively,
//! $G = G_s + G_u$ ([`split`](crate::split)), the $\alpha$-unstable part $G_u$ is kept exactly and
//! only $G_s$ is reduced: $G_r = G_u + G_{s,r}$ (AB09MD / AB09ND). Without it the model must be
//! stable ([`SystemsError::Unstable`] otherwise).
//!
//! # Order selection (SLICOT `ORDSEL`, `TOL`)
//! Let $\sigma_1\ge\dots\ge\sigma_{n_s}$ be the HSVs of the (stable part of the) model and
//! $\tau_{\min}$ = [`ReductionOptions::min_tol`] (SLICOT `TOL2`; default $n_s\varepsilon\sigma_1$).
//! The minimal order is $n_{\min} = \\#\\{\sigma_k > \tau_{\min}\\}$: the states beyond it are
//! uncontrollable or unobservable to working precision and are always removed.
//! - [`OrderSelection::Fixed`]`(r)`: total order $r$, i.e. the stable part gets
//!   $r_s = \min(\max(0, r-n_u), n_{\min})$ (AB09MD's `NR`);
//! - [`OrderSelection::Tolerance`]`(tol)`: $r_s = \\#\\{\sigma_k > \max(\mathrm{tol}, \tau_{\min})\\}$;
//!   `Tolerance(0.0)` therefore gives a minimal realization.
//!
//! # The bound and the computed model
//! The bound $2\sum_{k>r}\sigma_k$ holds for the exact reduction of the model. The computed one is
//! (to first order) the exact reduction of a nearby model $\tilde G$ whose state matrix carries the
//! Schur form's backward error $\\|\delta A\\|\approx\varepsilon\\|A\\|$; along the slowest mode this
//! moves the transfer function by about $\varepsilon\kappa_{\rm slow}\\|G - D\\|_\infty \le
//! \varepsilon\kappa_{\rm slow}\cdot2\sum_k\sigma_k$ ([`crate::refine::slow_mode_indicator`]). So a
//! certified $\\|G - G_r\\|_\infty$ may exceed the bound by that much without any defect: lf10 at
//! $r = 3$ (slow-mode indicator $10^{-8}$) has $\\|G-G_r\\|_\infty = 6.4047429\cdot10^{-10}$
//! against the bound $6.4047426\cdot10^{-10}$ (with the projections built from the
//! back-transformed factors, as before the Schur-coordinate route below, it was
//! $6.73\cdot10^{-10}$, 5 % above). [`Reduction::compare_error`] says which case a certified error
//! is in.
//!
//! # The certified error
//! [`Reduction::hinf_error`] measures $\\|G - G_r\\|_\infty = \\|G_s - G_{s,r}\\|_\infty$ (the kept
//! unstable part cancels) by the level-set iteration of [`crate::norms`] on one of two error
//! systems ([`HinfRoute`]):
//! - **balanced tail** (when it pays): with the exact balanced truncation $G_k$ of order $k$ of
//!   $G_s$, $\\|G_s - G_k\\|_\infty\le\tau_k := 2\sum_{i>k}\sigma_i$ (Glover 1984; Enns 1984 and
//!   Al-Saggaf–Franklin 1987 in discrete time), so for any reduced model of the stable part
//!   (truncation or singular perturbation, square-root or balancing-free), by the triangle
//!   inequality,
//!   $$\big|\\,\\|G_s - G_{s,r}\\|_\infty - \\|G_k - G_{s,r}\\|_\infty\big|\ \le\ \tau_k .$$
//!   $k$ is the smallest order $\ge\max(r_s,1)$ with
//!   $\tau_k\le\tfrac12\max(\mathrm{rtol}\,\sigma_{r_s+1}, \delta)$ ($\mathrm{rtol} = 10^{-9}$,
//!   $\delta$ = [`Reduction::evaluation_rounding`]), and the route is taken only if
//!   $k + r_s\le(n_s+r_s)/2$ and the $k$-th computed singular value of the factor product is
//!   positive (the projection scales by $\sigma_k^{-1/2}$; $k$ may exceed $n_{\min}$ when the
//!   noise-level HSVs add up, e.g. on the stable part of a split model); the level-set
//!   iteration then runs on $G_k - G_{s,r}$ (order
//!   $k + r_s$ instead of $n_s + r_s$). Hankel singular values of well-damped dense models decay
//!   so fast that $k\approx 30$–$40$ at $n = 1000$, $r = 20$: milliseconds instead of seconds.
//!   $G_k$ is the square-root projection of order $k$ from the same Gramian factors and SVD as
//!   $G_r$ ($O(n^2k)$ flops in [`reduce`]).
//!   The route also requires the computed model's sensitivity
//!   $4\varepsilon\kappa_{\rm slow}\cdot2\sum_i\sigma_i$ ("The bound and the computed model") to
//!   be at most $\max(\delta/2, 0.1\,\sigma_{r_s+1})$: the computed $G_k$ is the truncation of
//!   $G_s$ only up to it, so an excess of the computed model over the bound of that size goes
//!   unseen by the tail route (on slow, badly conditioned modes, lf10 at $r = 3$, the full route
//!   runs and reports it; the full route itself is exact only up to the Schur form's rounding).
//! - **full**: otherwise (slowly decaying HSVs, $k$ too large, or $r_s = n_s$), the iteration runs
//!   on $G_s - G_{s,r}$ in the real Schur coordinates of $A_s$.
//!
//! *Rounding.* $\tau_k$ is formed from the computed HSVs $\hat\sigma_i$ (as [`Reduction::error_bound`]
//! is). Those at the noise level are accurate only to about $\varepsilon\sigma_1$ each in absolute
//! terms (a backward-stable SVD of the computed product of the Gramian factors), so the exact
//! tail may exceed $\tau_k$ by up to about $2(n_s-k)\varepsilon\sigma_1$. No allowance is added
//! for it: it is below $\delta = (n_s+r_s)\varepsilon\cdot2\sum_i\sigma_i$, the resolution the full
//! route accepts as well (a peak rising less than $\delta$ above the attained value is taken for
//! evaluation noise, [`HinfOptions::abs_tol`]); adding it would exceed the budget $\delta/2$
//! whenever $\sigma_1$ dominates the HSVs and would turn the route off where it matters. In the
//! same sense the computed $G_k$ is the exact balanced truncation of a nearby model only up to
//! rounding of size $\delta$: both routes certify the error up to $\delta$.
//!
//! # Algorithm
//! Gramian factors $P = SS^\top$, $Q = R^\top R$ by Hammarling's method on one real Schur form and
//! the SVD $RS = U\Sigma V^\top$ ([`gramian`](crate::gramian)), all in real Schur coordinates: with
//! $A = ZTZ^\top$ the factors are $S = Z\tilde U_c$, $R = \tilde U_o^\top JZ^\top$ (triangular
//! $\tilde U_{c,o}$, $J$ the reversal), $RS = \tilde U_o^\top J\tilde U_c$, and the projections below
//! are applied to $(T, Z^\top B, CZ, D)$ with $\tilde S = \tilde U_c$, $\tilde R = \tilde U_o^\top J$ —
//! $Z$ cancels, so no factor is transformed back ($O(n^2r)$ instead of $\approx 10n^3$ flops). Square root:
//! $T_L = \Sigma_1^{-1/2}U_1^\top R$, $T_R = SV_1\Sigma_1^{-1/2}$. Balancing-free: $X = \operatorname{orth}(SV_1)$,
//! $Y = \operatorname{orth}(R^\top U_1)$, $T_L = (Y^\top X)^{-1}Y^\top$, $T_R = X$ (better conditioned when
//! the HSVs spread, result not balanced). Truncation: $(T_LAT_R, T_LB, CT_R, D)$. Singular
//! perturbation: the minimal (balanced or block-balanced) realization of order $n_{\min}$,
//! partitioned at $r$, then
//! $$A_r = A_{11} - A_{12}A_{22}^{-1}A_{21},\ B_r = B_1 - A_{12}A_{22}^{-1}B_2,\
//! C_r = C_1 - C_2A_{22}^{-1}A_{21},\ D_r = D - C_2A_{22}^{-1}B_2$$
//! in continuous time (matching $G(0)$), and in discrete time the same with $A_{22}-I$ in place of
//! $A_{22}$ (matching $G(1)$). Total cost $\approx 50n^3$ flops, dominated by the Schur form,
//! the two Hammarling solves and the SVD.
//!
//! # References
//! - B. C. Moore, IEEE TAC 26 (1981); M. S. Tombs, I. Postlethwaite, Int. J. Control 46 (1987).
//! - A. Varga, *Efficient minimal realization procedure based on balancing*, IMACS (1991);
//!   *Balancing-free square-root algorithm for computing singular perturbation approximations*,
//!   30th IEEE CDC (1991).
//! - Y. Liu, B. D. O. Anderson, *Singular perturbation approximation of balanced systems*,
//!   Int. J. Control 50 (1989).
//! - K. Glover, Int. J. Control 39 (1984) (the error bound).
//! - SLICOT AB09AD, AB09BD, AB09MD, AB09ND.

use crate::gramian::{
    GramianFactors, SchurBalancing, project, sr_projection, time_domain, transposed_schur,
};
use crate::model::{Sampling, StateSpace, solve};
use crate::norms::{HinfOptions, HinfProfile, NormEstimate, linf_norm_profiled};
use crate::refine::{Refinement, hsv_corrections, slow_mode_indicator};
use crate::schur::{RealSchur, real_schur};
use crate::split::{check_alpha, split_with_schur};
use crate::{Result, SystemsError};
use dln_linalg::ThinSvd;
use faer::{Mat, MatRef};

/// Truncation or singular perturbation approximation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Balanced truncation: $D_r = D$; exact at $\omega = \infty$ (CT).
    #[default]
    Truncation,
    /// Singular perturbation approximation: matches the DC gain $G(0)$ (CT) / $G(1)$ (DT).
    SingularPerturbation,
}

/// Square-root (balanced result) or balancing-free square-root (better conditioned) projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Balancing {
    /// Tombs–Postlethwaite: the reduced CT model of a truncation is balanced (SLICOT `JOB='B'`).
    #[default]
    SquareRoot,
    /// Varga's balancing-free square-root method (SLICOT `JOB='N'`).
    BalancingFree,
}

/// How the order is chosen (SLICOT `ORDSEL`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderSelection {
    /// Desired total order `r` (including a kept unstable part); lowered to the minimal order
    /// if larger (`ORDSEL='F'`).
    Fixed(usize),
    /// Keep the HSVs $\sigma_k > \max(\mathrm{tol}, \tau_{\min})$ (`ORDSEL='A'`); SLICOT recommends
    /// $\mathrm{tol} = c\\,\sigma_1$ with $c\in[10^{-5},10^{-3}]$; `0.0` gives a minimal realization.
    Tolerance(f64),
}

impl Default for OrderSelection {
    fn default() -> Self {
        OrderSelection::Tolerance(0.0)
    }
}

/// Options of [`reduce`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReductionOptions {
    /// Truncation or singular perturbation.
    pub method: Method,
    /// Square-root or balancing-free.
    pub balancing: Balancing,
    /// Order selection.
    pub order: OrderSelection,
    /// $\tau_{\min}$ for the minimal-realization cut (SLICOT `TOL2`); `None` or non-positive:
    /// $n_s\varepsilon\sigma_1$.
    pub min_tol: Option<f64>,
    /// Stability boundary $\alpha$ for the additive split (AB09MD/ND `ALPHA`): CT $\alpha\le0$,
    /// DT $0\le\alpha\le1$. `None`: the model must be stable.
    pub alpha: Option<f64>,
    /// Equilibrate the state coordinates first ([`crate::equil::equilibrate`], SLICOT AB09AD's
    /// `EQUIL = 'S'`): an exact diagonal similarity by powers of two, so the transfer function,
    /// the reduced model's and the certified errors refer to the same system. Default `false`
    /// (chosen by measurement, `docs/performance.md`, "HSV accuracy").
    pub equilibrate: bool,
    /// Refinement of the reported Hankel singular values ([`crate::refine`]; default
    /// [`Refinement::Auto`]), as in [`crate::gramian::GramianOptions::refine`]. The projection
    /// itself uses the unrefined singular vectors.
    pub refine: Refinement,
}

/// A reduced model with everything needed to report on it.
#[derive(Debug, Clone)]
pub struct Reduction {
    /// The reduced model $G_r$ (kept unstable states first, then the reduced stable part).
    pub system: StateSpace,
    /// Total order $r$ of $G_r$ (SLICOT `NR`).
    pub order: usize,
    /// Order $r_s$ of the reduced (α-)stable part.
    pub stable_order: usize,
    /// Number $n_u$ of α-unstable states kept unchanged (SLICOT `NU`; 0 without split).
    pub unstable_order: usize,
    /// Minimal order $n_{\min}$ of the (α-)stable part (HSVs above $\tau_{\min}$).
    pub minimal_order: usize,
    /// Hankel singular values of the (α-)stable part, non-increasing (SLICOT `HSV`).
    pub hsv: Vec<f64>,
    /// A-priori bound $2\sum_{k>r_s}\sigma_k \ge \\|G-G_r\\|_{\mathcal H_\infty}$.
    pub error_bound: f64,
    /// Lower bound $\sigma_{r_s+1}\le\\|G-G_r\\|_{\mathcal H_\infty}$ (0 if nothing was removed).
    pub error_lower_bound: f64,
    /// Method used.
    pub method: Method,
    /// Projection used.
    pub balancing: Balancing,
    /// The slow-mode indicator $\varepsilon\kappa_{\rm slow}$ of the (α-)stable part (as reduced,
    /// i.e. equilibrated when [`ReductionOptions::equilibrate`] is set;
    /// [`crate::refine::slow_mode_indicator`]): the first-order relative sensitivity of the
    /// computed reduced model to rounding (module docs, "The bound and the computed model").
    pub slow_mode_indicator: f64,
    /// The (α-)stable part $G_s$ in real Schur coordinates $(T_s, Z_s^\top B_s, C_sZ_s, D)$.
    stable_schur_model: StateSpace,
    /// Its reduction $G_{s,r}$ (without the kept unstable part).
    reduced_stable: StateSpace,
    /// The balanced truncation $G_k$ of $G_s$ that certifies the error through the tail bound
    /// (module docs, "The certified error"), when that route pays.
    tail_certificate: Option<TailCertificate>,
}

/// $G_k$, $k$ and $\tau_k$ of the balanced-tail route ([`Reduction::hinf_error`]).
#[derive(Debug, Clone)]
struct TailCertificate {
    /// The square-root balanced truncation $G_k$ of order $k$ of $G_s$.
    model: StateSpace,
    /// $\tau_k = 2\sum_{i>k}\hat\sigma_i$.
    tail_bound: f64,
}

/// Which route certified $\\|G-G_r\\|_{\mathcal H_\infty}$ ([`Reduction::hinf_error_profiled`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HinfRoute {
    /// The level-set iteration on the whole error system $G_s - G_{s,r}$ of order $n_s + r_s$.
    Full,
    /// The level-set iteration on $G_k - G_{s,r}$ of order $k + r_s$, widened by the tail bound
    /// $\tau_k = 2\sum_{i>k}\hat\sigma_i\ge\\|G_s - G_k\\|_\infty$ (module docs, "The certified error").
    BalancedTail {
        /// The order $k$ of the balanced truncation $G_k$ (`hinf_certificate_order`).
        order: usize,
        /// $\tau_k$ (`hinf_tail_bound`).
        tail_bound: f64,
    },
}

impl HinfRoute {
    /// `full` or `balanced_tail`.
    pub fn name(self) -> &'static str {
        match self {
            HinfRoute::Full => "full",
            HinfRoute::BalancedTail { .. } => "balanced_tail",
        }
    }

    /// $k$ of the balanced-tail route, `None` for the full one.
    pub fn certificate_order(self) -> Option<usize> {
        match self {
            HinfRoute::Full => None,
            HinfRoute::BalancedTail { order, .. } => Some(order),
        }
    }

    /// $\tau_k$ of the balanced-tail route, `None` for the full one.
    pub fn tail_bound(self) -> Option<f64> {
        match self {
            HinfRoute::Full => None,
            HinfRoute::BalancedTail { tail_bound, .. } => Some(tail_bound),
        }
    }
}

/// What [`Reduction::hinf_error_profiled`] did: the route and the level-set iteration's profile
/// (on the error system of that route).
#[derive(Debug, Clone, PartialEq)]
pub struct HinfErrorProfile {
    /// The route taken.
    pub route: HinfRoute,
    /// The level-set iteration ([`linf_norm_profiled`]) on $G_k - G_{s,r}$ or $G_s - G_{s,r}$.
    pub norm: HinfProfile,
}

/// Relative tolerance of the certified error ([`HinfOptions::rtol`]).
const HINF_RTOL: f64 = 1e-9;

/// $\delta = (n_s + r_s)\,\varepsilon\cdot2\sum_k\sigma_k$ ([`Reduction::evaluation_rounding`]).
fn rounding_level(hsv: &[f64], r: usize) -> f64 {
    let total: f64 = 2.0 * hsv.iter().sum::<f64>();
    (hsv.len() + r) as f64 * f64::EPSILON * total
}

/// The order $k$ of the balanced-tail certificate (module docs, "The certified error"): the
/// smallest $k\ge\max(r_s, 1)$ with
/// $\tau_k = 2\sum_{i>k}\hat\sigma_i\le\tfrac12\max(\mathrm{rtol}\,\sigma_{r_s+1}, \delta)$, if
/// $k + r_s\le(n_s+r_s)/2$; `None` otherwise. Returns $(k, \tau_k)$.
fn certificate_order(hsv: &[f64], r: usize) -> Option<(usize, f64)> {
    let ns = hsv.len();
    let budget = 0.5 * (HINF_RTOL * hsv.get(r).copied().unwrap_or(0.0)).max(rounding_level(hsv, r));
    // tails[k] = 2 sum_{i>k} sigma_i (1-based i), summed from the small end
    let mut tails = vec![0.0; ns + 1];
    for i in (0..ns).rev() {
        tails[i] = tails[i + 1] + 2.0 * hsv[i];
    }
    let k = (r.max(1)..=ns).find(|&k| tails[k] <= budget)?;
    (2 * k + r <= ns).then_some((k, tails[k]))
}

impl Reduction {
    /// Measured $\\|G - G_r\\|_{\mathcal L_\infty}$ (the $\mathcal H_\infty$ norm of the error),
    /// computed from the stable parts: with the split $G = G_s + G_u$ the kept part $G_u$ cancels
    /// exactly, $G - G_r = G_s - G_{s,r}$. Two routes (module docs, "The certified error";
    /// [`hinf_error_profiled`](Self::hinf_error_profiled) says which ran):
    ///
    /// **Full** ([`HinfRoute::Full`]): [`linf_norm`](crate::norms::linf_norm) with relative
    /// tolerance `1e-9` and absolute tolerance the evaluation rounding $\delta$
    /// ([`evaluation_rounding`](Self::evaluation_rounding), [`HinfOptions::abs_tol`]) on the
    /// stable, block-diagonal error model
    /// $\big(\operatorname{diag}(T_s, T_r), [Z_s^\top B_s; Z_r^\top B_r], [C_sZ_s, -C_rZ_r], D - D_r\big)$ in the
    /// real Schur coordinates of $A_s$ (already computed by [`reduce`]) and of $A_r$. No
    /// cancelled unstable modes enter the level-set iteration; $\omega = 0$ and $\omega = \infty$
    /// are evaluated explicitly; the poles come from the Schur form, and each frequency costs one
    /// quasi-triangular back substitution, $O((n_s+r)^2m)$. The fields mean what
    /// [`NormEstimate`] says for [`linf_norm`](crate::norms::linf_norm): `value = lower` is attained
    /// by $\bar\sigma(G_s - G_{s,r})$ at `frequency`, `upper` is certified up to $\delta$.
    ///
    /// **Balanced tail** ([`HinfRoute::BalancedTail`], taken when it pays): the same iteration on
    /// $E_k = G_k - G_{s,r}$ (order $k + r_s$; absolute tolerance its own evaluation rounding
    /// $(k+r_s)\varepsilon\cdot2\sum_{i\le k}\sigma_i$), giving $[\ell_k, u_k]$, attained value
    /// $v_k$ at $\omega_k$; reported:
    /// `upper` $= u_k + \tau_k$, `lower` $= \min(\max(\ell_k - \tau_k, \sigma_{r_s+1}),$ `upper`$)$
    /// ($\sigma_{r_s+1}$ bounds the error of every order-$r_s$ approximation of $G_s$ from below,
    /// the Hankel-norm bound), `value` $= v_k$ clamped to `[lower, upper]` (within $\tau_k$ of a
    /// value $\bar\sigma(G_s - G_{s,r})$ attains at $\omega_k$), `frequency` $= \omega_k$,
    /// `iterations` those on $E_k$. $\tau_k\le\tfrac12\max(10^{-9}\sigma_{r_s+1}, \delta)$ by the
    /// choice of $k$, so the bracket is as tight as the full route's up to $\delta$.
    ///
    /// The absolute tolerance matters when the error is tiny against $\\|G_s\\|$ (a good
    /// reduction: $n = 1000$, $r = 20$ gives $\\|G-G_r\\|\approx10^{-10}\\|G\\|$): the evaluations
    /// then carry rounding noise of relative size up to $10^{-3}$, and a relative tolerance alone
    /// lets that noise start one Hamiltonian eigenvalue problem of order $2(n_s+r)$ after the
    /// other; rises below $\delta$ are taken for noise (a peak missed that way lies within
    /// $\delta$ of the reported value, the resolution of the evaluations).
    ///
    /// The transfer function is that of $G - G_r$ for the model $G_s + G_u$ as split, i.e. up to
    /// the split's rounding, of relative size $\varepsilon$ times
    /// [`AdditiveSplit::coupling_norm`](crate::split::AdditiveSplit::coupling_norm).
    ///
    /// # Errors
    /// Norm failures ([`linf_norm`](crate::norms::linf_norm)).
    pub fn hinf_error(&self) -> Result<NormEstimate> {
        self.hinf_error_profiled().map(|(est, _)| est)
    }

    /// [`hinf_error`](Self::hinf_error), the route it took ([`HinfRoute`]: full or balanced tail,
    /// with $k$ and $\tau_k$) and where its time went ([`HinfProfile`]: level tests, Hamiltonian
    /// eigenvalue time, candidate counts, frequency evaluations).
    ///
    /// # Errors
    /// As [`hinf_error`](Self::hinf_error).
    pub fn hinf_error_profiled(&self) -> Result<(NormEstimate, HinfErrorProfile)> {
        match &self.tail_certificate {
            Some(cert) => self.hinf_error_tail(cert),
            None => self.hinf_error_full_profiled(),
        }
    }

    /// [`hinf_error_profiled`](Self::hinf_error_profiled) forced onto the full route
    /// ([`HinfRoute::Full`]): the level-set iteration on the whole error system
    /// $G_s - G_{s,r}$ of order $n_s + r_s$, whatever the Hankel singular values (for tests and
    /// cross-checks of the balanced-tail route).
    ///
    /// # Errors
    /// As [`hinf_error`](Self::hinf_error).
    pub fn hinf_error_full_profiled(&self) -> Result<(NormEstimate, HinfErrorProfile)> {
        let reduced = self.reduced_stable.in_schur_coordinates()?;
        let e = self.stable_schur_model.sub(&reduced)?;
        let (est, norm) = linf_norm_profiled(
            &e,
            HinfOptions {
                rtol: HINF_RTOL,
                abs_tol: self.evaluation_rounding(),
                ..HinfOptions::default()
            },
        )?;
        Ok((
            est,
            HinfErrorProfile {
                route: HinfRoute::Full,
                norm,
            },
        ))
    }

    /// The balanced-tail route: the level-set iteration on $E_k = G_k - G_{s,r}$, widened by
    /// $\tau_k$ (module docs, "The certified error").
    fn hinf_error_tail(&self, cert: &TailCertificate) -> Result<(NormEstimate, HinfErrorProfile)> {
        let gk = cert.model.in_schur_coordinates()?;
        let reduced = self.reduced_stable.in_schur_coordinates()?;
        let e = gk.sub(&reduced)?;
        let (k, r) = (cert.model.order(), self.stable_order);
        // E_k's own evaluation rounding: (k + r_s) eps * 2 sum_{i<=k} sigma_i
        // (||G_k - D|| <= 2 sum_{i<=k} sigma_i)
        let head: f64 = 2.0 * self.hsv.iter().take(k).sum::<f64>();
        let abs_tol = (k + r) as f64 * f64::EPSILON * head;
        let (ek, norm) = linf_norm_profiled(
            &e,
            HinfOptions {
                rtol: HINF_RTOL,
                abs_tol,
                ..HinfOptions::default()
            },
        )?;
        let tau = cert.tail_bound;
        let upper = ek.upper + tau;
        // sigma_{r_s+1} bounds the error of any approximation of order r_s from below
        // (Hankel-norm bound); G - G_r = G_s - G_{s,r} and G_{s,r} has order r_s.
        let lower = (ek.lower - tau).max(self.error_lower_bound).min(upper);
        let est = NormEstimate {
            value: ek.value.clamp(lower, upper),
            lower,
            upper,
            frequency: ek.frequency,
            iterations: ek.iterations,
        };
        Ok((
            est,
            HinfErrorProfile {
                route: HinfRoute::BalancedTail {
                    order: k,
                    tail_bound: tau,
                },
                norm,
            },
        ))
    }

    /// The rounding level of evaluating the error $G_s - G_{s,r}$ at one frequency,
    /// $\delta = (n_s + r_s)\,\varepsilon\cdot2\sum_k\sigma_k$: the error is a difference of
    /// two transfer functions of size up to $\\|G_s - D\\|_\infty\le2\sum_k\sigma_k$, each
    /// evaluated with a relative error of order $(n_s+r_s)\varepsilon$, so values of
    /// $\bar\sigma(G_s - G_{s,r})$ differing by less than $\delta$ are not distinguished
    /// ([`HinfOptions::abs_tol`] of the full route of [`hinf_error`](Self::hinf_error), the
    /// budget of its balanced-tail route; also the absolute part of
    /// [`BoundComparison::rounding`]).
    pub fn evaluation_rounding(&self) -> f64 {
        rounding_level(&self.hsv, self.stable_order)
    }

    /// Compares a certified error (from [`hinf_error`](Self::hinf_error)) with the a-priori bound
    /// [`error_bound`](Self::error_bound), allowing for the rounding of the certificate and for
    /// the computed model's sensitivity (see [`BoundComparison`] and the module docs, "The bound
    /// and the computed model").
    pub fn compare_error(&self, err: &NormEstimate) -> BoundComparison {
        let (error, bound) = (err.value, self.error_bound);
        let total: f64 = 2.0 * self.hsv.iter().sum::<f64>();
        let rel = if err.lower > 0.0 {
            (err.upper / err.lower - 1.0).max(0.0)
        } else {
            0.0
        };
        let rounding = rel * bound + self.evaluation_rounding();
        let sensitivity = 4.0 * self.slow_mode_indicator * total;
        let excess = (error - bound).max(0.0);
        let status = if excess <= rounding {
            BoundStatus::WithinBound
        } else if excess <= sensitivity {
            BoundStatus::AboveBoundWithinSensitivity
        } else {
            BoundStatus::AboveBound
        };
        let ratio = if bound > 0.0 {
            error / bound
        } else if error > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        BoundComparison {
            error,
            bound,
            ratio,
            excess,
            rounding,
            sensitivity,
            status,
        }
    }
}

/// Where a certified error lies with respect to the a-priori bound ([`BoundComparison`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundStatus {
    /// error $\le$ bound + rounding: as the theory says.
    WithinBound,
    /// Above the bound by more than rounding, but by no more than the computed model's
    /// sensitivity to rounding (module docs, "The bound and the computed model"): expected for
    /// slow, badly conditioned modes; the bound is that of the exact reduction.
    AboveBoundWithinSensitivity,
    /// Above the bound by more than rounding and the sensitivity estimate: not explained by the
    /// first-order analysis.
    AboveBound,
}

impl BoundStatus {
    /// `within_bound`, `above_bound_within_sensitivity` or `above_bound`.
    pub fn name(self) -> &'static str {
        match self {
            BoundStatus::WithinBound => "within_bound",
            BoundStatus::AboveBoundWithinSensitivity => "above_bound_within_sensitivity",
            BoundStatus::AboveBound => "above_bound",
        }
    }
}

/// A certified $\\|G-G_r\\|_{\mathcal H_\infty}$ compared with the a-priori bound
/// $2\sum_{k>r}\sigma_k$ ([`Reduction::compare_error`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundComparison {
    /// The certified error (the attained lower bound of the [`NormEstimate`]).
    pub error: f64,
    /// The a-priori bound [`Reduction::error_bound`].
    pub bound: f64,
    /// `error / bound` ($+\infty$ for a positive error against a zero bound, $0$ for $0/0$).
    pub ratio: f64,
    /// $\max(\text{error} - \text{bound}, 0)$.
    pub excess: f64,
    /// The rounding level of the certified error itself: the norm's relative tolerance
    /// (`upper/lower - 1` of the estimate) times the bound, plus the absolute rounding of
    /// evaluating the error system of order $n_s + r$, $(n_s+r)\,\varepsilon\cdot2\sum_k\sigma_k$
    /// ($\\|G_s - D\\|_\infty\le2\sum_k\sigma_k$).
    pub rounding: f64,
    /// The computed reduced model's first-order sensitivity,
    /// $4\,\varepsilon\kappa_{\rm slow}\cdot2\sum_k\sigma_k$ (the factor 4 for the few
    /// $\varepsilon\\|A\\|$ of the Schur form's backward error).
    pub sensitivity: f64,
    /// The verdict: `excess <= rounding`, `<= max(rounding, sensitivity)`, or above both.
    pub status: BoundStatus,
}

/// Reduces `sys` (see the [module documentation](self)).
///
/// # Errors
/// [`SystemsError::Unstable`] (naming the eigenvalue) when `alpha` is `None` and $A$ is not
/// stable; [`SystemsError::InvalidArgument`] for an order above $n$, a negative/NaN tolerance or
/// an inadmissible `alpha`; [`SystemsError::NoConvergence`] from the Schur form, reordering or
/// SVD; [`dln_linalg::LinalgError::Singular`] if the SPA block $A_{22}$ (CT) or $I-A_{22}$ (DT)
/// is singular.
///
/// # Algorithm
/// $\approx 50n^3$ flops; see the [module documentation](self).
pub fn reduce(sys: &StateSpace, opts: ReductionOptions) -> Result<Reduction> {
    let n = sys.order();
    match opts.order {
        OrderSelection::Fixed(r) if r > n => {
            return Err(SystemsError::InvalidArgument(format!(
                "order {r} exceeds the state dimension {n}"
            )));
        }
        OrderSelection::Tolerance(t) if t.is_nan() || t < 0.0 => {
            return Err(SystemsError::InvalidArgument(format!(
                "tolerance must be non-negative, got {t}"
            )));
        }
        _ => {}
    }
    if let Some(t) = opts.min_tol {
        if t.is_nan() {
            return Err(SystemsError::InvalidArgument("min_tol is NaN".into()));
        }
    }
    let equilibrated;
    let sys = if opts.equilibrate {
        equilibrated = crate::equil::equilibrate(sys)?.0;
        &equilibrated
    } else {
        sys
    };
    let schur = real_schur(sys.a())?;
    let (stable, stable_schur, unstable) = match opts.alpha {
        None => (sys.clone(), schur, None),
        Some(alpha) => {
            check_alpha(sys.sampling(), alpha)?;
            let sp = split_with_schur(sys, schur, alpha)?;
            let ss = sp.stable_schur();
            (sp.stable, ss, Some(sp.unstable))
        }
    };
    let nu = unstable.as_ref().map_or(0, StateSpace::order);
    let order = match opts.order {
        OrderSelection::Fixed(r) => OrderSelection::Fixed(r.saturating_sub(nu)),
        o => o,
    };
    let stable_schur_model = stable.with_schur(&stable_schur)?;
    let part = reduce_stable(&stable, &stable_schur, &stable_schur_model, order, opts)?;
    let slow_mode_indicator = slow_mode_indicator(
        &stable_schur,
        stable.a().norm_l2(),
        time_domain(stable.sampling()),
    );
    let reduced_stable = part.system.clone();
    let system = match unstable {
        Some(u) if nu > 0 => u.parallel(&part.system, 1.0)?,
        _ => part.system,
    };
    let tail: f64 = part.hsv.iter().skip(part.r).sum();
    // The computed G_k equals the truncation of G_s only up to the slow-mode sensitivity
    // 4 eps kappa_slow 2 sum sigma (module docs): the tail route only where that is within the
    // budget too (lf10 at r = 3 is not: its excess over the bound would go unseen).
    let sensitivity = 4.0 * slow_mode_indicator * 2.0 * part.hsv.iter().sum::<f64>();
    let budget = 0.5
        * (HINF_RTOL * part.hsv.get(part.r).copied().unwrap_or(0.0))
            .max(rounding_level(&part.hsv, part.r));
    let s_next = part.hsv.get(part.r).copied().unwrap_or(0.0);
    let tail_certificate = part
        .certificate
        .filter(|_| sensitivity <= budget.max(0.1 * s_next));
    Ok(Reduction {
        order: system.order(),
        system,
        stable_order: part.r,
        unstable_order: nu,
        minimal_order: part.nmin,
        error_bound: 2.0 * tail,
        error_lower_bound: part.hsv.get(part.r).copied().unwrap_or(0.0),
        hsv: part.hsv,
        method: opts.method,
        balancing: opts.balancing,
        slow_mode_indicator,
        stable_schur_model,
        reduced_stable,
        tail_certificate,
    })
}

/// Balanced truncation (square-root) of a stable model: `reduce` with default method.
///
/// # Errors
/// As [`reduce`].
pub fn balanced_truncation(sys: &StateSpace, order: OrderSelection) -> Result<Reduction> {
    reduce(
        sys,
        ReductionOptions {
            order,
            ..Default::default()
        },
    )
}

/// Singular perturbation approximation (square-root) of a stable model.
///
/// # Errors
/// As [`reduce`].
pub fn singular_perturbation(sys: &StateSpace, order: OrderSelection) -> Result<Reduction> {
    reduce(
        sys,
        ReductionOptions {
            order,
            method: Method::SingularPerturbation,
            ..Default::default()
        },
    )
}

/// Minimal (and, in continuous time, balanced) realization of a stable model: removes the states
/// whose HSVs are $\le$ `tol` (default $n\varepsilon\sigma_1$); the negligible HSVs are reported
/// in [`Reduction::hsv`], and $\\|G-G_r\\|_\infty \le 2\sum$ of them.
///
/// # Errors
/// As [`reduce`].
pub fn minimal_realization(sys: &StateSpace, tol: Option<f64>) -> Result<Reduction> {
    reduce(
        sys,
        ReductionOptions {
            order: OrderSelection::Tolerance(0.0),
            min_tol: tol,
            ..Default::default()
        },
    )
}

struct Part {
    system: StateSpace,
    hsv: Vec<f64>,
    r: usize,
    nmin: usize,
    certificate: Option<TailCertificate>,
}

fn orth(m: MatRef<'_, f64>) -> Mat<f64> {
    if m.ncols() == 0 {
        return Mat::zeros(m.nrows(), 0);
    }
    m.qr().compute_thin_Q()
}

fn cols(m: MatRef<'_, f64>, from: usize, to: usize) -> MatRef<'_, f64> {
    m.submatrix(0, from, m.nrows(), to - from)
}

/// Balancing-free projection for the column groups `groups` (each orthonormalized separately).
fn bf_projection(
    f: &GramianFactors,
    svd: &ThinSvd<f64>,
    groups: &[(usize, usize)],
) -> Result<(Mat<f64>, Mat<f64>)> {
    let n = f.s.nrows();
    let k: usize = groups.iter().map(|g| g.1 - g.0).sum();
    let mut x = Mat::<f64>::zeros(n, k);
    let mut y = Mat::<f64>::zeros(n, k);
    let mut off = 0;
    let rt = f.r.transpose();
    for &(a, b) in groups {
        let xs = orth((&f.s * cols(svd.v.as_ref(), a, b)).as_ref());
        let ys = orth((rt * cols(svd.u.as_ref(), a, b)).as_ref());
        x.as_mut().submatrix_mut(0, off, n, b - a).copy_from(&xs);
        y.as_mut().submatrix_mut(0, off, n, b - a).copy_from(&ys);
        off += b - a;
    }
    let yx = y.transpose() * &x;
    let tl = solve(yx.as_ref(), y.transpose())?;
    Ok((tl, x))
}

/// Reduces the stable `sys` with Schur form `schur`; `schur_model` is `sys` in those Schur
/// coordinates. The projections work on `schur_model` with the Gramian factors in Schur
/// coordinates ([`SchurBalancing`]); the reduced model is that of the projections of the module
/// docs applied to `sys` ($Z$ cancels).
fn reduce_stable(
    sys: &StateSpace,
    schur: &RealSchur,
    schur_model: &StateSpace,
    order: OrderSelection,
    opts: ReductionOptions,
) -> Result<Part> {
    let ns = sys.order();
    let bal = SchurBalancing::new(sys, schur, schur_model.clone())?;
    let (model, f, svd) = (&bal.model, &bal.f, &bal.svd);
    let mut hsv = svd.s.clone();
    if opts
        .refine
        .applies(schur, sys.a().norm_l2(), time_domain(sys.sampling()))
    {
        // The refinement works against the original A, with factors in its coordinates.
        let st = transposed_schur(schur);
        let fo = bal.original_factors(schur);
        let d = hsv_corrections(sys, schur, &st, &fo, svd)?;
        for (s, d) in hsv.iter_mut().zip(&d) {
            *s += d;
        }
        hsv.sort_by(|x, y| y.total_cmp(x));
    }
    let s1 = hsv.first().copied().unwrap_or(0.0);
    let tau = match opts.min_tol {
        Some(t) if t > 0.0 => t,
        _ => ns as f64 * f64::EPSILON * s1,
    };
    let nmin = hsv.iter().take_while(|&&x| x > tau).count();
    let r = match order {
        OrderSelection::Fixed(r) => r.min(nmin),
        OrderSelection::Tolerance(t) => hsv.iter().take_while(|&&x| x > t.max(tau)).count(),
    };
    let system = match opts.method {
        Method::Truncation => match opts.balancing {
            Balancing::SquareRoot => bal.square_root_truncation(r)?,
            Balancing::BalancingFree => {
                let (tl, tr) = bf_projection(f, svd, &[(0, r)])?;
                project(model, tl.as_ref(), tr.as_ref())?
            }
        },
        Method::SingularPerturbation => {
            let (tl, tr) = match opts.balancing {
                Balancing::SquareRoot => sr_projection(f, svd, nmin),
                Balancing::BalancingFree => bf_projection(f, svd, &[(0, r), (r, nmin)])?,
            };
            let full = project(model, tl.as_ref(), tr.as_ref())?;
            spa(&full, r)?
        }
    };
    // The balanced truncation G_k that certifies the error through the tail bound
    // (`Reduction::hinf_error`), when that route pays: O(n^2 k).
    let certificate = match certificate_order(&hsv, r) {
        // the square-root projection scales by sigma_k^{-1/2}: the k-th computed singular value must be
        // positive (k may exceed n_min: noise-level states enter G_k, see the module docs)
        Some((k, tail_bound)) if k <= svd.s.len() && svd.s[k - 1] > 0.0 => Some(TailCertificate {
            model: bal.square_root_truncation(k)?,
            tail_bound,
        }),
        _ => None,
    };
    Ok(Part {
        system,
        hsv,
        r,
        nmin,
        certificate,
    })
}

/// Singular perturbation of the realization at the partition `r`.
fn spa(sys: &StateSpace, r: usize) -> Result<StateSpace> {
    let n = sys.order();
    if r == n {
        return Ok(sys.clone());
    }
    let k = n - r;
    let (m, p) = (sys.inputs(), sys.outputs());
    let (a, b, c) = (sys.a(), sys.b(), sys.c());
    let a11 = a.submatrix(0, 0, r, r);
    let a12 = a.submatrix(0, r, r, k);
    let a21 = a.submatrix(r, 0, k, r);
    let a22 = a.submatrix(r, r, k, k);
    let b1 = b.submatrix(0, 0, r, m);
    let b2 = b.submatrix(r, 0, k, m);
    let c1 = c.submatrix(0, 0, p, r);
    let c2 = c.submatrix(0, r, p, k);
    // rhs = [A21 B2]
    let rhs = Mat::from_fn(
        k,
        r + m,
        |i, j| if j < r { a21[(i, j)] } else { b2[(i, j - r)] },
    );
    // CT: X = A22^{-1}[A21 B2], subtract; DT: X = (I - A22)^{-1}[A21 B2], add.
    let (mat, sign) = match sys.sampling() {
        Sampling::Continuous => (a22.to_owned(), -1.0),
        Sampling::Discrete { .. } => (Mat::<f64>::identity(k, k) - a22, 1.0),
    };
    let x = solve(mat.as_ref(), rhs.as_ref())?;
    let xa = x.as_ref().submatrix(0, 0, k, r);
    let xb = x.as_ref().submatrix(0, r, k, m);
    let ar = a11 + (a12 * xa) * faer::Scale(sign);
    let br = b1 + (a12 * xb) * faer::Scale(sign);
    let cr = c1 + (c2 * xa) * faer::Scale(sign);
    let dr = sys.d() + (c2 * xb) * faer::Scale(sign);
    StateSpace::new(ar, br, cr, dr, sys.sampling())
}
