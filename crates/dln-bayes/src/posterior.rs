//! The posterior on a fiber: samples of
//! $$\pi(\mathbf W)\;\propto\;e^{-\beta\kappa\|\mathbf W\|^2/2}\,\omega(\mathbf W)\quad\text{on}\quad
//! \mathcal F_X = \varphi^{-1}(X),\qquad \varphi(\mathbf W) = W_N\cdots W_1,$$
//! with respect to a base measure on the fiber ([`BaseMeasure`]):
//! - [`BaseMeasure::Hausdorff`], $\omega = 1$: the Riemannian volume $d\sigma$ of $\mathcal F_X$ as a
//!   submanifold of the weight space (the paper's (4.5));
//! - [`BaseMeasure::Conditional`], $\omega = 1/J_\varphi$ with
//!   $J_\varphi = \det(d\varphi\,d\varphi^*)^{1/2}$ (determinant of the real linear map, so
//!   $\log J_\varphi = \tfrac{c_F}{2}\log\det_{\mathbb F}\mathcal M$): by the coarea formula
//!   $\int f\,\rho\,d\mathbf W = \int_X\int_{\mathcal F_X} f\rho/J_\varphi\,d\sigma\,dX$, this is the true
//!   conditional law of the Gaussian prior ([`crate::prior`]) given $\varphi(\mathbf W) = X$.
//!
//! # Algorithm (Zappa, Holmes-Cerfon & Goodman, CPAM 2018, "Monte Carlo on manifolds")
//! $\mathcal M = d\varphi\,d\varphi^*$, $\mathcal M(Z) = \sum_jS_jS_j^*ZP_j^*P_j$ on $d_N\times d_0$ matrices
//! ([`NormalOperator`]), is formed as an explicit $d_Nd_0\times d_Nd_0$ matrix and Cholesky-factored
//! once per visited point. The tangent space is $T_{\mathbf W} = \ker d\varphi$ and the normal space
//! is the range of $d\varphi^*$. One step from $\mathbf x\in\mathcal F_X$:
//! 1. **Tangent proposal**: $\mathbf v = \boldsymbol\xi - d\varphi_x^*\mathcal M_x^{-1}d\varphi_x\boldsymbol\xi$,
//!    $\boldsymbol\xi$ with i.i.d. $\mathcal N(0,\sigma^2)$ real coordinates (a Gaussian on $T_x$).
//! 2. **Projection** back to the fiber along the normal space at $\mathbf x$:
//!    $\mathbf y = \mathbf x+\mathbf v+d\varphi_x^*(\Lambda)$ with $\varphi(\mathbf y) = X$, solved by the
//!    quasi-Newton iteration $\Lambda\leftarrow\Lambda-\mathcal M_x^{-1}(\varphi(\mathbf y)-X)$ (a
//!    deterministic map of $(\mathbf x,\mathbf v)$; a failure to converge is a rejection).
//! 3. **Reverse move**: $\mathbf v' $ = tangent projection of $\mathbf x-\mathbf y$ at $\mathbf y$ (then
//!    $\mathbf x-\mathbf y-\mathbf v'$ is normal at $\mathbf y$ by construction).
//! 4. **Metropolis**: accept with probability
//!    $\min\big(1,\ \pi(\mathbf y)e^{-\|\mathbf v'\|^2/2\sigma^2}\big/\pi(\mathbf x)e^{-\|\mathbf v\|^2/2\sigma^2}\big)$,
//!    **and** only if the projection of $\mathbf y+\mathbf v'$ along the normals at $\mathbf y$ returns
//!    to $\mathbf x$ (the reverse-projection check, without which the chain is not reversible
//!    because the projection can have several solutions or none).
//!
//! Each such step satisfies detailed balance for $\pi\,d\sigma$, so the chain is exact for its
//! target; the constraint holds to the Newton tolerance at every state (it does not drift: every
//! projection is onto the fixed $X$).
//!
//! **Discrete moves (ergodicity).** After every step, with probability `flip_probability`, a
//! *junction sign flip* $W_k\to DW_k$, $W_{k+1}\to W_{k+1}D$ with $D = \operatorname{diag}(\pm1)$ having a
//! single $-1$ at a uniformly chosen junction $k\in\\{1,\dots,N-1\\}$ and position. It is an
//! involution and a linear isometry of the weight space that fixes $\varphi$, so it preserves
//! $X$, $\|\mathbf W\|^2$, the Hausdorff measure of the fiber and $J_\varphi$
//! ($d\varphi_{D\mathbf W}\circ D = d\varphi_{\mathbf W}$): a symmetric proposal accepted with probability 1.
//! *Why it suffices (the case claimed):* with square layers and invertible $X$ the fiber is one
//! orbit of $GL(d)^{N-1}$ acting freely, a copy of $GL(d)^{N-1}$. Over $\mathbb C$ it is connected.
//! Over $\mathbb R$ its components are the $2^{N-1}$ sign patterns
//! $(\operatorname{sgn}\det W_1,\dots,\operatorname{sgn}\det W_N)$ with product $\operatorname{sgn}\det X$; the flip
//! at junction $k$ toggles the signs of $W_k$ and $W_{k+1}$, and these toggles connect all such
//! patterns. For $d = 1$, $N = 2$ it switches the two branches of $w_2w_1 = x$. Other shapes (wide
//! hidden layers, rank-deficient $X$ where $d\varphi$ is still onto) are sampled by the same exact
//! kernel, but their connectivity is not claimed here.
//!
//! **Where the fiber is not a manifold** ($d\varphi$ not onto at the start, e.g. $X = 0$ or some
//! rank-deficient $X$ with narrow layers) [`FiberPosterior::sample`] returns
//! [`BayesError::Unsupported`]; proposals that land where $d\varphi$ is not onto are rejected.
//!
//! **Step size.** Unless fixed, $\sigma$ is adapted during burn-in only (Robbins–Monro on
//! $\log\sigma$ towards `target_acceptance`) and frozen afterwards, so the retained chain is a
//! time-homogeneous exact chain.
//!
//! **Constrained HMC.** [`FiberPosterior::sample_hmc`] ([`hmc`], Lelièvre–Rousset–Stoltz 2019)
//! samples the same target with RATTLE trajectories (the same Newton projection, a tangent
//! momentum, the reverse check at every step) and the force $\nabla U$, including
//! $\nabla\log J_\varphi$ ([`log_jacobian_gradient`]) for the conditional measure (measured speed
//! against the random walk: docs/performance.md).
//!
//! **Diagnostics** ([`FiberDiagnostics`]): acceptance rate, effective sample size of
//! $\|\mathbf W\|^2$ by batch means (batches of $\lfloor\sqrt n\rfloor$ over all $n$ post-burn-in
//! states) with the standard error of its mean, the largest constraint residual
//! $\|\varphi(\mathbf W)-X\|_F/\|X\|_F$ over the retained samples, mean $\|\mathbf W\|^2$ and mean
//! moment norm $\|\mathbf G\|$.

