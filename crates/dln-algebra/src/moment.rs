//! Moments, the moment map, and the norms minimized on the balanced manifold.
//!
//! The moments of $\mathbf W$ are the Hermitian $d_k\times d_k$ matrices
//! $$G_k = W_kW_k^* - W_{k+1}^*W_{k+1},\qquad 1\le k\le N-1,$$
//! (the *lower* layer's $WW^*$ minus the *upper* layer's $W^*W$), and
//! $\mu(\mathbf W) = \mathbf G = (G_{N-1},\dots,G_1)$ is the moment map of the action of
//! $G = \prod_{k=1}^{N-1}GL(d_k)$ for the norm $\tfrac12\|\mathbf W\|^2$ and the pairing
//! $\operatorname{Re}\operatorname{Tr}$ (Lemma 2). The balanced variety is $\mathcal M_0 = \mu^{-1}(0)$.
//!
//! For every $\mathbf W$ in the fiber $\mathcal F_X$ (any widths, any rank)
//! $$\|\mathbf W\|_2^2 \ \ge\ N\sum_i\sigma_i(X)^{2/N},\qquad
//!   \sum_k\|W_k\|_{S_p}\ \ge\ N\Big(\sum_i\sigma_i(X)^{p/N}\Big)^{1/p},$$
//! with equality exactly on the balanced points of the fiber (Theorems 1 and 20; the extension to
//! rectangular widths and any rank is ours, and is checked by `cargo xtask verify`).

use crate::Network;
use dln_linalg::{
    Result as LinalgResult, Scalar, ScaledReal, frob_norm_scaled, pow2_exponent, scale_pow2,
    singular_values_scaled,
};
use faer::Mat;

impl<T: Scalar> Network<T> {
    /// Moment $G_k = W_kW_k^* - W_{k+1}^*W_{k+1}$, $1\le k\le N-1$.
    ///
    /// # Panics
    /// If $k=0$ or $k\ge N$.
    #[track_caller]
    pub fn moment(&self, k: usize) -> Mat<T> {
        assert!(
            k >= 1 && k < self.depth(),
            "moment index {k} out of 1..{}",
            self.depth()
        );
        let lower = self.w(k);
        let upper = self.w(k + 1);
        let mut g = lower * lower.adjoint();
        g -= upper.adjoint() * upper;
        g
    }

    /// All moments $\mathbf G = (G_1,\dots,G_{N-1})$, **entry `k-1` is $G_k$** (empty for $N=1$).
    pub fn moments(&self) -> Vec<Mat<T>> {
        (1..self.depth()).map(|k| self.moment(k)).collect()
    }

    /// $\|\mu(\mathbf W)\| = \big(\sum_k\|G_k\|_F^2\big)^{1/2}$, rounded to `f64` ($+\infty$ or $0$ when out
    /// of range: it is quadratic in the weights). See [`Network::moment_norm_scaled`] and
    /// [`Network::relative_moment_norm`].
    pub fn moment_norm(&self) -> f64 {
        self.moment_norm_scaled().to_f64()
    }

    /// $\|\mu(\mathbf W)\|$ in scaled form, exact at every scale ([`Network::moment_norms_scaled`]).
    pub fn moment_norm_scaled(&self) -> ScaledReal {
        ScaledReal::sum(self.moment_norms_scaled().into_iter().map(|g| g.mul(g))).sqrt()
    }

    /// Per-junction norms $\|G_k\|_F$, $k=1,\dots,N-1$, rounded to `f64`.
    pub fn moment_norms(&self) -> Vec<f64> {
        self.moment_norms_scaled()
            .into_iter()
            .map(ScaledReal::to_f64)
            .collect()
    }

    /// Per-junction norms $\|G_k\|_F$ in scaled form. At junction $k$ both layers are scaled by the
    /// same power of two $2^{-e}$ (that of the larger entry of $W_k$, $W_{k+1}$), so
    /// $G_k = 2^{2e}\hat G_k$ with $\hat G_k$ computed in range: no sum of squares underflows
    /// (weights $10^{-120}$) or overflows (weights $10^{200}$).
    pub fn moment_norms_scaled(&self) -> Vec<ScaledReal> {
        (1..self.depth())
            .map(|k| {
                let (lower, upper) = (self.w(k), self.w(k + 1));
                let e = match (pow2_exponent(lower), pow2_exponent(upper)) {
                    (None, None) => return ScaledReal::ZERO,
                    (a, b) => a.unwrap_or(i64::MIN).max(b.unwrap_or(i64::MIN)),
                };
                if (-400..=400).contains(&e) {
                    return frob_norm_scaled(self.moment(k).as_ref());
                }
                let (lh, uh) = (scale_pow2(lower, -e), scale_pow2(upper, -e));
                let mut g = &lh * lh.adjoint();
                g -= uh.adjoint() * &uh;
                frob_norm_scaled(g.as_ref()).mul(ScaledReal::new(1.0, 2 * e))
            })
            .collect()
    }

