//! Kempf–Ness balancing: the point of least norm in (the closure of) the $G$-orbit of $\mathbf W$.
//!
//! $$\inf_{g\in G}\|g\cdot\mathbf W\|_2^2 = N\sum_i\sigma_i(X)^{2/N}\qquad\text{for every }\mathbf W,$$
//! any widths and any rank: the infimum over the orbit closure is attained on its unique closed
//! orbit, where $\mu = 0$, and every balanced point of the fiber has this norm. The bound is the
//! certificate reported with every solve ([`BalanceInfo::gap`]).
//!
//! Every balanced point of a fiber lies in the closure of the orbit of every point of that fiber
//! (the balanced points form one $K$-orbit, and the closure of each $G$-orbit contains a unique
//! closed orbit, which must contain balanced points of the same fiber). So a balanced point of the
//! fiber is always a limit point in the orbit closure; the methods differ in *which* one.
//!
//! - [`BalanceMethod::Svd`] (closed form, cheapest): the centre $\mathbf C$ of the fiber from one
//!   SVD of $X$ ([`BalancedOrbit::centre`]). Cost: the $N-1$ products forming $X$, one SVD, $N$
//!   scaled copies.
//! - [`BalanceMethod::Orbit`] (closed form, canonical; the default): $\mathbf Q\cdot\mathbf C$ with the
//!   frames $Q_k = \mathrm{polar}(X_kQ_0\Lambda^{-k})$ of [`polar_frames`]. When the orbit is closed
//!   ([`orbit_is_closed`]; e.g. square full rank) this is **exactly** the Kempf–Ness minimizer
//!   $p\cdot\mathbf W$ with $p\in\exp(i\mathfrak k)$ positive definite, the canonical answer, and $p$ is
//!   returned. Cost: $N-1$ thin SVDs more than `Svd`.
//! - [`BalanceMethod::Newton`] (iterative): Newton's method for $\mu(g\cdot\mathbf W)=0$ along the
//!   orbit. At the current point take the generator $\mathbf b$ of $\operatorname{grad}\tfrac12\|\mathbf W\|^2 =
//!   \mathbf w_{\mathbf b}$ ($\mathbf H(\mathbf b) = \mathbf G$; by Lemma 4, $d\mathbf G(\mathbf w_{\mathbf b}) =
//!   2\mathbf G$) and move by $g_k = I-\tau b_k$ with $\tau = \tfrac12$ (first-order cancellation of
//!   $\mathbf G$: the Newton step), halving $\tau$ until $\|\mathbf G\|$ decreases. On square layers
//!   $\mathbf w_{\mathbf b} = \mathbf W - d\varphi^*(Z)$ comes from the normal equation
//!   $\mathcal M(Z) = NX$ of [`crate::fiber::NormalOperator`] (size $d_Nd_0$, independent of $N$),
//!   preconditioned by $\mathcal A_{N,X}^{-1}$ from one SVD of the fixed $X$ (exact at balance, so the
//!   inner iterations fall to a few as Newton converges) and warm-started from the previous $Z$;
//!   $\mathbf b$ follows by the layer recursion ([`crate::fiber::generator_from_tangent`]). Other
//!   widths use the block-preconditioned $\mathbf H$-solve ([`BalanceInfo::h_solves`] counts those
//!   steps). The accumulated $h = \prod g$ is split as $h_k = u_kp_k$ and the answer is
//!   $p\cdot\mathbf W = u^*\cdot(h\cdot\mathbf W)$ — the same point as `Orbit` in exact arithmetic, which
//!   the tests check. When the orbit is not closed (some layer has larger rank than $X$) the
//!   infimum is not attained, $h$ diverges and convergence is linear at best; the solver then
//!   returns the balanced point whose frames are read off the last iterate, reports
//!   `orbit_closed = false`, and [`BalanceInfo::iterate_gap`] says how close the iterate itself came.
//!   It is the reference for the closed forms and the route for studying the iteration; the closed
//!   form stays the fast path (ratios in `docs/performance.md`).
//! - `BalanceMethod::Auto`: `Orbit`.