use crate::error::{BayesError, Result, positive};
use crate::prior::{c_f, gaussian_coords, real_dimension};
use dln_algebra::{Network, NormalOperator};
use dln_flows::{Observer, Progress};
use dln_linalg::Scalar;
use faer::linalg::solvers::Llt;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Mat, MatRef, Par, Side};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub mod block;
mod choice;
pub mod graph;
pub mod hmc;
mod record;
mod rhat;
pub mod scalar;

pub use choice::FiberSampler;
pub use rhat::split_rhat;
pub use scalar::scalar_fiber_mean_l2_norm_sq;

pub use block::BlockGibbsOptions;
pub use graph::GraphHmcOptions;
pub use hmc::HmcOptions;
use record::ChainRecorder;

/// The base measure on the fiber against which the density $e^{-\beta\kappa\|\mathbf W\|^2/2}$ is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaseMeasure {
    /// The Riemannian volume (Hausdorff measure) $d\sigma$ of $\mathcal F_X$: the paper's (4.5).
    #[default]
    Hausdorff,
    /// $d\sigma/J_\varphi$, $J_\varphi = \det(d\varphi\,d\varphi^*)^{1/2}$: the conditional law of the
    /// Gaussian prior given $\varphi(\mathbf W) = X$ (coarea formula).
    Conditional,
}

impl BaseMeasure {
    /// `"hausdorff"` or `"conditional"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hausdorff => "hausdorff",
            Self::Conditional => "conditional",
        }
    }
}

/// Options of [`FiberPosterior::sample`].
#[derive(Debug, Clone, Copy)]
pub struct FiberMcmcOptions {
    /// Retained samples $S\ge1$. Default 1000.
    pub samples: usize,
    /// Steps discarded first (the step size adapts during them). Default
    /// [`FiberSampler::default_burn_in`] of [`FiberSampler::RandomWalk`].
    pub burn_in: usize,
    /// Keep every `thin`-th state after burn-in ($\ge1$). Default 1.
    pub thin: usize,
    /// Fixed proposal scale $\sigma$ (per real coordinate); `None` adapts it during burn-in from
    /// $\min(1/\sqrt{\beta\kappa}, \|\mathbf W_0\|/\sqrt D)\cdot 2.38/\sqrt{\dim\mathcal F_X}$.
    pub step: Option<f64>,
    /// Acceptance rate the burn-in adaptation aims at. Default 0.3.
    pub target_acceptance: f64,
    /// Probability of a junction sign flip after each step (real networks). Default 0.5.
    pub flip_probability: f64,
    /// Newton stops when $\|\varphi(\mathbf y)-X\|_F\le\mathrm{rtol}\,\|X\|_F$ (raised to the rounding
    /// level $8N\varepsilon\prod_k\|W_k\|_F/\|X\|_F$ of the start if that is larger). Default `1e-12`.
    pub newton_rtol: f64,
    /// Newton iteration cap (a projection that does not converge, or contracts its residual by
    /// less than a half per iteration after the second, is a rejection). Default 60.
    pub newton_max_iter: usize,
    /// The reverse projection must return within $\mathrm{tol}\cdot\|\mathbf x\|$ of $\mathbf x$.
    /// Default `1e-7`.
    pub reverse_tol: f64,
}

