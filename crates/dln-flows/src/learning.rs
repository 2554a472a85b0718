//! The learning flow on the balanced manifold, in observable coordinates:
//! $$\dot X = -\mathcal A_{N,X}\big(E'(X)\big),\qquad
//!   \mathcal A_{N,X}(P) = \sum_{p=1}^N (XX^*)^{\frac{N-p}N}\\,P\\,(X^*X)^{\frac{p-1}N}
//!   = U\big(K\circ(U^*PV)\big)V^*,$$
//! with the SVD $X = U\Sigma V^*$ (full bases; $\sigma_i = 0$ beyond the rank) and
//! $K_{ij} = \sum_{p=1}^N\sigma_i^{2(N-p)/N}\sigma_j^{2(p-1)/N}$.
//!
//! At a balanced $\mathbf W$ with $\varphi(\mathbf W) = X$, $d\varphi\\,d\varphi^* = \mathcal A_{N,X}$ (claim 29), so:
//! - full training from a balanced start is the learning flow (claim 28);
//! - the metric $g^N(Z,Z) = \operatorname{Re}\operatorname{Tr}\big(Z^*\mathcal A_{N,X}^{-1}(Z)\big)$ makes
//!   $\varphi:(\mathcal M,\iota)\to(\mathbb M,g^N)$ a Riemannian submersion: the horizontal (minimal-norm) lift of
//!   an $X$-velocity $Z$ is $\delta W_k = (W_N\cdots W_{k+1})^*\\,\mathcal A_{N,X}^{-1}(Z)\\,(W_{k-1}\cdots W_1)^*$, and
//!   $\|\delta\mathbf W\|^2 = g^N(Z,Z)$.
//!
//! With weight decay $\kappa$, the weight-decay velocity $-\kappa\mathbf W$ is normal to the fiber at
//! balanced points ($W_kW_k^* = W_{k+1}^*W_{k+1}$ is the normality condition for $\mathbf V = \mathbf W$) and
//! $d\varphi(\mathbf W) = NX$, so the slow flow of regularized training is
//! $\dot X = -\mathcal A_{N,X}(E'(X)) - \kappa NX$; [`learning_velocity`] includes this term.
//!
//! # Algorithm
//! One SVD of $X$ per evaluation, four products and an $O(d_Nd_0N)$ Hadamard weight; no fractional
//! matrix powers. $K_{ij}$ is summed term by term (all terms are non-negative), which stays accurate
//! for nearly equal $\sigma_i\approx\sigma_j$, where the closed form
//! $(\sigma_i^2-\sigma_j^2)/(\sigma_i^{2/N}-\sigma_j^{2/N})$ cancels.
//!
//! # References
//! Arora, Cohen, Hazan (ICML 2018), Theorem 1; Bah, Rauhut, Terstiege, Westdickenberg (2022);
//! Menon & Yu, arXiv:2509.09088.

use crate::integrator::{Dopri5, Integrator, VectorField};
use crate::loss::Loss;
use crate::observer::{Observer, Progress, Termination};
use crate::options::FlowOptions;
use crate::{FlowError, FlowStats, Result};
use dln_algebra::Network;
use dln_linalg::{LinalgError, Scalar, check_finite};
use faer::{Mat, MatRef, Scale};

/// The operator $\mathcal A_{N,X}$ from one full SVD of $X$.
#[derive(Debug, Clone)]
pub struct LearningOperator<T: Scalar> {
    u: Mat<T>,
    v: Mat<T>,
    /// $\sigma_1\ge\dots$, padded with zeros to $\max(d_N, d_0)$.
    sigma: Vec<f64>,
    k: Mat<f64>,
    depth: usize,
}