use crate::fiber::{
    CgOptions, FiberOperator, NormalOperator, NormalPreconditioner, generator_from_tangent,
};
use crate::orbit::BalancedOrbit;
use crate::{Network, Result};
use dln_linalg::{
    Scalar, ScaledReal, frob_norm_scaled, polar, pow2_exponent, rel_diff, scale_pow2,
};
use faer::Mat;
use faer::linalg::solvers::DenseSolveCore;
use std::ops::Not;

/// Which balancing algorithm to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceMethod {
    /// `Orbit` (the canonical answer).
    Auto,
    /// Closed form from the SVD of $X$ (the centre of the fiber).
    Svd,
    /// Canonical minimizer in closed form ([`polar_frames`]): $p\cdot\mathbf W$ with $p$ positive
    /// definite when the orbit is closed, a balanced point of the orbit closure otherwise.
    Orbit,
    /// Newton iteration along the orbit from $\mathbf W$ (the iterative solver).
    Newton,
}

impl BalanceMethod {
    /// Lower-case name (`"auto"`, `"svd"`, `"orbit"`, `"newton"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Svd => "svd",
            Self::Orbit => "orbit",
            Self::Newton => "newton",
        }
    }
}

/// Options of [`balance`].
#[derive(Debug, Clone, Copy)]
pub struct BalanceOptions {
    /// Algorithm. Default [`BalanceMethod::Auto`].
    pub method: BalanceMethod,
    /// Converged when $\|\mu\|\le\mathrm{tol}\cdot\|\mathbf W\|_2^2$. Default `1e-13`.
    pub tol: f64,
    /// Newton iteration cap for `Newton`. Default `60`.
    pub max_iter: usize,
}

impl Default for BalanceOptions {
    fn default() -> Self {
        Self {
            method: BalanceMethod::Auto,
            tol: 1e-13,
            max_iter: 60,
        }
    }
}

/// Diagnostics of a balancing solve: what was done and how good the answer is.
///
/// The `f64` norms are rounded ($+\infty$ or $0$ when a quadratic quantity leaves the `f64` range,
/// e.g. $\|\mathbf W\|_2^2$ for weights $10^{200}$); [`BalanceInfo::norms`] holds them exactly, and
/// [`BalanceInfo::gap`] and `product_rel_change` are computed from the scaled forms.
#[derive(Debug, Clone)]
pub struct BalanceInfo {
    /// The algorithm actually used.
    pub method: BalanceMethod,
    /// Newton iterations (0 for `Svd`).
    pub iterations: usize,
    /// Total inner (conjugate-gradient) iterations of the Newton directions: PCG on the normal
    /// equation, plus CG on $\mathbf H$ where that route was taken.
    pub cg_iterations: usize,
    /// Newton steps whose direction came from the $\mathbf H$-solve rather than the normal equation
    /// (layers not all square, or the normal route failed: PCG not converged or a singular layer in
    /// the recursion for $\mathbf b$). 0 for the closed forms.
    pub h_solves: usize,
    /// For `Newton`: the relative gap ([`BalanceInfo::gap`]) of the last Newton iterate itself,
    /// before the final canonicalisation (closed orbit) or the frames read off it (orbit not
    /// closed). `None` for the closed forms.
    pub iterate_gap: Option<f64>,
    /// Only from [`balance_with_history`] with `Newton`: the relative gap
    /// $(\|\mathbf W_k\|_2^2 - N\sum_i\sigma_i^{2/N})/N\sum_i\sigma_i^{2/N}$ of each Newton iterate
    /// $\mathbf W_0 = \mathbf W$ and of every accepted step $\mathbf W_1, \mathbf W_2, \dots$
    /// (`iterations + 1` values, or `iterations` when the last iteration found no descent step;
    /// the last value is `iterate_gap`). Empty otherwise: recording is off by default and costs
    /// nothing then.
    pub history: Vec<f64>,
    /// Whether the orbit of the input is closed ([`orbit_is_closed`]), i.e. the minimum is attained
    /// in it. For `Orbit` with a closed orbit the answer is $p\cdot\mathbf W$; otherwise it is the
    /// balanced limit point in the orbit closure.
    pub orbit_closed: bool,
    /// $\|\mu(\mathbf W)\|$ of the input.
    pub moment_norm_before: f64,
    /// $\|\mu(\mathbf W')\|$ of the answer.
    pub moment_norm_after: f64,
    /// $\|\mathbf W\|_2^2$ of the input.
    pub l2_norm_sq_before: f64,
    /// $\|\mathbf W'\|_2^2$ of the answer.
    pub l2_norm_sq_after: f64,
    /// $N\sum_i\sigma_i(X)^{2/N}$.
    pub lower_bound: f64,
    /// $\|X'-X\|_F/\|X\|_F$ (computed from the scaled products; $\|X'\|_F$ when $X=0$).
    pub product_rel_change: f64,
    /// The same norms in scaled form, exact at every scale.
    pub norms: ScaledNorms,
}