impl Default for FiberMcmcOptions {
    fn default() -> Self {
        Self {
            samples: 1000,
            burn_in: FiberSampler::RandomWalk.default_burn_in(),
            thin: 1,
            step: None,
            target_acceptance: 0.3,
            flip_probability: 0.5,
            newton_rtol: 1e-12,
            newton_max_iter: 60,
            reverse_tol: 1e-7,
        }
    }
}

/// What a user needs to trust a fiber chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FiberDiagnostics {
    /// Accepted tangent moves over post-burn-in tangent moves.
    pub acceptance_rate: f64,
    /// Effective sample size of $\|\mathbf W\|^2$ over the $n$ post-burn-in states (batch means).
    pub ess: f64,
    /// Mean of $\|\mathbf W\|^2$ over the post-burn-in states.
    pub mean_l2_norm_sq: f64,
    /// Batch-means standard error of `mean_l2_norm_sq`.
    pub standard_error: f64,
    /// $\max\|\varphi(\mathbf W)-X\|_F/\|X\|_F$ over the retained samples.
    pub max_constraint_residual: f64,
    /// Mean of $\|\mathbf G\|$ over the retained samples.
    pub mean_moment_norm: f64,
    /// The proposal scale $\sigma$ used after burn-in.
    pub step: f64,
    /// Post-burn-in steps ($S\cdot$`thin`).
    pub steps: usize,
    /// Dimension of the fiber (real): $D - c_Fd_Nd_0$.
    pub fiber_dimension: usize,
    /// Post-burn-in proposals whose projection failed (no convergence or $d\varphi$ not onto).
    pub projection_failures: usize,
    /// Post-burn-in proposals that passed the Metropolis test but failed the reverse check.
    pub reverse_failures: usize,
    /// Junction sign flips performed after burn-in.
    pub flips: usize,
    /// RATTLE steps per proposal of the Hamiltonian sampler ([`FiberPosterior::sample_hmc`]); 0 for
    /// the random-walk sampler ([`FiberPosterior::sample`]).
    pub leapfrog_steps: usize,
    /// The split-$\hat R$ of $\|\mathbf W\|^2$ between pooled chains ([`split_rhat`] over the
    /// retained samples of each chain): `Some` only from [`FiberPosterior::sample_chains`] with at
    /// least two chains of at least four samples each; `None` for a single chain.
    pub rhat: Option<f64>,
}

/// A run of the fiber sampler.
#[derive(Debug, Clone)]
pub struct FiberChain<T: Scalar> {
    /// The retained samples.
    pub samples: Vec<Network<T>>,
    /// $X = \varphi(\mathbf W_0)$.
    pub x: Mat<T>,
    /// Diagnostics.
    pub diagnostics: FiberDiagnostics,
}

/// The posterior $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ on a fiber, against a [`BaseMeasure`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FiberPosterior {
    beta: f64,
    kappa: f64,
    measure: BaseMeasure,
}

/// A visited point with its factorized $\mathcal M$.
struct Point<T: Scalar> {
    net: Network<T>,
    /// Cholesky factor $L$ of $[\mathcal M] = LL^*$.
    llt: Mat<T>,
    /// $\log J_\varphi$.
    log_j: f64,
    norm_sq: f64,
}

/// Fixed data of one run.
struct Run<'a, T: Scalar> {
    x: &'a Mat<T>,
    x_norm: f64,
    rtol: f64,
    max_iter: usize,
    /// Newton fails if the residual contracts by less than this factor per iteration (after the
    /// second).
    contraction: f64,
}

/// $\operatorname{vec}(Z)$, columns stacked.
fn vec_of<T: Scalar>(z: MatRef<'_, T>) -> Mat<T> {
    let m = z.nrows();
    Mat::from_fn(m * z.ncols(), 1, |r, _| z[(r % m, r / m)])
}