impl<T: Scalar> LearningOperator<T> {
    /// Builds $\mathcal A_{N,X}$ for depth $N\ge1$. Singular values below the numerical rank
    /// threshold ([`dln_algebra::moment::numerical_rank`]) are treated as exact zeros.
    ///
    /// # Errors
    /// [`FlowError::Linalg`] for non-finite $X$ or a failed SVD.
    ///
    /// # Panics
    /// If `depth == 0`.
    #[track_caller]
    pub fn new(x: MatRef<'_, T>, depth: usize) -> Result<Self> {
        assert!(depth >= 1, "LearningOperator: depth must be >= 1");
        check_finite(x)?;
        let (m, n) = x.shape();
        let (u, s_vals, v) = if m == 0 || n == 0 {
            (
                Mat::<T>::identity(m, m),
                Vec::new(),
                Mat::<T>::identity(n, n),
            )
        } else {
            let fail = |_| LinalgError::NoConvergence {
                what: "singular value decomposition",
            };
            // For square X the thin SVD already has full bases (and is cheaper in faer).
            let svd = if m == n {
                x.thin_svd().map_err(fail)?
            } else {
                x.svd().map_err(fail)?
            };
            let s = svd.S().column_vector();
            let r = m.min(n);
            (
                svd.U().to_owned(),
                (0..r).map(|i| s[i].re()).collect(),
                svd.V().to_owned(),
            )
        };
        // Singular values at the rounding level are exact zeros (as in the L² lower bound): their
        // fractional powers are not small and carry no information.
        let r = dln_algebra::moment::numerical_rank(&s_vals, m, n);
        let mut sigma = s_vals;
        sigma.truncate(r);
        sigma.resize(m.max(n), 0.0);
        let e = 2.0 / depth as f64;
        // pw[i][q] = (sigma_i^{2/N})^q, q = 0..N-1, with 0^0 = 1.
        let pw: Vec<Vec<f64>> = sigma
            .iter()
            .map(|s| {
                let a = s.powf(e);
                (0..depth).map(|q| a.powi(q as i32)).collect()
            })
            .collect();
        let k = Mat::from_fn(m, n, |i, j| {
            (0..depth).map(|q| pw[i][depth - 1 - q] * pw[j][q]).sum()
        });
        Ok(Self {
            u,
            v,
            sigma,
            k,
            depth,
        })
    }

    /// Depth $N$.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Singular values of $X$, padded with zeros to $\max(d_N,d_0)$.
    pub fn sigma(&self) -> &[f64] {
        &self.sigma
    }

    /// The weights $K_{ij}$ ($d_N\times d_0$).
    pub fn weights(&self) -> MatRef<'_, f64> {
        self.k.as_ref()
    }

    /// $\mathcal A_{N,X}(P) = U(K\circ(U^*PV))V^*$.
    ///
    /// # Panics
    /// If $P$ is not $d_N\times d_0$.
    #[track_caller]
    pub fn apply(&self, p: MatRef<'_, T>) -> Mat<T> {
        assert_eq!(p.shape(), self.k.shape(), "LearningOperator::apply: shape");
        let mut c = self.u.adjoint() * p * &self.v;
        for j in 0..c.ncols() {
            for i in 0..c.nrows() {
                c[(i, j)] = c[(i, j)].scale(self.k[(i, j)]);
            }
        }
        &self.u * c * self.v.adjoint()
    }

    /// $\mathcal A_{N,X}^{-1}(Z) = U((U^*ZV)\oslash K)V^*$.
    ///
    /// # Errors
    /// [`FlowError::SingularOperator`] if $U^*ZV$ has a component (above `1e-13` relative) where
    /// $K_{ij} = 0$, which happens only for rank-deficient $X$ and $N\ge2$.
    ///
    /// # Panics
    /// If $Z$ is not $d_N\times d_0$.
    #[track_caller]
    pub fn apply_inverse(&self, z: MatRef<'_, T>) -> Result<Mat<T>> {
        assert_eq!(
            z.shape(),
            self.k.shape(),
            "LearningOperator::apply_inverse: shape"
        );
        let mut c = self.u.adjoint() * z * &self.v;
        let kmax = self.k.norm_max();
        let floor = 1e-300_f64.max(kmax * f64::EPSILON * f64::EPSILON);
        let zmax = c.norm_max();
        for j in 0..c.ncols() {
            for i in 0..c.nrows() {
                let kij = self.k[(i, j)];
                if kij > floor {
                    c[(i, j)] = c[(i, j)].scale(1.0 / kij);
                } else if c[(i, j)].modulus() <= 1e-13 * zmax {
                    c[(i, j)] = T::from_f64(0.0);
                } else {
                    return Err(FlowError::SingularOperator);
                }
            }
        }
        Ok(&self.u * c * self.v.adjoint())
    }

    /// The metric $g^N(Z,Z) = \operatorname{Re}\operatorname{Tr}(Z^*\mathcal A_{N,X}^{-1}(Z))$.
    ///
    /// # Errors
    /// As [`LearningOperator::apply_inverse`].
    pub fn metric(&self, z: MatRef<'_, T>) -> Result<f64> {
        let a = self.apply_inverse(z)?;
        Ok(dln_linalg::re_inner(z, a.as_ref()))
    }
}