/// The norms of a balancing solve in scaled form ([`ScaledReal`]).
#[derive(Debug, Clone, Copy)]
pub struct ScaledNorms {
    /// $\|\mu(\mathbf W)\|$.
    pub moment_before: ScaledReal,
    /// $\|\mu(\mathbf W')\|$.
    pub moment_after: ScaledReal,
    /// $\|\mathbf W\|_2^2$.
    pub l2_sq_before: ScaledReal,
    /// $\|\mathbf W'\|_2^2$.
    pub l2_sq_after: ScaledReal,
    /// $N\sum_i\sigma_i(X)^{2/N}$.
    pub lower_bound: ScaledReal,
}

impl BalanceInfo {
    /// Relative gap to the certificate, $(\|\mathbf W'\|^2 - N\sum\sigma_i^{2/N})/N\sum\sigma_i^{2/N}$
    /// (from the scaled norms: representable at every scale; $\|\mathbf W'\|_2^2$ itself when $X=0$).
    pub fn gap(&self) -> f64 {
        let n = &self.norms;
        if n.lower_bound.is_zero() {
            return n.l2_sq_after.to_f64();
        }
        n.l2_sq_after.sub(n.lower_bound).ratio(n.lower_bound)
    }
}

/// A balanced network and how it was obtained.
#[derive(Debug, Clone)]
pub struct Balanced<T: Scalar> {
    /// The balanced network $\mathbf W'$ (same fiber as the input).
    pub network: Network<T>,
    /// For `Orbit` with a closed orbit: the positive-definite $p$ with $\mathbf W' = p\cdot\mathbf W$.
    pub group_element: Option<Vec<Mat<T>>>,
    /// Diagnostics.
    pub info: BalanceInfo,
}

/// Balances $\mathbf W$: a point of least $\|\cdot\|_2^2$ in its fiber and in the closure of its
/// orbit. See the module documentation for the methods.
///
/// # Errors
/// SVD/eigendecomposition failures, a non-finite iterate.
pub fn balance<T: Scalar>(net: &Network<T>, opts: BalanceOptions) -> Result<Balanced<T>> {
    balance_impl(net, opts, false)
}

/// [`balance`], recording the convergence history of the Newton iteration in
/// [`BalanceInfo::history`] (the relative gap of every iterate; the closed-form methods have
/// none). The answer is the same as [`balance`]'s.
///
/// # Errors
/// As [`balance`].
pub fn balance_with_history<T: Scalar>(
    net: &Network<T>,
    opts: BalanceOptions,
) -> Result<Balanced<T>> {
    balance_impl(net, opts, true)
}

