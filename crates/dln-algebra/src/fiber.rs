//! Geometry of the fiber $\mathcal F_X = \\{\mathbf W: W_N\cdots W_1 = X\\}$: the Gram operator
//! $\mathbf H$ of Definition 8, its structured solve, and the orthogonal projections onto the
//! tangent and normal spaces.
//!
//! With $T\mathbf a = \mathbf w_{\mathbf a}$ the infinitesimal action, $\mathbf H = T^*T$ (Lemma 3):
//! $$H_k(\mathbf c) = -W_kc_{k-1}W_k^* + c_kW_kW_k^* + W_{k+1}^*W_{k+1}c_k - W_{k+1}^*c_{k+1}W_{k+1},
//!   \qquad c_0 = c_N = 0,$$
//! block tridiagonal in $k$, self-adjoint for $\operatorname{Re}\operatorname{Tr}$ and positive definite when the
//! action is free. The tangent space is $T_{\mathbf W}\mathcal F_X = \\{\mathbf w_{\mathbf a}\\}$; the
//! orthogonal projection of $\mathbf V$ onto it is $\mathbf w_{\mathbf b}$ with
//! $\mathbf H(\mathbf b) = T^*\mathbf V$, and for $\mathbf V = \mathbf W$ this is Lemma 5:
//! $\operatorname{grad}\tfrac12\|\mathbf W\|^2 = \mathbf w_{\mathbf b}$, $\mathbf H(\mathbf b) = \mathbf G$.
//! The normal space is $\\{\mathbf V: W_kV_k^* = V_{k+1}^*W_{k+1}\\}$.
//!
//! # Algorithm
//! $\mathbf H(\mathbf b) = \mathbf c$ is solved by preconditioned conjugate gradients in the
//! $\operatorname{Re}\operatorname{Tr}$ inner product. One application of $\mathbf H$ costs $O(\sum_k d_k^2 d_{k\pm1})$
//! (a few products per junction), never the $O(N d^6)$ of block elimination. The preconditioner is
//! the block-diagonal part $c_k\mapsto c_kS_k + T_kc_k$, $S_k = W_kW_k^*$, $T_k = W_{k+1}^*W_{k+1}$,
//! inverted exactly in the eigenbases of $S_k$ and $T_k$ (elementwise division by
//! $\beta_i+\alpha_j$). The cost is linear in $N$.

use crate::network::tuple_inner;
use crate::{AlgebraError, Network, Result};
use dln_linalg::{HermitianEigen, Scalar};
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::traits::Conjugate;
use faer::{Accum, Mat, MatRef, Par};

/// Options for the conjugate-gradient solve of $\mathbf H(\mathbf b) = \mathbf c$.
#[derive(Debug, Clone, Copy)]
pub struct CgOptions {
    /// Stop when $\|\mathbf c - \mathbf H\mathbf b\| \le \mathrm{rtol}\,\|\mathbf c\|$. Default `1e-13`.
    pub rtol: f64,
    /// Iteration cap. Default `500`.
    pub max_iter: usize,
}

impl Default for CgOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-13,
            max_iter: 500,
        }
    }
}

/// Outcome of a conjugate-gradient solve.
#[derive(Debug, Clone)]
pub struct CgSolution<T: Scalar> {
    /// The solution $\mathbf b$ (entry `k-1` is $b_k$).
    pub b: Vec<Mat<T>>,
    /// Iterations used.
    pub iterations: usize,
    /// Final relative residual $\|\mathbf c - \mathbf H\mathbf b\|/\|\mathbf c\|$.
    pub residual: f64,
    /// Normwise backward error $\|\mathbf c-\mathbf H\mathbf b\|/(\|\mathbf H\|\,\|\mathbf b\| + \|\mathbf c\|)$ with
    /// $\|\mathbf H\|$ bounded by $2\max_k(\|S_k\|_F+\|T_k\|_F)$: small when $\mathbf b$ solves a nearby
    /// system, the meaningful measure when $\mathbf H$ is singular or nearly so.
    pub backward_error: f64,
    /// Whether `residual <= rtol`, or the solve stalled (a search direction of vanishing
    /// curvature) with `backward_error <= rtol`.
    pub converged: bool,
}

struct BlockPreconditioner<T: Scalar> {
    /// Eigendecomposition of $T_k = W_{k+1}^*W_{k+1}$ (left factor).
    t: HermitianEigen<T>,
    /// Eigendecomposition of $S_k = W_kW_k^*$ (right factor).
    s: HermitianEigen<T>,
    floor: f64,
    fallback: f64,
}

impl<T: Scalar> BlockPreconditioner<T> {
    fn apply(&self, r: MatRef<'_, T>) -> Mat<T> {
        let ut = &self.t.vectors;
        let us = &self.s.vectors;
        let mut m = ut.adjoint() * r * us;
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                let den = self.t.values[i].max(0.0) + self.s.values[j].max(0.0);
                // Where both Gram matrices vanish the block-diagonal part is singular; use the
                // operator scale there so that the preconditioner stays positive definite (a
                // singular preconditioner breaks CG on the singular H of a non-free action).
                let den = if den > self.floor { den } else { self.fallback };
                m[(i, j)] = m[(i, j)].scale(1.0 / den);
            }
        }
        ut * m * us.adjoint()
    }
}