/// The learning-flow velocity $-\mathcal A_{N,X}(E'(X)) - \kappa NX$ (one SVD).
///
/// # Errors
/// As [`LearningOperator::new`].
pub fn learning_velocity<T: Scalar, L: Loss<T> + ?Sized>(
    x: MatRef<'_, T>,
    loss: &L,
    depth: usize,
    kappa: f64,
) -> Result<Mat<T>> {
    let op = LearningOperator::new(x, depth)?;
    let mut v = -op.apply(loss.gradient(x).as_ref());
    if kappa != 0.0 {
        v -= Scale(T::from_f64(kappa * depth as f64)) * x;
    }
    Ok(v)
}

/// The learning flow as a [`VectorField`] on the one-element tuple $(X)$.
#[derive(Debug, Clone)]
pub struct LearningField<L> {
    /// The loss.
    pub loss: L,
    /// Depth $N$.
    pub depth: usize,
    /// Weight decay $\kappa$.
    pub kappa: f64,
}

impl<T: Scalar, L: Loss<T>> VectorField<T> for LearningField<L> {
    fn eval(&mut self, _t: f64, w: &[Mat<T>]) -> Result<Vec<Mat<T>>> {
        Ok(vec![learning_velocity(
            w[0].as_ref(),
            &self.loss,
            self.depth,
            self.kappa,
        )?])
    }
}

/// Samples of a learning-flow run.
#[derive(Debug, Clone)]
pub struct LearningRun<T: Scalar> {
    /// Sample times.
    pub t: Vec<f64>,
    /// $X(t)$.
    pub x: Vec<Mat<T>>,
    /// $E(X(t))$.
    pub loss: Vec<f64>,
    /// Integrator counters.
    pub stats: FlowStats,
    /// Why the run ended.
    pub termination: Termination,
}

/// Integrates the learning flow $\dot X = -\mathcal A_{N,X}(E'(X)) - \kappa NX$ from `x0` and samples it at `t_eval`.
///
/// # Errors
/// SVD failures, [`FlowError::Diverged`] for a non-finite loss, integration failures.
///
/// # Panics
/// If `t_eval` is empty or decreasing, or `depth == 0`.
#[track_caller]
pub fn learning_flow<T: Scalar, L: Loss<T>, O>(
    x0: MatRef<'_, T>,
    loss: &L,
    depth: usize,
    kappa: f64,
    opts: FlowOptions,
    t_eval: &[f64],
    obs: &mut O,
) -> Result<LearningRun<T>>
where
    O: for<'a> Observer<Progress<'a, T>>,
{
    let mut rk = Dopri5::new(
        LearningField { loss, depth, kappa },
        0.0,
        vec![x0.to_owned()],
        opts,
    );
    let traj = rk.solve_dense(t_eval, obs)?;
    let mut out = LearningRun {
        t: traj.t,
        x: Vec::new(),
        loss: Vec::new(),
        stats: traj.stats,
        termination: traj.termination,
    };
    for (t, mut w) in out.t.iter().zip(traj.w) {
        let x = w.pop().expect("one matrix");
        let e = loss.value(x.as_ref());
        if !e.is_finite() {
            return Err(FlowError::Diverged {
                t: *t,
                step: traj.stats.n_steps,
                what: "loss is not finite",
            });
        }
        out.loss.push(e);
        out.x.push(x);
    }
    Ok(out)
}