fn balance_impl<T: Scalar>(
    net: &Network<T>,
    opts: BalanceOptions,
    record: bool,
) -> Result<Balanced<T>> {
    let out = balance_unchecked(net, opts, record)?;
    // Never lose what the input had: a non-zero X must give finite, non-zero balanced layers.
    for (k, w) in out.network.layers().iter().enumerate() {
        if dln_linalg::check_finite(w.as_ref()).is_err()
            || (out.info.norms.lower_bound.is_zero().not() && pow2_exponent(w.as_ref()).is_none())
        {
            return Err(crate::AlgebraError::Linalg(
                dln_linalg::LinalgError::NotRepresentable {
                    what: if k == 0 {
                        "the balanced layer W1"
                    } else {
                        "a balanced layer"
                    },
                    magnitude: out.info.norms.lower_bound.sqrt(),
                },
            ));
        }
    }
    Ok(out)
}

fn balance_unchecked<T: Scalar>(
    net: &Network<T>,
    opts: BalanceOptions,
    record: bool,
) -> Result<Balanced<T>> {
    let orbit = BalancedOrbit::of(net)?;
    let (x_hat, x_exp) = net.product_scaled();
    let sq = |n: ScaledReal| n.mul(n);
    let before = (net.moment_norm_scaled(), sq(net.l2_norm_scaled()));
    let finish = |w: Network<T>, method, iterations, cg_iterations, closed, g| -> Balanced<T> {
        let (xw_hat, xw_exp) = w.product_scaled();
        let product_rel_change = if x_hat.norm_l2() > 0.0 {
            let aligned = dln_linalg::scale_pow2(xw_hat.as_ref(), xw_exp - x_exp);
            rel_diff(aligned.as_ref(), x_hat.as_ref())
        } else {
            frob_norm_scaled(xw_hat.as_ref())
                .mul(ScaledReal::new(1.0, xw_exp))
                .to_f64()
        };
        let norms = ScaledNorms {
            moment_before: before.0,
            moment_after: w.moment_norm_scaled(),
            l2_sq_before: before.1,
            l2_sq_after: sq(w.l2_norm_scaled()),
            lower_bound: orbit.l2_lower_bound_scaled(),
        };
        let info = BalanceInfo {
            method,
            iterations,
            cg_iterations,
            h_solves: 0,
            iterate_gap: None,
            history: Vec::new(),
            orbit_closed: closed,
            moment_norm_before: norms.moment_before.to_f64(),
            moment_norm_after: norms.moment_after.to_f64(),
            l2_norm_sq_before: norms.l2_sq_before.to_f64(),
            l2_norm_sq_after: norms.l2_sq_after.to_f64(),
            lower_bound: norms.lower_bound.to_f64(),
            product_rel_change,
            norms,
        };
        Balanced {
            network: w,
            group_element: g,
            info,
        }
    };
    if net.depth() == 1 {
        return Ok(finish(
            net.clone(),
            opts.method,
            0,
            0,
            true,
            Some(Vec::new()),
        ));
    }
    let closed = orbit_is_closed(net, orbit.rank())?;
    match opts.method {
        BalanceMethod::Svd => Ok(finish(
            orbit.centre(),
            BalanceMethod::Svd,
            0,
            0,
            closed,
            None,
        )),
        BalanceMethod::Orbit | BalanceMethod::Auto => {
            let frames = polar_frames(net, &orbit)?;
            let w = orbit.point(&frames.q);
            let g = if closed { frames.p } else { None };
            Ok(finish(w, BalanceMethod::Orbit, 0, 0, closed, g))
        }
        BalanceMethod::Newton => {
            // Balancing commutes with a global scalar (the action is linear in W and the moments
            // are quadratic): iterate on 2^{-e}W, with the largest entry in [1/2, 1), and scale back.
            let e = net
                .layers()
                .iter()
                .filter_map(|w| pow2_exponent(w.as_ref()))
                .max()
                .unwrap_or(0);
            let scaled = Network::from_layers_unchecked(
                net.layers()
                    .iter()
                    .map(|w| scale_pow2(w.as_ref(), -e))
                    .collect(),
            );
            let mut run = newton(&scaled, opts, record)?;
            // The gap of an iterate of the scaled run, whose ||W||^2 is l2 * 4^{-e}.
            let lb = orbit.l2_lower_bound_scaled();
            let gap_of = |l2: ScaledReal| {
                let l2 = l2.mul(ScaledReal::new(1.0, 2 * e));
                if lb.is_zero() {
                    l2.to_f64()
                } else {
                    l2.sub(lb).ratio(lb)
                }
            };
            let iterate_gap = gap_of(sq(run.w.l2_norm_scaled()));
            let history: Vec<f64> = run.l2_history.iter().map(|&v| gap_of(v)).collect();
            run.w = Network::from_layers_unchecked(
                run.w
                    .layers()
                    .iter()
                    .map(|w| scale_pow2(w.as_ref(), e))
                    .collect(),
            );
            let mut out = if closed && run.converged {
                // Canonical representative: p·W = u^*·(h·W), h_k = u_k p_k.
                let mut u_star = Vec::with_capacity(run.h.len());
                let mut p = Vec::with_capacity(run.h.len());
                for hk in &run.h {
                    let pol = polar(hk.as_ref())?;
                    u_star.push(pol.unitary.adjoint().to_owned());
                    p.push(pol.positive);
                }
                let w = run.w.act_unitary(&u_star);
                finish(
                    w,
                    BalanceMethod::Newton,
                    run.iterations,
                    run.cg_iterations,
                    true,
                    Some(p),
                )
            } else {
                // The limit is a balanced point of the fiber; read its frames off the last iterate.
                let frames = polar_frames(&run.w, &orbit)?;
                let w = orbit.point(&frames.q);
                finish(
                    w,
                    BalanceMethod::Newton,
                    run.iterations,
                    run.cg_iterations,
                    closed,
                    None,
                )
            };
            out.info.h_solves = run.h_solves;
            out.info.iterate_gap = Some(iterate_gap);
            out.info.history = history;
            Ok(out)
        }
    }
}