/// The Gram operator $\mathbf H$ of the fiber metric at a network $\mathbf W$.
pub struct FiberOperator<'a, T: Scalar> {
    net: &'a Network<T>,
    /// $S_k = W_kW_k^*$, entry `k-1`.
    s: Vec<Mat<T>>,
    /// $T_k = W_{k+1}^*W_{k+1}$, entry `k-1`.
    t: Vec<Mat<T>>,
    pre: Option<Vec<BlockPreconditioner<T>>>,
}

impl<'a, T: Scalar> FiberOperator<'a, T> {
    /// Builds $\mathbf H$ at $\mathbf W$ (forms the $2(N-1)$ Gram matrices).
    pub fn new(net: &'a Network<T>) -> Self {
        let n = net.depth();
        let s = (1..n).map(|k| net.w(k) * net.w(k).adjoint()).collect();
        let t = (1..n)
            .map(|k| net.w(k + 1).adjoint() * net.w(k + 1))
            .collect();
        Self {
            net,
            s,
            t,
            pre: None,
        }
    }

    /// The network $\mathbf W$.
    pub fn network(&self) -> &Network<T> {
        self.net
    }

    /// $\mathbf H(\mathbf c)$ (Definition 8).
    ///
    /// # Panics
    /// If `c` does not have $N-1$ square entries of sizes $d_1,\dots,d_{N-1}$.
    #[track_caller]
    pub fn apply(&self, c: &[Mat<T>]) -> Vec<Mat<T>> {
        let n = self.net.depth();
        assert_eq!(c.len(), n - 1, "FiberOperator::apply: need N-1 blocks");
        (1..n)
            .map(|k| {
                let mut h = &c[k - 1] * &self.s[k - 1];
                h += &self.t[k - 1] * &c[k - 1];
                if k >= 2 {
                    let wk = self.net.w(k);
                    h -= wk * &c[k - 2] * wk.adjoint();
                }
                if k + 1 < n {
                    let wk1 = self.net.w(k + 1);
                    h -= wk1.adjoint() * &c[k] * wk1;
                }
                h
            })
            .collect()
    }

    fn preconditioner(&mut self) -> Result<&[BlockPreconditioner<T>]> {
        if self.pre.is_none() {
            let scale = self
                .s
                .iter()
                .chain(&self.t)
                .map(|m| m.norm_l2())
                .fold(0.0, f64::max);
            let floor = 1e-10 * scale.max(f64::MIN_POSITIVE);
            let mut pre = Vec::with_capacity(self.s.len());
            for (s, t) in self.s.iter().zip(&self.t) {
                pre.push(BlockPreconditioner {
                    t: HermitianEigen::new(t.as_ref())?,
                    s: HermitianEigen::new(s.as_ref())?,
                    floor,
                    fallback: scale.max(f64::MIN_POSITIVE),
                });
            }
            self.pre = Some(pre);
        }
        Ok(self.pre.as_deref().expect("just built"))
    }

    /// Solves $\mathbf H(\mathbf b) = \mathbf c$ by preconditioned conjugate gradients, starting from
    /// `guess` (or zero).
    ///
    /// When $\mathbf H$ is singular (the action is not free, e.g. rank-deficient $X$) and $\mathbf c$
    /// lies in its range (as $\mathbf G$ and every $T^*\mathbf V$ do), CG still converges to a
    /// solution. A solve that stops at `max_iter` is returned with `converged = false`.
    ///
    /// # Errors
    /// Eigendecomposition failures when building the preconditioner.
    ///
    /// # Panics
    /// If the block shapes are wrong.
    #[track_caller]
    pub fn solve(
        &mut self,
        c: &[Mat<T>],
        guess: Option<&[Mat<T>]>,
        opts: CgOptions,
    ) -> Result<CgSolution<T>> {
        let nb = self.net.depth() - 1;
        assert_eq!(c.len(), nb, "FiberOperator::solve: need N-1 blocks");
        let c_norm = tuple_inner(c, c).sqrt();
        if nb == 0 || c_norm == 0.0 {
            let zero = c.iter().map(|m| Mat::zeros(m.nrows(), m.ncols())).collect();
            return Ok(CgSolution {
                b: zero,
                iterations: 0,
                residual: 0.0,
                backward_error: 0.0,
                converged: true,
            });
        }
        let x0: Vec<Mat<T>> = match guess {
            Some(g) => g.to_vec(),
            None => c.iter().map(|m| Mat::zeros(m.nrows(), m.ncols())).collect(),
        };
        let first = self.cg_pass(c, x0, opts, true)?;
        if first.converged {
            return Ok(first);
        }
        // The block preconditioner can make CG stall on a singular H (non-free action); plain CG,
        // warm-started from the best preconditioned iterate, does not share that failure mode.
        let mut second = self.cg_pass(c, first.b.clone(), opts, false)?;
        second.iterations += first.iterations;
        Ok(if second.residual < first.residual {
            second
        } else {
            CgSolution {
                iterations: second.iterations,
                ..first
            }
        })
    }