/// Cholesky factor $L$ of $[\mathcal M] = LL^*$ and $\log J_\varphi = c_F\sum_i\log L_{ii}$; `None` where
/// $d\varphi$ is not onto (to working precision).
fn factor<T: Scalar>(op: &NormalOperator<'_, T>) -> Option<(Mat<T>, f64)> {
    let m = op.matrix();
    if m.nrows() == 0 {
        return Some((m, 0.0));
    }
    let l = Llt::new(m.as_ref(), Side::Lower).ok()?.L().to_owned();
    let diag: Vec<f64> = (0..l.nrows()).map(|i| l[(i, i)].re()).collect();
    let (lo, hi) = diag
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(a, b), &d| (a.min(d), b.max(d)));
    // Pivots of a Cholesky bound the spectrum from inside: a tiny ratio means M is singular to
    // working precision (the fiber is not a manifold there).
    if lo.is_nan() || lo <= 0.0 || (lo / hi).powi(2) <= 1e2 * f64::EPSILON * diag.len() as f64 {
        return None;
    }
    let log_j = c_f::<T>() as f64 * diag.iter().map(|d| d.ln()).sum::<f64>();
    Some((l, log_j))
}

/// $\mathcal M^{-1}R$ from its Cholesky factor (two triangular solves, sequential: no scratch
/// allocation in the hot loop).
fn solve_m<T: Scalar>(l: &Mat<T>, r: MatRef<'_, T>) -> Mat<T> {
    let (m, n) = r.shape();
    let mut v = vec_of(r);
    solve_lower_triangular_in_place(l.as_ref(), v.as_mut(), Par::Seq);
    solve_upper_triangular_in_place(l.adjoint(), v.as_mut(), Par::Seq);
    Mat::from_fn(m, n, |i, j| v[(i + m * j, 0)])
}

fn norm_sq<T: Scalar>(a: &[Mat<T>]) -> f64 {
    a.iter().map(|m| dln_linalg::frob_sq(m.as_ref())).sum()
}

impl<T: Scalar> Point<T> {
    fn new(net: Network<T>) -> Option<Self> {
        let op = NormalOperator::new(&net);
        let (llt, log_j) = factor(&op)?;
        let norm_sq = net.l2_norm_sq();
        Some(Self {
            net,
            llt,
            log_j,
            norm_sq,
        })
    }

    /// Tangent projection $\mathbf v-d\varphi^*\mathcal M^{-1}d\varphi\mathbf v$.
    fn tangent(&self, op: &NormalOperator<'_, T>, v: &[Mat<T>]) -> Vec<Mat<T>> {
        let vr: Vec<MatRef<'_, T>> = v.iter().map(|m| m.as_ref()).collect();
        let z = solve_m(&self.llt, op.differential(&vr).as_ref());
        let n = op.differential_adjoint(z.as_ref());
        v.iter().zip(n).map(|(a, b)| a - b).collect()
    }

    /// Quasi-Newton projection of $\mathbf x+\mathbf v$ onto the fiber along the normals at
    /// $\mathbf x$: returns $\mathbf y$ (or `None`).
    fn project(
        &self,
        op: &NormalOperator<'_, T>,
        v: &[Mat<T>],
        run: &Run<'_, T>,
    ) -> Option<Network<T>> {
        let base: Vec<Mat<T>> = self
            .net
            .layers()
            .iter()
            .zip(v)
            .map(|(a, b)| a + b)
            .collect();
        let mut y = Network::new(base.clone()).ok()?;
        let mut lambda = Mat::<T>::zeros(run.x.nrows(), run.x.ncols());
        let mut prev = f64::INFINITY;
        for it in 0..=run.max_iter {
            let r = y.product() - run.x;
            let res = dln_linalg::frob_sq(r.as_ref()).sqrt() / run.x_norm;
            if !res.is_finite() {
                return None;
            }
            if res <= run.rtol {
                return Some(y);
            }
            // A contraction slower than `run.contraction` per iteration (a step too long for the
            // frozen Jacobian) is a failure: a deterministic rule, so the chain stays exact.
            if it == run.max_iter || (it >= 2 && res > run.contraction * prev) {
                return None;
            }
            prev = res;
            lambda -= solve_m(&self.llt, r.as_ref());
            let n = op.differential_adjoint(lambda.as_ref());
            for (k, (b, nk)) in base.iter().zip(&n).enumerate() {
                let mut wk = y.w_mut(k + 1);
                wk.copy_from(b + nk);
            }
        }
        None
    }
}