/// Hidden frames $Q_k = \mathrm{polar}(A_k)$, $A_k = X_kQ_0\Lambda^{-k}$, and (when every $A_k$ is
/// square) the positive-definite $p_k = (A_kA_k^*)^{-1/2}$.
pub struct PolarFrames<T: Scalar> {
    /// $Q_1,\dots,Q_{N-1}$ ($d_k\times r$, orthonormal columns).
    pub q: Vec<Mat<T>>,
    /// $p_1,\dots,p_{N-1}$, when $r = d_k$ for every hidden $k$ and their entries are representable.
    pub p: Option<Vec<Mat<T>>>,
}

/// The Kempf–Ness frames of $\mathbf W$ in closed form.
///
/// If $\mathbf W = \mathbf A\cdot\mathbf C$ lies in the orbit of the centre (Lemma 1; square full
/// rank), its partial products are $X_k = W_k\cdots W_1 = A_k\Lambda^kQ_0^*$, so
/// $A_k = X_kQ_0\Lambda^{-k}$. The balanced points of the orbit are $\mathbf U\cdot\mathbf C$ with unitary
/// $U_k$, and $p\cdot\mathbf W = (p\mathbf A)\cdot\mathbf C$ is balanced with $p$ positive definite exactly when
/// $p_kA_k$ is unitary, i.e. $p_k = (A_kA_k^*)^{-1/2}$ and $p_kA_k = \mathrm{polar}(A_k)$. Hence the
/// canonical Kempf–Ness minimizer is $\mathbf Q\cdot\mathbf C$ with $Q_k = \mathrm{polar}(A_k)$: no iteration,
/// $N-1$ thin SVDs. For any other $\mathbf W$ (any widths and rank) the same formula, with
/// $Q_0\in\mathbb F^{d_0\times r}$, gives a balanced point of the fiber; it is $K$-equivariant and
/// fixes balanced points. (Ours: the paper proves existence, not this formula.)
///
/// # Errors
/// SVD failures.
pub fn polar_frames<T: Scalar>(
    net: &Network<T>,
    orbit: &BalancedOrbit<T>,
) -> Result<PolarFrames<T>> {
    // Everything in scaled form: X_k = 2^{f_k} \hat X_k, \sigma_i = 2^{E}\hat\sigma_i,
    // \Lambda^{-k} = 2^{-kE/N}\hat\Lambda^{-k}; so A_k = 2^{f_k - kE/N}\hat X_kQ_0\hat\Lambda^{-k}.
    // Q_k = polar(A_k) does not see the positive scalar; p_k = (A_kA_k^*)^{-1/2} scales with it.
    let n = net.depth();
    let r = orbit.rank();
    let (sigma_hat, big_e) = orbit.sigma_scaled();
    let lam_hat: Vec<f64> = sigma_hat.iter().map(|s| s.powf(1.0 / n as f64)).collect();
    let mut q = Vec::with_capacity(n.saturating_sub(1));
    let mut p = Some(Vec::with_capacity(n.saturating_sub(1)));
    let (mut xk, mut fk) = dln_linalg::normalize_pow2(net.w(1));
    for k in 1..n {
        if k > 1 {
            let (wk, ek) = dln_linalg::normalize_pow2(net.w(k));
            let (x, e) = dln_linalg::normalize_pow2((&wk * &xk).as_ref());
            xk = x;
            fk += ek + e;
        }
        let scale: Vec<f64> = lam_hat.iter().map(|l| l.powi(-(k as i32))).collect();
        let a = dln_linalg::scale_cols((&xk * &orbit.v).as_ref(), &scale);
        let (svd, c) = dln_linalg::thin_svd_scaled(a.as_ref())?;
        q.push(&svd.u * svd.v.adjoint());
        if let Some(ps) = p.as_mut() {
            // A_k = 2^{t} U \hat S V^* with t = f_k + c - kE/N, so p_k = 2^{-t} U \hat S^{-1} U^*.
            let t = (fk + c) as f64 - k as f64 * big_e as f64 / n as f64;
            let (ti, tf) = ((-t).floor(), -t - (-t).floor());
            let inv: Option<Vec<f64>> = svd
                .s
                .iter()
                .map(|&s| {
                    (s > 0.0).then_some(())?;
                    ScaledReal::new(tf.exp2() / s, ti as i64).to_f64_checked()
                })
                .collect();
            match inv {
                Some(inv) if a.nrows() == r => {
                    ps.push(dln_linalg::scale_cols(svd.u.as_ref(), &inv) * svd.u.adjoint());
                }
                _ => p = None,
            }
        }
    }
    Ok(PolarFrames { q, p })
}

