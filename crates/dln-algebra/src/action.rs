//! The group $G=\prod_{k=1}^{N-1}GL(d_k)$ acting on the hidden junctions, its compact subgroup, and
//! the infinitesimal action.
//!
//! $$(\mathbf A\cdot\mathbf W)_k = A_kW_kA_{k-1}^{-1},\qquad A_0 = I_{d_0},\ A_N = I_{d_N},$$
//! which leaves $X = W_N\cdots W_1$ unchanged. Unitary (orthogonal) $\mathbf U$ act by
//! $W_k\mapsto U_kW_kU_{k-1}^*$ and preserve $\|\mathbf W\|_2$; the moments transform as
//! $G_k\mapsto U_kG_kU_k^*$. The infinitesimal action of $\mathbf a\in\mathfrak g=\prod\mathfrak{gl}(d_k)$ is
//! $$(\mathbf w_{\mathbf a})_k = \frac{d}{d\tau}\Big|_0(e^{\tau\mathbf a}\cdot\mathbf W)_k = a_kW_k - W_ka_{k-1},\qquad a_0=a_N=0,$$
//! and its adjoint for the Euclidean pairing is $(T^*\mathbf V)_k = V_kW_k^* - W_{k+1}^*V_{k+1}$,
//! so that $T^*\mathbf W = \mathbf G$.
//!
//! Group and Lie-algebra elements are slices of length $N-1$ whose entry `k-1` acts at junction $k$
//! (a $d_k\times d_k$ matrix).

use crate::{AlgebraError, Network, Result};
use dln_linalg::Scalar;
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef};

fn check_junctions<T: Scalar>(net: &Network<T>, g: &[Mat<T>], what: &str) {
    assert_eq!(
        g.len(),
        net.depth() - 1,
        "{what}: need N-1 = {} junction elements",
        net.depth() - 1
    );
    for (i, a) in g.iter().enumerate() {
        let d = net.width(i + 1);
        assert_eq!(
            a.shape(),
            (d, d),
            "{what}: element at junction {} must be {d}x{d}",
            i + 1
        );
    }
}

impl<T: Scalar> Network<T> {
    /// $\mathbf A\cdot\mathbf W$ for invertible $A_k$.
    ///
    /// # Errors
    /// [`AlgebraError::Singular`] if some $A_k$ is singular to working precision.
    ///
    /// # Panics
    /// If `a` does not have $N-1$ square entries of sizes $d_1,\dots,d_{N-1}$.
    #[track_caller]
    pub fn act(&self, a: &[Mat<T>]) -> Result<Network<T>> {
        check_junctions(self, a, "act");
        let n = self.depth();
        // W_k A_{k-1}^{-1} = (A_{k-1}^{-*} W_k^*)^*: solve with the LU of A_{k-1}^*.
        let mut out = Vec::with_capacity(n);
        for k in 1..=n {
            let mut wk = if k >= 2 {
                let lu = a[k - 2].adjoint().partial_piv_lu();
                let sol = lu.solve(self.w(k).adjoint().to_owned());
                if !sol.as_ref().is_all_finite() {
                    return Err(AlgebraError::Singular { junction: k - 1 });
                }
                sol.adjoint().to_owned()
            } else {
                self.w(k).to_owned()
            };
            if k < n {
                wk = &a[k - 1] * &wk;
            }
            out.push(wk);
        }
        Network::new(out)
    }

    /// $\mathbf U\cdot\mathbf W$ for unitary (orthogonal) $U_k$: $W_k\mapsto U_kW_kU_{k-1}^*$.
    ///
    /// The caller promises unitarity; no inverse is formed.
    ///
    /// # Panics
    /// If `u` does not have $N-1$ square entries of sizes $d_1,\dots,d_{N-1}$.
    #[track_caller]
    pub fn act_unitary(&self, u: &[Mat<T>]) -> Network<T> {
        check_junctions(self, u, "act_unitary");
        let n = self.depth();
        let layers = (1..=n)
            .map(|k| {
                let mut wk = self.w(k).to_owned();
                if k >= 2 {
                    wk = &wk * u[k - 2].adjoint();
                }
                if k < n {
                    wk = &u[k - 1] * &wk;
                }
                wk
            })
            .collect();
        Network::from_layers_unchecked(layers)
    }

    /// $\mathbf A\cdot\mathbf W$ given both $A_k$ and $A_k^{-1}$ (no solve).
    ///
    /// # Panics
    /// If the shapes are wrong.
    #[track_caller]
    pub fn act_with_inverse(&self, a: &[Mat<T>], a_inv: &[Mat<T>]) -> Network<T> {
        check_junctions(self, a, "act_with_inverse");
        check_junctions(self, a_inv, "act_with_inverse");
        let n = self.depth();
        let layers = (1..=n)
            .map(|k| {
                let mut wk = self.w(k).to_owned();
                if k >= 2 {
                    wk = &wk * &a_inv[k - 2];
                }
                if k < n {
                    wk = &a[k - 1] * &wk;
                }
                wk
            })
            .collect();
        Network::from_layers_unchecked(layers)
    }

    /// Infinitesimal action $(\mathbf w_{\mathbf a})_k = a_kW_k - W_ka_{k-1}$ ($a_0=a_N=0$): a tangent vector
    /// to the fiber $\mathcal F_X$ at $\mathbf W$, returned as $N$ matrices, input layer first.
    ///
    /// # Panics
    /// If `a` does not have $N-1$ square entries of sizes $d_1,\dots,d_{N-1}$.
    #[track_caller]
    pub fn infinitesimal_action(&self, a: &[Mat<T>]) -> Vec<Mat<T>> {
        check_junctions(self, a, "infinitesimal_action");
        let n = self.depth();
        (1..=n)
            .map(|k| {
                let wk = self.w(k);
                let mut v = Mat::<T>::zeros(wk.nrows(), wk.ncols());
                if k < n {
                    v += &a[k - 1] * wk;
                }
                if k >= 2 {
                    v -= wk * &a[k - 2];
                }
                v
            })
            .collect()
    }

    /// Adjoint of the infinitesimal action, $(T^*\mathbf V)_k = V_kW_k^* - W_{k+1}^*V_{k+1}$,
    /// $k=1,\dots,N-1$: the unique $\mathfrak g$-element with
    /// $\langle\mathbf w_{\mathbf a},\mathbf V\rangle = \sum_k\operatorname{Re}\operatorname{Tr}(a_k^*(T^*\mathbf V)_k)$.
    /// $T^*\mathbf W = \mathbf G$.
    ///
    /// # Panics
    /// If `v` does not have the shapes of the layers.
    #[track_caller]
    pub fn infinitesimal_action_adjoint(&self, v: &[MatRef<'_, T>]) -> Vec<Mat<T>> {
        assert_eq!(
            v.len(),
            self.depth(),
            "infinitesimal_action_adjoint: need N matrices"
        );
        for (k, m) in v.iter().enumerate() {
            assert_eq!(
                m.shape(),
                self.w(k + 1).shape(),
                "infinitesimal_action_adjoint: shape of V{}",
                k + 1
            );
        }
        (1..self.depth())
            .map(|k| {
                let mut c = v[k - 1] * self.w(k).adjoint();
                c -= self.w(k + 1).adjoint() * v[k];
                c
            })
            .collect()
    }
}