    /// $\|\mu(\mathbf W)\|/\|\mathbf W\|_2^2$, computed in scaled form: representable (at most 2) for
    /// weights of every scale, and the scale-invariant measure of imbalance. $0$ for $\mathbf W=0$.
    pub fn relative_moment_norm(&self) -> f64 {
        let l = self.l2_norm_scaled();
        let m = self.moment_norm_scaled();
        if m.is_zero() { 0.0 } else { m.ratio(l.mul(l)) }
    }

    /// The balance test $\|\mu(\mathbf W)\|\le \mathrm{rtol}\cdot\|\mathbf W\|_2^2$ (scale-invariant: both sides are
    /// quadratic in $\mathbf W$; evaluated as [`Network::relative_moment_norm`]).
    pub fn is_balanced(&self, rtol: f64) -> bool {
        self.relative_moment_norm() <= rtol
    }

    /// Schatten-$p$ sum $\|\mathbf W\|_p = \sum_k\|W_k\|_{S_p}$, $\|A\|_{S_p} = (\sum_i\sigma_i(A)^p)^{1/p}$
    /// (not raised to the $p$-th power; $p=2$ is $\sum_k\|W_k\|_F$).
    ///
    /// # Errors
    /// If an SVD fails.
    ///
    /// # Panics
    /// If $p<1$.
    #[track_caller]
    pub fn schatten_sum(&self, p: f64) -> LinalgResult<f64> {
        assert!(p >= 1.0, "schatten_sum: p must be >= 1");
        let s = self.schatten_sum_scaled(p)?;
        s.to_f64_checked()
            .ok_or(dln_linalg::LinalgError::NotRepresentable {
                what: "the Schatten sum",
                magnitude: s,
            })
    }

    /// [`Network::schatten_sum`] in scaled form (singular values of $2^{-e_k}W_k$, rescaled exactly).
    ///
    /// # Errors
    /// If an SVD fails.
    ///
    /// # Panics
    /// If $p<1$.
    #[track_caller]
    pub fn schatten_sum_scaled(&self, p: f64) -> LinalgResult<ScaledReal> {
        assert!(p >= 1.0, "schatten_sum: p must be >= 1");
        let mut total = ScaledReal::ZERO;
        for w in self.layers() {
            let (sv, e) = singular_values_scaled(w.as_ref())?;
            let inner = sv.iter().map(|x| x.powf(p)).sum::<f64>();
            if inner > 0.0 {
                total = total.add(ScaledReal::new(inner.powf(1.0 / p), e));
            }
        }
        Ok(total)
    }
}

/// Numerical rank of a list of singular values $\sigma_1\ge\sigma_2\ge\dots$: the number with
/// $\sigma_i > \max(m,n)\,\varepsilon\,\sigma_1$ (numpy's `matrix_rank` rule).
pub fn numerical_rank(sigma: &[f64], m: usize, n: usize) -> usize {
    let top = sigma.first().copied().unwrap_or(0.0);
    let tol = (m.max(n) as f64) * f64::EPSILON * top;
    sigma.iter().take_while(|&&s| s > tol).count()
}

/// The L² lower bound $N\sum_{i\le r}\sigma_i^{2/N}$ over the numerically non-zero singular values
/// (see [`numerical_rank`]): the minimum of $\|\mathbf W\|_2^2$ on the fiber of $X$.
///
/// Singular values at the rounding level are treated as exact zeros: for large $N$ their
/// $2/N$-th powers are not small ($10^{-16\cdot 2/8} = 10^{-4}$), and they carry no information.
pub fn l2_lower_bound(sigma: &[f64], depth: usize, r: usize) -> f64 {
    let e = 2.0 / depth as f64;
    depth as f64 * sigma[..r].iter().map(|s| s.powf(e)).sum::<f64>()
}

/// The Schatten-$p$ lower bound $N\big(\sum_{i\le r}\sigma_i^{p/N}\big)^{1/p}$ (Theorem 20).
pub fn schatten_lower_bound(sigma: &[f64], depth: usize, r: usize, p: f64) -> f64 {
    let e = p / depth as f64;
    depth as f64
        * sigma[..r]
            .iter()
            .map(|s| s.powf(e))
            .sum::<f64>()
            .powf(1.0 / p)
}