struct NewtonRun<T: Scalar> {
    w: Network<T>,
    h: Vec<Mat<T>>,
    iterations: usize,
    cg_iterations: usize,
    h_solves: usize,
    converged: bool,
    /// $\|\mathbf W_k\|_2^2$ of every iterate when recording (empty otherwise).
    l2_history: Vec<ScaledReal>,
}

/// The Newton direction $\mathbf b$ at $\mathbf W$: the generator of the tangent projection of
/// $\mathbf W$, $\mathbf w_{\mathbf b} = \operatorname{grad}\tfrac12\|\mathbf W\|^2$, i.e. $\mathbf H(\mathbf b) = \mathbf G$.
///
/// On square layers (where $\ker d\varphi$ is the orbit's tangent space) $\mathbf w_{\mathbf b} =
/// \mathbf W - d\varphi^*(Z)$ with $\mathcal M(Z) = NX$, solved by PCG with $\mathcal A_{N,X}^{-1}$ (exact at
/// balance, so the inner iterations fall to a handful as Newton converges), warm-started from the
/// previous $Z$; $\mathbf b$ then follows from the layer recursion ([`generator_from_tangent`]),
/// refined on the residual $\mathbf w_{\mathbf b} - T\mathbf b$. Otherwise — non-square layers, a failed
/// normal route, or once the normal route's accuracy (the recursion amplifies rounding by the
/// layers' conditioning) stalls the quadratic phase — the block-preconditioned $\mathbf H$-solve.
struct NewtonDirection<T: Scalar> {
    pre: Option<NormalPreconditioner<T>>,
    z: Option<Mat<T>>,
    cg_iterations: usize,
    h_solves: usize,
    /// Use the $\mathbf H$-solve from now on.
    prefer_h: bool,
}