/// Batch-means estimate of the effective sample size of a series and the standard error of its
/// mean: batches of $b = \lfloor\sqrt n\rfloor$, $\hat\sigma^2_{\mathrm{BM}} = \frac{b}{a-1}\sum_j(\bar Y_j-\bar Y)^2$,
/// $\mathrm{ESS} = n s^2/\hat\sigma^2_{\mathrm{BM}}$, standard error $\sqrt{\hat\sigma^2_{\mathrm{BM}}/n}$.
/// Returns `(mean, ess, standard_error)`; a constant series has ESS $n$ and error 0.
pub fn batch_means(y: &[f64]) -> (f64, f64, f64) {
    let n = y.len();
    if n == 0 {
        return (f64::NAN, 0.0, f64::NAN);
    }
    let nf = n as f64;
    let mean = y.iter().sum::<f64>() / nf;
    let var = if n > 1 {
        y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0)
    } else {
        0.0
    };
    let b = (nf.sqrt().floor() as usize).max(1);
    let a = n / b;
    if a < 2 || var <= 0.0 {
        return (mean, nf, (var / nf).sqrt());
    }
    let used = &y[..a * b];
    let grand = used.iter().sum::<f64>() / (a * b) as f64;
    let s: f64 = used
        .chunks(b)
        .map(|c| (c.iter().sum::<f64>() / b as f64 - grand).powi(2))
        .sum();
    let sigma2 = b as f64 * s / (a as f64 - 1.0);
    if sigma2 <= 0.0 {
        return (mean, nf, (var / nf).sqrt());
    }
    (mean, nf * var / sigma2, (sigma2 / nf).sqrt())
}

/// $\log J_\varphi(\mathbf W) = \tfrac12\log\det_{\mathbb R}(d\varphi\,d\varphi^*)$ (over $\mathbb C$ this is
/// $\log\det_{\mathbb C}\mathcal M$), from a Cholesky factorization of the explicit
/// $d_Nd_0\times d_Nd_0$ matrix of $\mathcal M$.
///
/// # Errors
/// [`BayesError::Unsupported`] where $d\varphi$ is not onto (to working precision).
pub fn log_jacobian<T: Scalar>(w: &Network<T>) -> Result<f64> {
    let op = NormalOperator::new(w);
    factor(&op).map(|(_, lj)| lj).ok_or_else(not_a_manifold)
}

/// $\nabla_{\mathbf W}\log J_\varphi$, the gradient of $\log J_\varphi = \tfrac{c_F}2\log\det_{\mathbb F}\mathcal M$
/// for the real inner product $\langle\mathbf A,\mathbf B\rangle = \operatorname{Re}\sum_k\operatorname{tr}(A_k^*B_k)$
/// (so over $\mathbb C$ it is the gradient in the $D$ real coordinates).
///
/// **Derivation.** With $P_j = W_{j-1}\cdots W_1$, $S_j = W_N\cdots W_{j+1}$, $A_j = P_j^*P_j$,
/// $B_j = S_jS_j^*$, the matrix of $\mathcal M$ is $[\mathcal M] = \sum_jA_j^\top\otimes B_j$, so with
/// $C = [\mathcal M]^{-1}$ (indices $(i,a)\leftrightarrow i+d_Na$),
/// $d\log\det\mathcal M = \operatorname{tr}(C\,d[\mathcal M]) = \sum_j\operatorname{tr}(G_j\,dA_j)+\operatorname{tr}(H_j\,dB_j)$ with the
/// partial traces $(G_j)_{al} = \sum_{i,k}C_{(k,l),(i,a)}(B_j)_{ik}$ and
/// $(H_j)_{ki} = \sum_{l,a}C_{(k,l),(i,a)}(A_j)_{la}$, both Hermitian. Then
/// $\operatorname{tr}(G\,dA_j) = 2\operatorname{Re}\operatorname{tr}(GP_j^*dP_j)$ and
/// $\operatorname{tr}(H\,dB_j) = 2\operatorname{Re}\operatorname{tr}(S_j^*H\,dS_j)$; expanding
/// $dP_j = \sum_{k<j}W_{j-1}\cdots W_{k+1}\,dW_k\,P_k$ and $dS_j = \sum_{k>j}S_k\,dW_k\,W_{k-1}\cdots W_{j+1}$,
/// $$\nabla_{W_k}\log\det\mathcal M = 2\sum_{j>k}(W_{j-1}\cdots W_{k+1})^*P_jG_jP_k^* +
///   2\sum_{j<k}S_k^*H_jS_j(W_{k-1}\cdots W_{j+1})^*.$$
/// Cost: one inverse of the $d_Nd_0\times d_Nd_0$ matrix (from its Cholesky factor), $2N(d_Nd_0)^2$
/// for the partial traces, $O(N^2)$ products of layers.
///
/// # Errors
/// [`BayesError::Unsupported`] where $d\varphi$ is not onto (to working precision).
pub fn log_jacobian_gradient<T: Scalar>(w: &Network<T>) -> Result<Vec<Mat<T>>> {
    let op = NormalOperator::new(w);
    let (l, _) = factor(&op).ok_or_else(not_a_manifold)?;
    Ok(log_j_gradient(w, &l))
}