    fn cg_pass(
        &mut self,
        c: &[Mat<T>],
        mut x: Vec<Mat<T>>,
        opts: CgOptions,
        precondition: bool,
    ) -> Result<CgSolution<T>> {
        let nb = c.len();
        let c_norm = tuple_inner(c, c).sqrt();
        let hx = self.apply(&x);
        let mut r: Vec<Mat<T>> = c.iter().zip(&hx).map(|(ci, hi)| ci - hi).collect();
        let pre = |this: &mut Self, r: &[Mat<T>]| -> Result<Vec<Mat<T>>> {
            if !precondition {
                return Ok(r.to_vec());
            }
            let p = this.preconditioner()?;
            Ok(r.iter()
                .zip(p)
                .map(|(ri, pi)| pi.apply(ri.as_ref()))
                .collect())
        };
        let mut z = pre(self, &r)?;
        let mut p = z.clone();
        let mut rz = tuple_inner(&r, &z);
        let mut res = tuple_inner(&r, &r).sqrt() / c_norm;
        // CG on a (nearly) singular H can lose its orthogonality at the rounding level and then
        // diverge: keep the best iterate seen.
        let mut best = (res, x.clone());
        let mut it = 0;
        while res > opts.rtol && it < opts.max_iter {
            it += 1;
            let hp = self.apply(&p);
            let php = tuple_inner(&p, &hp);
            if php.is_nan() || php <= 0.0 {
                break; // direction in the kernel: the residual cannot be reduced further
            }
            let alpha = rz / php;
            for k in 0..nb {
                x[k] += faer::Scale(T::from_f64(alpha)) * &p[k];
                r[k] -= faer::Scale(T::from_f64(alpha)) * &hp[k];
            }
            res = tuple_inner(&r, &r).sqrt() / c_norm;
            if !res.is_finite() {
                return Err(AlgebraError::NoConvergence {
                    what: "conjugate gradients on H",
                    iterations: it,
                    residual: res,
                });
            }
            if res < best.0 {
                best = (res, x.clone());
            } else if res > 1e3 * best.0 {
                break;
            }
            if res <= opts.rtol {
                break;
            }
            z = pre(self, &r)?;
            let rz_new = tuple_inner(&r, &z);
            let beta = rz_new / rz;
            rz = rz_new;
            for k in 0..nb {
                p[k] = &z[k] + faer::Scale(T::from_f64(beta)) * &p[k];
            }
        }
        Ok(self.solution(best, c_norm, it, opts.rtol))
    }