impl<T: Scalar> NewtonDirection<T> {
    fn new(net: &Network<T>) -> Result<Self> {
        let n = net.depth();
        let square = (1..=n).all(|k| net.width(k) == net.width(0));
        // X is fixed along the orbit: one SVD for the whole run.
        let pre = if square {
            Some(NormalPreconditioner::new(net.product().as_ref(), n)?)
        } else {
            None
        };
        Ok(Self {
            pre,
            z: None,
            cg_iterations: 0,
            h_solves: 0,
            prefer_h: false,
        })
    }

    fn at(&mut self, w: &Network<T>, rel_moment: f64) -> Result<Vec<Mat<T>>> {
        // Inexact Newton (Eisenstat–Walker): a forcing term proportional to ||G||/||W||^2 keeps the
        // quadratic rate, and far from balance a loose solve is enough for a descent direction
        // (at d = 128, N = 6 this cuts the inner iterations of the first step from 80 to 21).
        let rtol = (0.1 * rel_moment.min(0.1)).max(1e-14);
        if let (Some(pre), false) = (&self.pre, self.prefer_h) {
            let op = NormalOperator::new(w);
            let (vel, sol) = op.l2_velocity(
                self.z.as_ref().map(|z| z.as_ref()),
                pre,
                CgOptions {
                    rtol,
                    max_iter: 200,
                },
            )?;
            self.cg_iterations += sol.iterations;
            if sol.converged
                && let Some(b) = refined_generator(w, &vel)
            {
                self.z = Some(sol.z);
                return Ok(b);
            }
            self.z = None;
        }
        self.h_solves += 1;
        let mut op = FiberOperator::new(w);
        let sol = op.l2_gradient_generator(CgOptions {
            rtol,
            max_iter: 400,
        })?;
        self.cg_iterations += sol.iterations;
        Ok(sol.b)
    }
}

/// $\mathbf b$ with $T\mathbf b = \mathbf w$ from the layer recursion, with up to two steps of iterative
/// refinement ($\mathbf b \mathrel{+}= $ the recursion of $\mathbf w - T\mathbf b$, kept while the residual
/// halves).
fn refined_generator<T: Scalar>(w: &Network<T>, vel: &[Mat<T>]) -> Option<Vec<Mat<T>>> {
    let residual = |b: &[Mat<T>]| -> (Vec<Mat<T>>, f64) {
        let tb = w.infinitesimal_action(b);
        let r: Vec<Mat<T>> = vel.iter().zip(&tb).map(|(v, x)| v - x).collect();
        let e = crate::network::tuple_norm_sq(&r);
        (r, e)
    };
    let mut b = generator_from_tangent(w, vel)?;
    let (mut r, mut err) = residual(&b);
    for _ in 0..2 {
        let Some(db) = generator_from_tangent(w, &r) else {
            break;
        };
        let trial: Vec<Mat<T>> = b.iter().zip(&db).map(|(x, y)| x + y).collect();
        let (r2, e2) = residual(&trial);
        if e2.is_finite() && e2 < 0.25 * err {
            (b, r, err) = (trial, r2, e2);
        } else {
            break;
        }
    }
    Some(b)
}

/// $\mathbf W\mapsto g\cdot\mathbf W$ with $g_k = I - \tau b_k$ (a first-order retraction of
/// $e^{-\tau\mathbf b}$: the Newton step keeps its quadratic rate, at one LU per junction instead of
/// two matrix exponentials). `None` if some $g_k$ is singular to working precision.
fn newton_step<T: Scalar>(
    w: &Network<T>,
    b: &[Mat<T>],
    tau: f64,
) -> Option<(Network<T>, Vec<Mat<T>>)> {
    let mut g = Vec::with_capacity(b.len());
    let mut g_inv = Vec::with_capacity(b.len());
    for bk in b {
        let d = bk.nrows();
        let gk = Mat::<T>::identity(d, d) - faer::Scale(T::from_f64(tau)) * bk;
        let inv = gk.partial_piv_lu().inverse();
        if !inv.as_ref().is_all_finite() {
            return None;
        }
        g.push(gk);
        g_inv.push(inv);
    }
    Some((w.act_with_inverse(&g, &g_inv), g))
}