/// [`log_jacobian_gradient`] from the Cholesky factor $L$ of $[\mathcal M]$ at `net`.
fn log_j_gradient<T: Scalar>(net: &Network<T>, l: &Mat<T>) -> Vec<Mat<T>> {
    let depth = net.depth();
    let w = net.layers();
    let (m, n) = (net.width(depth), net.width(0));
    let mm = m * n;
    let mut c = Mat::<T>::identity(mm, mm);
    solve_lower_triangular_in_place(l.as_ref(), c.as_mut(), Par::Seq);
    solve_upper_triangular_in_place(l.adjoint(), c.as_mut(), Par::Seq);
    // pre[k] = W_k...W_1 (pre[0] = I), suf[k] = W_N...W_{k+1} (suf[N] = I); P_j = pre[j-1], S_j = suf[j].
    let mut pre = vec![Mat::<T>::identity(n, n)];
    for wk in w {
        let next = wk * pre.last().expect("nonempty");
        pre.push(next);
    }
    let mut suf = vec![Mat::<T>::identity(m, m); depth + 1];
    for k in (0..depth).rev() {
        suf[k] = &suf[k + 1] * &w[k];
    }
    let mut grad: Vec<Mat<T>> = w.iter().map(|a| Mat::zeros(a.nrows(), a.ncols())).collect();
    let two = T::from_f64(2.0);
    for j in 1..=depth {
        let p = &pre[j - 1];
        let s = &suf[j];
        let a = p.adjoint() * p;
        let b = s * s.adjoint();
        let mut g = Mat::<T>::zeros(n, n);
        let mut h = Mat::<T>::zeros(m, m);
        for la in 0..n {
            for aa in 0..n {
                let mut acc_g = T::from_f64(0.0);
                let a_la = a[(la, aa)];
                for i in 0..m {
                    for k in 0..m {
                        let cv = c[(k + m * la, i + m * aa)];
                        acc_g += cv * b[(i, k)];
                        h[(k, i)] += cv * a_la;
                    }
                }
                g[(aa, la)] = acc_g;
            }
        }
        // Layers k < j (1-based): t = (W_{j-1}...W_{k+1})^* P_j G_j, grad W_k += 2 t P_k^*.
        if j >= 2 {
            let mut t = p * &g;
            for k in (1..j).rev() {
                grad[k - 1] += faer::Scale(two) * &(&t * pre[k - 1].adjoint());
                if k > 1 {
                    t = w[k - 1].adjoint() * &t;
                }
            }
        }
        // Layers k > j: v = H_j S_j (W_{k-1}...W_{j+1})^*, grad W_k += 2 S_k^* v.
        if j < depth {
            let mut v = &h * s;
            for k in j + 1..=depth {
                grad[k - 1] += faer::Scale(two) * &(suf[k].adjoint() * &v);
                if k < depth {
                    v = &v * w[k - 1].adjoint();
                }
            }
        }
    }
    let half_cf = T::from_f64(0.5 * c_f::<T>() as f64);
    for g in &mut grad {
        *g = faer::Scale(half_cf) * &*g;
    }
    grad
}

/// Checks the start of a chain; returns $X = \varphi(\mathbf W_0)$, $\|X\|_F$ and the Newton tolerance
/// $\max(\mathrm{rtol}, 8N\varepsilon\prod_k\|W_k\|_F/\|X\|_F)$.
fn start<T: Scalar>(w0: &Network<T>, newton_rtol: f64) -> Result<(Mat<T>, f64, f64)> {
    for k in 1..=w0.depth() {
        dln_linalg::check_finite(w0.w(k))?;
    }
    let x = w0.product();
    let x_norm = dln_linalg::frob_sq(x.as_ref()).sqrt();
    if !(x_norm > 0.0 && x_norm.is_finite()) {
        return Err(BayesError::Unsupported {
            what: "X = W_N...W_1 is zero (or not finite): its fiber is not a manifold at the \
                   origin and its branches do not communicate; no fiber posterior"
                .into(),
        });
    }
    let depth = w0.depth();
    let layer_norms: f64 = (1..=depth)
        .map(|k| dln_linalg::frob_sq(w0.w(k)).sqrt())
        .product();
    let rtol = newton_rtol.max(8.0 * depth as f64 * f64::EPSILON * layer_norms / x_norm);
    Ok((x, x_norm, rtol))
}

fn not_a_manifold() -> BayesError {
    BayesError::Unsupported {
        what: "the differential of W -> W_N...W_1 is not onto at the given weights (d phi d phi^* \
               is singular): the fiber is not a manifold there and has no posterior density"
            .into(),
    }
}

impl FiberPosterior {
    /// The posterior at inverse temperature `beta` and weight decay `kappa` against `measure`.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] unless $\beta,\kappa$ are finite and positive.
    pub fn new(beta: f64, kappa: f64, measure: BaseMeasure) -> Result<Self> {
        positive("beta", beta)?;
        positive("kappa", kappa)?;
        Ok(Self {
            beta,
            kappa,
            measure,
        })
    }

    /// $\beta$.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// $\kappa$.
    pub fn kappa(&self) -> f64 {
        self.kappa
    }