/// $d\varphi_{\mathbf W}(\delta\mathbf W) = \sum_k (W_N\cdots W_{k+1})\\,\delta W_k\\,(W_{k-1}\cdots W_1)$.
///
/// # Panics
/// If the shapes of `dw` differ from the layers.
#[track_caller]
pub fn product_differential<T: Scalar>(w: &Network<T>, dw: &[Mat<T>]) -> Mat<T> {
    let n = w.depth();
    assert_eq!(dw.len(), n, "product_differential: need N matrices");
    // acc_k = (W_N ... W_{k+1}) dW_k (W_{k-1} ... W_1) accumulated as a Horner sweep:
    // Y_1 = dW_1, Y_k = W_k Y_{k-1} + dW_k P_{k-1}.
    let mut y = dw[0].clone();
    let mut p = w.w(1).to_owned();
    for k in 2..=n {
        assert_eq!(
            dw[k - 1].shape(),
            w.w(k).shape(),
            "product_differential: shape of dW{k}"
        );
        y = w.w(k) * &y + &dw[k - 1] * &p;
        if k < n {
            p = w.w(k) * &p;
        }
    }
    y
}

/// The horizontal (minimal-norm) lift of an $X$-velocity $Z$ to a **balanced** $\mathbf W$:
/// $\delta W_k = (W_N\cdots W_{k+1})^*\\,\mathcal A_{N,X}^{-1}(Z)\\,(W_{k-1}\cdots W_1)^*$, so that
/// $d\varphi(\delta\mathbf W) = Z$, $\delta\mathbf W\perp T_{\mathbf W}\mathcal F_X$ and $\|\delta\mathbf W\|^2 = g^N(Z,Z)$.
///
/// # Errors
/// [`FlowError::NotBalanced`] if $\|\mathbf G\| > \mathrm{tol}\cdot\|\mathbf W\|^2$;
/// [`FlowError::SingularOperator`] for rank-deficient $X$ and $Z$ outside the range of $\mathcal A_{N,X}$.
///
/// # Panics
/// If $Z$ is not $d_N\times d_0$.
#[track_caller]
pub fn horizontal_lift<T: Scalar>(
    w: &Network<T>,
    z: MatRef<'_, T>,
    tol: f64,
) -> Result<Vec<Mat<T>>> {
    let g = w.moment_norm();
    let level = tol * w.l2_norm_sq();
    if g > level {
        return Err(FlowError::NotBalanced {
            moment_norm: g,
            tolerance: level,
        });
    }
    let x = w.product();
    let p = LearningOperator::new(x.as_ref(), w.depth())?.apply_inverse(z)?;
    // Same sweep as the training gradient with E'(X) = P.
    let (_, lift) = crate::training::network_gradient(w.layers(), &FixedGradient(p), 0.0);
    Ok(lift)
}

/// A "loss" whose gradient is a fixed matrix (for reusing the gradient sweep).
struct FixedGradient<T: Scalar>(Mat<T>);

impl<T: Scalar> Loss<T> for FixedGradient<T> {
    fn shape(&self) -> (usize, usize) {
        self.0.shape()
    }
    fn value_and_gradient(&self, _x: MatRef<'_, T>) -> (f64, Mat<T>) {
        (0.0, self.0.clone())
    }
}