fn newton<T: Scalar>(net: &Network<T>, opts: BalanceOptions, record: bool) -> Result<NewtonRun<T>> {
    let n = net.depth();
    let mut w = net.clone();
    let mut h: Vec<Mat<T>> = (1..n)
        .map(|k| Mat::identity(net.width(k), net.width(k)))
        .collect();
    let mut dir = NewtonDirection::new(net)?;
    let mut m = w.moment_norm();
    let mut l2 = w.l2_norm_sq();
    let mut l2_history = Vec::new();
    let sq = |n: ScaledReal| n.mul(n);
    if record {
        l2_history.push(sq(w.l2_norm_scaled()));
    }
    let mut it = 0;
    let mut slow = 0;
    while it < opts.max_iter && m > opts.tol * l2 {
        it += 1;
        let mut accepted = None;
        // A direction from the normal route that admits no descent step (an inaccurate solve or
        // recursion on ill-conditioned layers) is retried once with the H-solve.
        for _attempt in 0..2 {
            let from_h = dir.prefer_h || dir.pre.is_none();
            let b = dir.at(&w, m / l2)?;
            let mut tau = 0.5;
            for _ in 0..30 {
                if let Some((trial, g)) = newton_step(&w, &b, tau) {
                    let mt = trial.moment_norm();
                    if mt.is_finite() && mt < m {
                        accepted = Some((trial, g, mt));
                        break;
                    }
                }
                tau *= 0.5;
            }
            if accepted.is_some() || from_h {
                break;
            }
            dir.prefer_h = true;
        }
        let Some((trial, g, mt)) = accepted else {
            break;
        };
        // Quadratic convergence reduces ||G|| by far more than 1/2 near a closed orbit; a run of
        // slow steps means the infimum is not attained in the orbit.
        slow = if mt > 0.5 * m { slow + 1 } else { 0 };
        // In the quadratic phase a slow step means the direction is no longer accurate enough
        // (the recursion for b amplifies rounding by the layers' conditioning): switch to H.
        if mt > 0.5 * m && m <= 1e-6 * l2 {
            dir.prefer_h = true;
        }
        for (hk, gk) in h.iter_mut().zip(&g) {
            *hk = gk * &*hk;
        }
        w = trial;
        m = mt;
        l2 = w.l2_norm_sq();
        if record {
            l2_history.push(sq(w.l2_norm_scaled()));
        }
        if slow >= 8 {
            break;
        }
    }
    Ok(NewtonRun {
        converged: m <= opts.tol * l2,
        w,
        h,
        iterations: it,
        cg_iterations: dir.cg_iterations,
        h_solves: dir.h_solves,
        l2_history,
    })
}

/// Whether the $G$-orbit of $\mathbf W$ is closed, i.e. contains a balanced point (ours, for the
/// framed linear quiver): every layer has the numerical rank $r$ of $X$.
///
/// A balanced point $\mathbf Q\cdot\mathbf C$ has $\operatorname{rank}W_k = r$ for all $k$, and so does every
/// point of its orbit. Conversely, if all ranks equal $r$ then $\operatorname{im}W_k\oplus\ker W_{k+1}$ is the
/// whole hidden space at every junction, $\mathbf W$ splits into an invertible rank-$r$ chain (a closed
/// orbit) and zero maps, and the orbit is closed. Ranks are numerical (see
/// [`crate::moment::numerical_rank`]), so near the boundary the answer is as reliable as the ranks.
///
/// # Errors
/// SVD failures.
pub fn orbit_is_closed<T: Scalar>(net: &Network<T>, rank_x: usize) -> Result<bool> {
    for w in net.layers() {
        let s = dln_linalg::singular_values(w.as_ref())?;
        if crate::moment::numerical_rank(&s, w.nrows(), w.ncols()) != rank_x {
            return Ok(false);
        }
    }
    Ok(true)
}