    /// CGLS on $\min_{\mathbf b}\|T\mathbf b - \mathbf V\|$ (the same normal equations
    /// $\mathbf H\mathbf b = T^*\mathbf V$, but with the residual kept in weight space, so its accuracy is
    /// governed by $\operatorname{cond}(T)$ rather than $\operatorname{cond}(\mathbf H) = \operatorname{cond}(T)^2$).
    fn cgls_pass(
        &mut self,
        v: &[MatRef<'_, T>],
        mut x: Vec<Mat<T>>,
        opts: CgOptions,
    ) -> Result<CgSolution<T>> {
        let net = self.net;
        let c = net.infinitesimal_action_adjoint(v);
        let c_norm = tuple_inner(&c, &c).sqrt();
        let tx = net.infinitesimal_action(&x);
        let mut s: Vec<Mat<T>> = v.iter().zip(&tx).map(|(vi, ti)| vi - ti).collect();
        let sv: Vec<MatRef<'_, T>> = s.iter().map(|m| m.as_ref()).collect();
        let mut r = net.infinitesimal_action_adjoint(&sv);
        let mut p = r.clone();
        let mut gamma = tuple_inner(&r, &r);
        let mut res = gamma.sqrt() / c_norm;
        let mut best = (res, x.clone());
        let mut it = 0;
        while res > opts.rtol && it < opts.max_iter {
            it += 1;
            let q = net.infinitesimal_action(&p);
            let qq = tuple_inner(&q, &q);
            if qq.is_nan() || qq <= 0.0 {
                break;
            }
            let alpha = gamma / qq;
            for k in 0..x.len() {
                x[k] += faer::Scale(T::from_f64(alpha)) * &p[k];
            }
            for (si, qi) in s.iter_mut().zip(&q) {
                *si -= faer::Scale(T::from_f64(alpha)) * qi;
            }
            let sv: Vec<MatRef<'_, T>> = s.iter().map(|m| m.as_ref()).collect();
            r = net.infinitesimal_action_adjoint(&sv);
            let gamma_new = tuple_inner(&r, &r);
            res = gamma_new.sqrt() / c_norm;
            if !res.is_finite() {
                return Err(AlgebraError::NoConvergence {
                    what: "CGLS on the fiber",
                    iterations: it,
                    residual: res,
                });
            }
            if res < best.0 {
                best = (res, x.clone());
            }
            let beta = gamma_new / gamma;
            gamma = gamma_new;
            for k in 0..p.len() {
                p[k] = &r[k] + faer::Scale(T::from_f64(beta)) * &p[k];
            }
        }
        Ok(self.solution(best, c_norm, it, opts.rtol))
    }

    /// Solves the normal equations $\mathbf H\mathbf b = T^*\mathbf V$ of $\min_{\mathbf b}\|\mathbf w_{\mathbf b}-\mathbf V\|$:
    /// preconditioned CG first; if it stalls (singular or nearly singular $\mathbf H$), CGLS from its
    /// best iterate.
    ///
    /// # Errors
    /// As [`FiberOperator::solve`].
    ///
    /// # Panics
    /// If `v` does not have the shapes of the layers.
    #[track_caller]
    pub fn solve_least_squares(
        &mut self,
        v: &[MatRef<'_, T>],
        guess: Option<&[Mat<T>]>,
        opts: CgOptions,
    ) -> Result<CgSolution<T>> {
        let c = self.net.infinitesimal_action_adjoint(v);
        let nb = c.len();
        let c_norm = tuple_inner(&c, &c).sqrt();
        if nb == 0 || c_norm == 0.0 {
            return self.solve(&c, guess, opts);
        }
        let x0: Vec<Mat<T>> = match guess {
            Some(g) => g.to_vec(),
            None => c.iter().map(|m| Mat::zeros(m.nrows(), m.ncols())).collect(),
        };
        let first = self.cg_pass(&c, x0, opts, true)?;
        if first.converged {
            return Ok(first);
        }
        let mut second = self.cgls_pass(
            v,
            first.b.clone(),
            CgOptions {
                max_iter: opts.max_iter.max(4 * first.iterations),
                ..opts
            },
        )?;
        second.iterations += first.iterations;
        Ok(if second.residual < first.residual {
            second
        } else {
            CgSolution {
                iterations: second.iterations,
                ..first
            }
        })
    }

    /// Packages the best iterate of a (PCG or CGLS) pass with its backward error
    /// $\|\mathbf c-\mathbf H\mathbf b\|/(\|\mathbf H\|\,\|\mathbf b\|+\|\mathbf c\|)$, $\|\mathbf H\|\le2\max_k(\|S_k\|_F+\|T_k\|_F)$.
    fn solution(
        &self,
        best: (f64, Vec<Mat<T>>),
        c_norm: f64,
        iterations: usize,
        rtol: f64,
    ) -> CgSolution<T> {
        let (residual, b) = best;
        let h_norm = 2.0
            * self
                .s
                .iter()
                .zip(&self.t)
                .map(|(s, t)| s.norm_l2() + t.norm_l2())
                .fold(0.0, f64::max);
        let backward_error = residual * c_norm / (h_norm * tuple_inner(&b, &b).sqrt() + c_norm);
        let converged = residual <= rtol || backward_error <= rtol;
        CgSolution {
            b,
            iterations,
            residual,
            backward_error,
            converged,
        }
    }

    /// Lemma 5: the $\mathbf b$ with $\mathbf H(\mathbf b) = \mathbf G$, so that
    /// $\operatorname{grad}_{\mathcal F_X}\tfrac12\|\mathbf W\|^2 = \mathbf w_{\mathbf b}$.
    ///
    /// # Errors
    /// As [`FiberOperator::solve`].
    pub fn l2_gradient_generator(&mut self, opts: CgOptions) -> Result<CgSolution<T>> {
        let net = self.net;
        let w: Vec<MatRef<'_, T>> = net.layers().iter().map(|m| m.as_ref()).collect();
        self.solve_least_squares(&w, None, opts)
    }

    /// Orthogonal projection of $\mathbf V$ onto $T_{\mathbf W}\mathcal F_X$: returns
    /// $(\mathbf w_{\mathbf b}, \mathbf b)$ with $\mathbf H(\mathbf b) = T^*\mathbf V$.
    ///
    /// # Errors
    /// As [`FiberOperator::solve`].
    ///
    /// # Panics
    /// If `v` does not have the shapes of the layers.
    #[track_caller]
    pub fn project_tangent(
        &mut self,
        v: &[MatRef<'_, T>],
        opts: CgOptions,
    ) -> Result<(Vec<Mat<T>>, CgSolution<T>)> {
        let sol = self.solve_least_squares(v, None, opts)?;
        Ok((self.net.infinitesimal_action(&sol.b), sol))
    }

    /// Orthogonal projection of $\mathbf V$ onto the normal space $(T_{\mathbf W}\mathcal F_X)^\perp$,
    /// $\mathbf V - \mathbf w_{\mathbf b}$.
    ///
    /// # Errors
    /// As [`FiberOperator::solve`].
    ///
    /// # Panics
    /// If `v` does not have the shapes of the layers.
    #[track_caller]
    pub fn project_normal(&mut self, v: &[MatRef<'_, T>], opts: CgOptions) -> Result<Vec<Mat<T>>> {
        let (tan, _) = self.project_tangent(v, opts)?;
        Ok(v.iter().zip(tan).map(|(vi, ti)| vi - &ti).collect())
    }
}

/// Products of at most this many multiply-adds ($128^3$) run on one thread. At d = 64 a product takes
/// tens of microseconds, and faer's default (its thread pool from $2^{15}$ multiply-adds on) costs a
/// comparable time per product in synchronisation — and far more on a loaded machine, where every
/// product waits for a descheduled worker (measured in `docs/performance.md`, "normal-equation
/// solve": the normal route's time per solve at d = 64).
const SEQUENTIAL_FLOPS: usize = 1 << 21;

/// The parallelism for an $m\times k$ by $k\times n$ product: sequential up to [`SEQUENTIAL_FLOPS`],
/// faer's global setting above.
fn par_for(m: usize, k: usize, n: usize) -> Par {
    if m.saturating_mul(k).saturating_mul(n) <= SEQUENTIAL_FLOPS {
        Par::Seq
    } else {
        faer::get_global_parallelism()
    }
}

/// $AB$ with the parallelism of [`par_for`].
fn mul<T: Scalar, L: Conjugate<Canonical = T>, R: Conjugate<Canonical = T>>(
    a: MatRef<'_, L>,
    b: MatRef<'_, R>,
) -> Mat<T> {
    let mut out = Mat::<T>::zeros(a.nrows(), b.ncols());
    let par = par_for(a.nrows(), a.ncols(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, T::from_f64(1.0), par);
    out
}

/// The preconditioner $\mathcal A_{N,X}^{-1}$ of the normal equation, from one (full) SVD of $X$.
///
/// With $X = U\Sigma V^*$ and $\lambda_i = \sigma_i^{2/N}$ ($\sigma_i = 0$ beyond the rank), the normal
/// operator at any balanced point of the fiber is
/// $$\mathcal A_{N,X}(Z) = U\big(K\circ(U^*ZV)\big)V^*,\qquad K_{ij} = \sum_{p=1}^{N}\lambda_i^{N-p}\lambda_j^{p-1},$$
/// (Hadamard form; the sum, not the quotient $(\sigma_i^2-\sigma_j^2)/(\lambda_i-\lambda_j)$, so nearly
/// equal $\sigma$ lose nothing). $X$ is fixed along the balancing flows, so this is computed once per
/// flow and becomes the exact inverse as the flow balances. Where $K_{ij}$ vanishes (both
/// $\sigma_i = \sigma_j = 0$: the kernel of $\mathcal A_{N,X}$ for rank-deficient $X$) the operator scale
/// $K_{11}$ is used instead, keeping the preconditioner positive definite.
#[derive(Debug, Clone)]
pub struct NormalPreconditioner<T: Scalar> {
    /// $U$, $d_N\times d_N$.
    u: Mat<T>,
    /// $V$, $d_0\times d_0$.
    v: Mat<T>,
    /// $1/K_{ij}$ (floored), $d_N\times d_0$.
    k_inv: Mat<f64>,
    depth: usize,
}

impl<T: Scalar> NormalPreconditioner<T> {
    /// $\mathcal A_{N,X}^{-1}$ for the product $X$ ($d_N\times d_0$) of a depth-$N$ network.
    ///
    /// # Errors
    /// [`AlgebraError::Linalg`] if $X$ is not finite or its SVD fails.
    ///
    /// # Panics
    /// If `depth == 0`.
    #[track_caller]
    pub fn new(x: MatRef<'_, T>, depth: usize) -> Result<Self> {
        assert!(depth >= 1, "NormalPreconditioner: depth must be >= 1");
        dln_linalg::check_finite(x)?;
        let (m, n) = x.shape();
        let (u, v, s) = if m == 0 || n == 0 {
            (Mat::<T>::identity(m, m), Mat::<T>::identity(n, n), vec![])
        } else {
            let svd = x
                .svd()
                .map_err(|_| dln_linalg::LinalgError::NoConvergence {
                    what: "singular value decomposition",
                })?;
            let sv = svd.S().column_vector();
            let s: Vec<f64> = (0..m.min(n)).map(|i| sv[i].re()).collect();
            (svd.U().to_owned(), svd.V().to_owned(), s)
        };
        let lam = |i: usize| -> f64 {
            s.get(i)
                .map_or(0.0, |&si| si.max(0.0).powf(2.0 / depth as f64))
        };
        let kij = |i: usize, j: usize| -> f64 {
            let (li, lj) = (lam(i), lam(j));
            (1..=depth)
                .map(|p| li.powi((depth - p) as i32) * lj.powi(p as i32 - 1))
                .sum()
        };
        let scale = if m > 0 && n > 0 { kij(0, 0) } else { 1.0 };
        let floor = 1e-14 * scale;
        let fallback = if scale > 0.0 { scale } else { 1.0 };
        let k_inv = Mat::from_fn(m, n, |i, j| {
            let k = kij(i, j);
            if k > floor { 1.0 / k } else { 1.0 / fallback }
        });
        Ok(Self { u, v, k_inv, depth })
    }

    /// The depth $N$ it was built for.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// $\mathcal A_{N,X}^{-1}(R) = U\big(K^{-1}\circ(U^*RV)\big)V^*$.
    ///
    /// # Panics
    /// If `r` is not $d_N\times d_0$.
    #[track_caller]
    pub fn apply(&self, r: MatRef<'_, T>) -> Mat<T> {
        assert_eq!(
            r.shape(),
            self.k_inv.shape(),
            "NormalPreconditioner::apply: shape"
        );
        let mut m = mul(mul(self.u.adjoint(), r).as_ref(), self.v.as_ref());
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                m[(i, j)] = m[(i, j)].scale(self.k_inv[(i, j)]);
            }
        }
        mul(mul(self.u.as_ref(), m.as_ref()).as_ref(), self.v.adjoint())
    }
}

/// Outcome of [`NormalOperator::solve`].
#[derive(Debug, Clone)]
pub struct NormalSolution<T: Scalar> {
    /// $Z$, $d_N\times d_0$.
    pub z: Mat<T>,
    /// PCG iterations.
    pub iterations: usize,
    /// Final relative residual $\|R - \mathcal M(Z)\|/\|R\|$.
    pub residual: f64,
    /// Whether `residual <= rtol`.
    pub converged: bool,
}

/// The normal operator of the fiber at $\mathbf W$,
/// $$\mathcal M(Z) = d\varphi\,d\varphi^*(Z) = \sum_{j=1}^{N} S_jS_j^*\,Z\,P_j^*P_j,\qquad
///   S_j = W_N\cdots W_{j+1},\ P_j = W_{j-1}\cdots W_1,$$
/// on $\mathbb F^{d_N\times d_0}$, where $\varphi(\mathbf W) = W_N\cdots W_1$,
/// $d\varphi(\mathbf V) = \sum_jS_jV_jP_j$ and $(d\varphi^*Z)_j = S_j^*ZP_j^*$.
///
/// The range of $d\varphi^*$ is the orthogonal complement of $\ker d\varphi$, so the orthogonal
/// projection of $\mathbf V$ onto $\ker d\varphi$ is $\mathbf V - d\varphi^*(Z)$ with
/// $\mathcal M(Z) = d\varphi(\mathbf V)$. Where the fiber is locally one orbit (square layers, $X$
/// invertible: then $\ker d\varphi = T_{\mathbf W}\mathcal F_X = \\{\mathbf w_{\mathbf a}\\}$) this is the
/// tangent projection of [`FiberOperator::project_tangent`] computed on a space of size $d_Nd_0$,
/// independent of $N$; for $\mathbf V = \mathbf W$, $d\varphi(\mathbf W) = NX$ and the projection is the L²
/// velocity $\mathbf w_{\mathbf b}$ of Lemma 5. One application costs $2N$ products; the preconditioner
/// [`NormalPreconditioner`] is exact at balance, so PCG needs a number of iterations that does not
/// grow with $N$ (measured in `docs/performance.md`).
pub struct NormalOperator<'a, T: Scalar> {
    net: &'a Network<T>,
    /// $S_j$, entry `j-1`.
    s: Vec<Mat<T>>,
    /// $P_j$, entry `j-1`.
    p: Vec<Mat<T>>,
    /// $S_jS_j^*$, entry `j-1`.
    ss: Vec<Mat<T>>,
    /// $P_j^*P_j$, entry `j-1`.
    pp: Vec<Mat<T>>,
}

impl<'a, T: Scalar> NormalOperator<'a, T> {
    /// Forms the prefix and suffix products and their Gram matrices ($\approx 4N$ products).
    pub fn new(net: &'a Network<T>) -> Self {
        let n = net.depth();
        let (d0, dn) = (net.width(0), net.width(n));
        let mut p = Vec::with_capacity(n);
        p.push(Mat::<T>::identity(d0, d0));
        for j in 2..=n {
            let next = mul(net.w(j - 1).as_ref(), p[j - 2].as_ref());
            p.push(next);
        }
        let mut s = vec![Mat::<T>::identity(dn, dn); n];
        for j in (1..n).rev() {
            s[j - 1] = mul(s[j].as_ref(), net.w(j + 1).as_ref());
        }
        let ss = s.iter().map(|sj| mul(sj.as_ref(), sj.adjoint())).collect();
        let pp = p.iter().map(|pj| mul(pj.adjoint(), pj.as_ref())).collect();
        Self { net, s, p, ss, pp }
    }

    /// The network $\mathbf W$.
    pub fn network(&self) -> &Network<T> {
        self.net
    }

    /// $X = S_1W_1$ as formed here.
    pub fn product(&self) -> Mat<T> {
        mul(self.s[0].as_ref(), self.net.w(1).as_ref())
    }

    /// $\mathcal M(Z)$.
    ///
    /// # Panics
    /// If `z` is not $d_N\times d_0$.
    #[track_caller]
    pub fn apply(&self, z: MatRef<'_, T>) -> Mat<T> {
        let n = self.net.depth();
        assert_eq!(
            z.shape(),
            (self.net.width(n), self.net.width(0)),
            "NormalOperator::apply: Z must be d_N x d_0"
        );
        let (m, n) = z.shape();
        let mut out = Mat::<T>::zeros(m, n);
        let mut sz = Mat::<T>::zeros(m, n);
        let (par_s, par_p) = (par_for(m, m, n), par_for(m, n, n));
        let one = T::from_f64(1.0);
        for (ss, pp) in self.ss.iter().zip(&self.pp) {
            matmul(sz.as_mut(), Accum::Replace, ss.as_ref(), z, one, par_s);
            matmul(
                out.as_mut(),
                Accum::Add,
                sz.as_ref(),
                pp.as_ref(),
                one,
                par_p,
            );
        }
        out
    }

    /// The explicit matrix of $\mathcal M$ on $\operatorname{vec}(Z)$ (columns stacked, size
    /// $d_Nd_0\times d_Nd_0$): from $\operatorname{vec}(AZB) = (B^\top\otimes A)\operatorname{vec}(Z)$,
    /// $$[\mathcal M] = \sum_{j=1}^N (P_j^*P_j)^\top\otimes S_jS_j^*,$$
    /// Hermitian positive semidefinite, definite exactly where $d\varphi$ is onto. For a dense
    /// factorization (e.g. $\log\det d\varphi\,d\varphi^*$) when $d_Nd_0$ is moderate; costs
    /// $N(d_Nd_0)^2$ multiply-adds.
    pub fn matrix(&self) -> Mat<T> {
        let (m, n) = (self.net.width(self.net.depth()), self.net.width(0));
        let mut out = Mat::<T>::zeros(m * n, m * n);
        for (ss, pp) in self.ss.iter().zip(&self.pp) {
            for l in 0..n {
                for jj in 0..n {
                    let b = pp[(l, jj)]; // (B^T)_{jj,l} with B = P^*P
                    for k in 0..m {
                        for i in 0..m {
                            out[(i + m * jj, k + m * l)] += b * ss[(i, k)];
                        }
                    }
                }
            }
        }
        out
    }

    /// $d\varphi(\mathbf V) = \sum_jS_jV_jP_j$.
    ///
    /// # Panics
    /// If `v` does not have the shapes of the layers.
    #[track_caller]
    pub fn differential(&self, v: &[MatRef<'_, T>]) -> Mat<T> {
        let n = self.net.depth();
        assert_eq!(v.len(), n, "NormalOperator::differential: need N blocks");
        let mut out = Mat::<T>::zeros(self.net.width(n), self.net.width(0));
        for j in 0..n {
            out += mul(mul(self.s[j].as_ref(), v[j]).as_ref(), self.p[j].as_ref());
        }
        out
    }

    /// $d\varphi^*(Z) = (S_j^*ZP_j^*)_j$.
    ///
    /// # Panics
    /// If `z` is not $d_N\times d_0$.
    #[track_caller]
    pub fn differential_adjoint(&self, z: MatRef<'_, T>) -> Vec<Mat<T>> {
        self.s
            .iter()
            .zip(&self.p)
            .map(|(s, p)| mul(mul(s.adjoint(), z).as_ref(), p.adjoint()))
            .collect()
    }

    /// Solves $\mathcal M(Z) = R$ by preconditioned conjugate gradients (Re Tr inner product), from
    /// `guess` (or zero). `pre` must have been built for this depth and (to be effective) for the
    /// product of a network in the same fiber.
    ///
    /// # Errors
    /// [`AlgebraError::NoConvergence`] if the iteration produces non-finite numbers.
    ///
    /// # Panics
    /// If shapes disagree.
    #[track_caller]
    pub fn solve(
        &self,
        rhs: MatRef<'_, T>,
        guess: Option<MatRef<'_, T>>,
        pre: &NormalPreconditioner<T>,
        opts: CgOptions,
    ) -> Result<NormalSolution<T>> {
        let re = |a: &Mat<T>, b: &Mat<T>| dln_linalg::re_inner(a.as_ref(), b.as_ref());
        let r_norm = dln_linalg::frob_sq(rhs).sqrt();
        let mut z = match guess {
            Some(g) => g.to_owned(),
            None => Mat::<T>::zeros(rhs.nrows(), rhs.ncols()),
        };
        if r_norm == 0.0 {
            return Ok(NormalSolution {
                z: Mat::zeros(rhs.nrows(), rhs.ncols()),
                iterations: 0,
                residual: 0.0,
                converged: true,
            });
        }
        let mut r = rhs.to_owned() - self.apply(z.as_ref());
        let mut res = re(&r, &r).sqrt() / r_norm;
        let mut it = 0;
        if res > opts.rtol {
            let mut y = pre.apply(r.as_ref());
            let mut p = y.clone();
            let mut ry = re(&r, &y);
            while it < opts.max_iter {
                it += 1;
                let mp = self.apply(p.as_ref());
                let pmp = re(&p, &mp);
                if pmp.is_nan() || pmp <= 0.0 {
                    break;
                }
                let alpha = T::from_f64(ry / pmp);
                z += faer::Scale(alpha) * &p;
                r -= faer::Scale(alpha) * &mp;
                res = re(&r, &r).sqrt() / r_norm;
                if !res.is_finite() {
                    return Err(AlgebraError::NoConvergence {
                        what: "conjugate gradients on the normal equation",
                        iterations: it,
                        residual: res,
                    });
                }
                if res <= opts.rtol {
                    break;
                }
                y = pre.apply(r.as_ref());
                let ry_new = re(&r, &y);
                let beta = T::from_f64(ry_new / ry);
                ry = ry_new;
                p = &y + faer::Scale(beta) * &p;
            }
        }
        Ok(NormalSolution {
            z,
            iterations: it,
            residual: res,
            converged: res <= opts.rtol,
        })
    }

    /// The L² velocity $\mathbf w_{\mathbf b} = \mathbf W - d\varphi^*(Z)$, $\mathcal M(Z) = NX$, with the
    /// solve's record. Equal to $\operatorname{grad}\tfrac12\|\mathbf W\|^2$ on the fiber wherever
    /// $\ker d\varphi$ is the orbit's tangent space (square layers, invertible $X$).
    ///
    /// # Errors
    /// As [`NormalOperator::solve`].
    ///
    /// # Panics
    /// If `pre` was built for another depth or shape.
    #[track_caller]
    pub fn l2_velocity(
        &self,
        guess: Option<MatRef<'_, T>>,
        pre: &NormalPreconditioner<T>,
        opts: CgOptions,
    ) -> Result<(Vec<Mat<T>>, NormalSolution<T>)> {
        assert_eq!(pre.depth(), self.net.depth(), "preconditioner depth");
        let rhs = faer::Scale(T::from_f64(self.net.depth() as f64)) * self.product();
        let sol = self.solve(rhs.as_ref(), guess, pre, opts)?;
        let nz = self.differential_adjoint(sol.z.as_ref());
        let w = self
            .net
            .layers()
            .iter()
            .zip(nz)
            .map(|(wk, nk)| wk - nk)
            .collect();
        Ok((w, sol))
    }

    /// Orthogonal projection of $\mathbf V$ onto the range of $d\varphi^*$ (the normal space of the
    /// fiber where it is locally one orbit): $d\varphi^*(Z)$ with $\mathcal M(Z) = d\varphi(\mathbf V)$.
    ///
    /// # Errors
    /// As [`NormalOperator::solve`].
    ///
    /// # Panics
    /// If shapes disagree.
    #[track_caller]
    pub fn project_normal(
        &self,
        v: &[MatRef<'_, T>],
        pre: &NormalPreconditioner<T>,
        opts: CgOptions,
    ) -> Result<(Vec<Mat<T>>, NormalSolution<T>)> {
        let rhs = self.differential(v);
        let sol = self.solve(rhs.as_ref(), None, pre, opts)?;
        Ok((self.differential_adjoint(sol.z.as_ref()), sol))
    }
}

/// Recovers the generator $\mathbf b$ of a tangent vector $\mathbf w = \mathbf w_{\mathbf b}$ on a network with
/// square invertible layers, from the layer recursion
/// $b_kW_k = w_k + W_kb_{k-1}$ (upwards from $b_0 = 0$) for the lower half and
/// $W_{k+1}b_k = b_{k+1}W_{k+1} - w_{k+1}$ (downwards from $b_N = 0$) for the upper half: $N$ LU
/// factorizations and $O(N)$ products. Splitting in the middle halves the depth over which the
/// conditioning of the layers compounds. Returns `None` when a layer is not square or is singular
/// to working precision; the caller then solves $\mathbf H(\mathbf b) = T^*\mathbf w$ instead.
///
/// # Panics
/// If `w` does not have the shapes of the layers.
#[track_caller]
pub fn generator_from_tangent<T: Scalar>(net: &Network<T>, w: &[Mat<T>]) -> Option<Vec<Mat<T>>> {
    let n = net.depth();
    assert_eq!(w.len(), n, "generator_from_tangent: need N blocks");
    if n < 2 {
        return Some(Vec::new());
    }
    if (1..=n).any(|k| net.w(k).nrows() != net.w(k).ncols()) {
        return None;
    }
    let mut b: Vec<Mat<T>> = (1..n)
        .map(|k| Mat::zeros(net.width(k), net.width(k)))
        .collect();
    let mid = n / 2; // equations 1..=mid upwards give b_1..b_mid; N..=mid+2 downwards give the rest
    for k in 1..=mid {
        let wk = net.w(k);
        let mut rhs = w[k - 1].clone();
        if k >= 2 {
            rhs += wk * &b[k - 2];
        }
        // b_k = rhs W_k^{-1}  <=>  W_k^* b_k^* = rhs^*
        let sol = wk
            .adjoint()
            .partial_piv_lu()
            .solve(rhs.adjoint().to_owned());
        if !sol.as_ref().is_all_finite() {
            return None;
        }
        b[k - 1] = sol.adjoint().to_owned();
    }
    for k in (mid + 1..n).rev() {
        let wk1 = net.w(k + 1);
        let mut rhs = faer::Scale(T::from_f64(-1.0)) * &w[k];
        if k + 1 < n {
            rhs += &b[k] * wk1;
        }
        let sol = wk1.partial_piv_lu().solve(rhs);
        if !sol.as_ref().is_all_finite() {
            return None;
        }
        b[k - 1] = sol;
    }
    Some(b)
}