    /// The base measure.
    pub fn measure(&self) -> BaseMeasure {
        self.measure
    }

    /// $\log\pi$ up to its (fiber-dependent) constant against the Hausdorff measure:
    /// $-\tfrac{\beta\kappa}2\|\mathbf W\|^2$, minus $\log J_\varphi$ for the conditional measure.
    ///
    /// # Errors
    /// As [`log_jacobian`] (conditional measure only).
    pub fn log_density<T: Scalar>(&self, w: &Network<T>) -> Result<f64> {
        let base = -0.5 * self.beta * self.kappa * w.l2_norm_sq();
        Ok(match self.measure {
            BaseMeasure::Hausdorff => base,
            BaseMeasure::Conditional => base - log_jacobian(w)?,
        })
    }

    fn log_pi<T: Scalar>(&self, p: &Point<T>) -> f64 {
        let base = -0.5 * self.beta * self.kappa * p.norm_sq;
        match self.measure {
            BaseMeasure::Hausdorff => base,
            BaseMeasure::Conditional => base - p.log_j,
        }
    }

    /// Runs the constrained Metropolis chain (module docs) on the fiber of $X = \varphi(\mathbf W_0)$
    /// from `w0`, seeded by `seed`, reporting progress to `obs` (`t` = steps done, `t_end` = total
    /// steps; a `Break` stops the run with an error).
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] for `samples == 0`, `thin == 0`, a non-positive fixed step,
    /// probabilities outside $[0,1]$ or non-positive tolerances; [`BayesError::Linalg`] for
    /// non-finite weights; [`BayesError::Unsupported`] if $X = 0$ or $d\varphi$ is not onto at
    /// $\mathbf W_0$, or if the run was stopped by the observer.
    pub fn sample<T: Scalar, O>(
        &self,
        w0: &Network<T>,
        opts: &FiberMcmcOptions,
        seed: u64,
        obs: &mut O,
    ) -> Result<FiberChain<T>>
    where
        O: for<'a> Observer<Progress<'a, T>>,
    {
        validate(opts)?;
        let (x, x_norm, rtol) = start(w0, opts.newton_rtol)?;
        let depth = w0.depth();
        let widths = w0.widths();
        let dim = real_dimension::<T>(&widths);
        let fiber_dim = dim.saturating_sub(c_f::<T>() * widths[0] * widths[depth]);
        let run = Run {
            x: &x,
            x_norm,
            rtol,
            max_iter: opts.newton_max_iter,
            contraction: 0.5,
        };
        let mut cur = Point::new(w0.clone()).ok_or_else(not_a_manifold)?;
        let mut sigma = match opts.step {
            Some(s) => s,
            None => {
                let scale = (1.0 / (self.beta * self.kappa))
                    .sqrt()
                    .min((cur.norm_sq / dim as f64).sqrt());
                scale * 2.38 / (fiber_dim.max(1) as f64).sqrt()
            }
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut rec = ChainRecorder::new(
            "fiber posterior",
            opts.samples,
            opts.burn_in,
            opts.thin,
            &x,
            x_norm,
        )?;
        let (mut accepted, mut proj_fail, mut rev_fail, mut flips) =
            (0usize, 0usize, 0usize, 0usize);
        rec.start(obs, &cur.net)?;
        for step in 0..rec.total() {
            let burn = step < opts.burn_in;
            let (acc, outcome) = self.step(&mut cur, sigma, &run, opts, &mut rng);
            if !burn {
                match outcome {
                    Outcome::Accepted => accepted += 1,
                    Outcome::ProjectionFailed => proj_fail += 1,
                    Outcome::ReverseFailed => rev_fail += 1,
                    Outcome::Rejected => {}
                }
            }
            if burn && opts.step.is_none() {
                let gamma = 1.0 / ((step + 1) as f64).powf(0.6);
                sigma *= (gamma * (acc - opts.target_acceptance)).exp();
            }
            if depth >= 2 && rng.random::<f64>() < opts.flip_probability {
                flip(&mut cur.net, &mut rng);
                if !burn {
                    flips += 1;
                }
            }
            rec.record(obs, step, &cur.net, cur.norm_sq)?;
        }
        let r = rec.finish(obs, &cur.net);
        Ok(FiberChain {
            diagnostics: FiberDiagnostics {
                acceptance_rate: accepted as f64 / r.post as f64,
                ess: r.ess,
                mean_l2_norm_sq: r.mean,
                standard_error: r.standard_error,
                max_constraint_residual: r.max_residual,
                mean_moment_norm: r.mean_moment_norm,
                step: sigma,
                steps: r.post,
                fiber_dimension: fiber_dim,
                projection_failures: proj_fail,
                reverse_failures: rev_fail,
                flips,
                leapfrog_steps: 0,
                rhat: None,
            },
            samples: r.samples,
            x,
        })
    }

    /// One tangent Metropolis step; returns the acceptance probability used for adaptation and
    /// what happened.
    fn step<T: Scalar>(
        &self,
        cur: &mut Point<T>,
        sigma: f64,
        run: &Run<'_, T>,
        opts: &FiberMcmcOptions,
        rng: &mut StdRng,
    ) -> (f64, Outcome) {
        let op_x = NormalOperator::new(&cur.net);
        let xi: Vec<Mat<T>> = cur
            .net
            .layers()
            .iter()
            .map(|w| Mat::from_fn(w.nrows(), w.ncols(), |_, _| gaussian_coords(rng, sigma)))
            .collect();
        let v = cur.tangent(&op_x, &xi);
        let Some(y_net) = cur.project(&op_x, &v, run) else {
            return (0.0, Outcome::ProjectionFailed);
        };
        let Some(y) = Point::new(y_net) else {
            return (0.0, Outcome::ProjectionFailed);
        };
        let op_y = NormalOperator::new(&y.net);
        let back: Vec<Mat<T>> = cur
            .net
            .layers()
            .iter()
            .zip(y.net.layers())
            .map(|(a, b)| a - b)
            .collect();
        let v_rev = y.tangent(&op_y, &back);
        let log_alpha = self.log_pi(&y) - self.log_pi(cur)
            + (norm_sq(&v) - norm_sq(&v_rev)) / (2.0 * sigma * sigma);
        let alpha = if log_alpha.is_nan() {
            0.0
        } else {
            log_alpha.min(0.0).exp()
        };
        let u: f64 = rng.random();
        if u >= alpha {
            return (alpha, Outcome::Rejected);
        }
        // Reverse-projection check: from y along its normals with v', Newton must return to x.
        let Some(x_back) = y.project(&op_y, &v_rev, run) else {
            return (alpha, Outcome::ReverseFailed);
        };
        let dist: f64 = x_back
            .layers()
            .iter()
            .zip(cur.net.layers())
            .map(|(a, b)| dln_linalg::frob_sq((a - b).as_ref()))
            .sum::<f64>()
            .sqrt();
        if dist.is_nan() || dist > opts.reverse_tol * cur.norm_sq.sqrt() {
            return (alpha, Outcome::ReverseFailed);
        }
        *cur = y;
        (alpha, Outcome::Accepted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Rejected,
    ProjectionFailed,
    ReverseFailed,
}

/// The junction sign flip $W_k\to DW_k$, $W_{k+1}\to W_{k+1}D$, $D = I - 2e_ie_i^*$, at a uniform
/// junction $k$ and position $i$. Leaves $\varphi$, $\|\mathbf W\|^2$, $\mathcal M$ and $J_\varphi$ unchanged.
/// Returns $(k, i)$.
fn flip<T: Scalar>(net: &mut Network<T>, rng: &mut StdRng) -> (usize, usize) {
    let n = net.depth();
    let k = rng.random_range(1..n);
    let i = rng.random_range(0..net.width(k));
    negate_row(net.w_mut(k), i);
    negate_col(net.w_mut(k + 1), i);
    (k, i)
}

fn negate_row<T: Scalar>(mut w: faer::MatMut<'_, T>, i: usize) {
    let minus = T::from_f64(-1.0);
    for j in 0..w.ncols() {
        w[(i, j)] *= minus;
    }
}

fn negate_col<T: Scalar>(mut w: faer::MatMut<'_, T>, i: usize) {
    let minus = T::from_f64(-1.0);
    for r in 0..w.nrows() {
        w[(r, i)] *= minus;
    }
}

fn stopped() -> BayesError {
    BayesError::Unsupported {
        what: "the fiber sampler was stopped by its observer".into(),
    }
}

fn validate(o: &FiberMcmcOptions) -> Result<()> {
    let bad = |name, value: f64, reason| {
        Err(BayesError::InvalidParameter {
            name,
            value,
            reason,
        })
    };
    if o.samples == 0 {
        return bad("samples", 0.0, "need at least one sample");
    }
    if o.thin == 0 {
        return bad("thin", 0.0, "must be at least 1");
    }
    if let Some(s) = o.step {
        positive("step", s)?;
    }
    if !(0.0..=1.0).contains(&o.flip_probability) {
        return bad("flip_probability", o.flip_probability, "must lie in [0, 1]");
    }
    if !(o.target_acceptance > 0.0 && o.target_acceptance < 1.0) {
        return bad(
            "target_acceptance",
            o.target_acceptance,
            "must lie in (0, 1)",
        );
    }
    positive("newton_rtol", o.newton_rtol)?;
    positive("reverse_tol", o.reverse_tol)?;
    if o.newton_max_iter == 0 {
        return bad("newton_max_iter", 0.0, "must be at least 1");
    }
    Ok(())
}
