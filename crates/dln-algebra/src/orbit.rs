//! The centre of a fiber and its balanced orbit, from the SVD of $X$.
//!
//! With the thin SVD $X = Q_N\Sigma Q_0^*$ truncated at the numerical rank $r$ and
//! $\Lambda = \Sigma_r^{1/N}$, every point
//! $$\mathbf Q\cdot\mathbf C = (Q_N\Lambda Q_{N-1}^*,\ Q_{N-1}\Lambda Q_{N-2}^*,\ \dots,\ Q_1\Lambda Q_0^*),$$
//! with $Q_k\in\mathbb F^{d_k\times r}$ having orthonormal columns ($1\le k\le N-1$), is balanced
//! ($G_k = Q_k\Lambda^2Q_k^* - Q_k\Lambda^2Q_k^* = 0$), lies in the fiber of $X$, has layers with
//! singular values $\sigma_i(X)^{1/N}$ and attains $\|\mathbf W\|_2^2 = N\sum_i\sigma_i^{2/N}$.
//! For square full-rank $X$ these points form the minimizing orbit
//! $\mathcal O_X = \mathcal F_X\cap\mathcal M$ (the paper's centre takes $Q_k = I$). For arbitrary widths and
//! rank (ours) the same formula needs only $d_k\ge r$, which holds for every $X$ that factors
//! through the widths.

use crate::moment::numerical_rank;
use crate::{AlgebraError, Network, Result};
use dln_linalg::{LinalgError, Scalar, ScaledReal, ldexp, scale_cols, scale_rows, thin_svd_scaled};
use faer::{Mat, MatRef};

/// The data that determines the balanced points of a fiber: the rank-$r$ SVD of $X$ and the widths.
///
/// $X$ is carried in scaled form: its singular values are $\sigma_i = 2^{e}\hat\sigma_i$
/// ([`BalancedOrbit::sigma_scaled`]), so the orbit of a network whose end-to-end matrix over- or
/// underflows `f64` is still computed exactly. The balanced layers have singular values
/// $\lambda_i = \sigma_i^{1/N}$, representable far beyond $X$; the constructors check that they are.
#[derive(Debug, Clone)]
pub struct BalancedOrbit<T: Scalar> {
    /// $Q_N$: left singular vectors, $d_N\times r$.
    pub u: Mat<T>,
    /// $\hat\sigma_1\ge\dots\ge\hat\sigma_r>0$ with $\sigma_i(X) = 2^{e}\hat\sigma_i$.
    sigma_hat: Vec<f64>,
    /// The exponent $e$.
    sigma_exp: i64,
    /// $\lambda_i = \sigma_i^{1/N}$ (checked representable).
    lambda: Vec<f64>,
    /// $Q_0$: right singular vectors, $d_0\times r$.
    pub v: Mat<T>,
    widths: Vec<usize>,
}

impl<T: Scalar> BalancedOrbit<T> {
    /// The balanced orbit of the fiber over $X$ for widths $d_0,\dots,d_N$.
    ///
    /// # Errors
    /// [`AlgebraError::Linalg`] if the SVD fails or $X$ is not finite;
    /// [`AlgebraError::ShapeMismatch`] if the numerical rank of $X$ exceeds a hidden width (then no
    /// network with these widths has product $X$).
    ///
    /// # Panics
    /// If `widths` has fewer than two entries or $X$ is not $d_N\times d_0$.
    #[track_caller]
    pub fn new(x: MatRef<'_, T>, widths: &[usize]) -> Result<Self> {
        Self::new_scaled(x, 0, widths)
    }

    /// The balanced orbit of the fiber over $X = 2^{e}\hat X$, given $\hat X$ and $e$ (as returned by
    /// [`Network::product_scaled`]).
    ///
    /// # Errors
    /// As [`BalancedOrbit::new`]; [`dln_linalg::LinalgError::NotRepresentable`] when the balanced
    /// layers' singular values $\sigma_i^{1/N}$ over- or underflow `f64`.
    ///
    /// # Panics
    /// As [`BalancedOrbit::new`].
    #[track_caller]
    pub fn new_scaled(x_hat: MatRef<'_, T>, e: i64, widths: &[usize]) -> Result<Self> {
        assert!(
            widths.len() >= 2,
            "BalancedOrbit: need widths d_0..d_N with N >= 1"
        );
        let n = widths.len() - 1;
        assert_eq!(
            x_hat.shape(),
            (widths[n], widths[0]),
            "BalancedOrbit: X must be d_N x d_0"
        );
        let (svd, es) = thin_svd_scaled(x_hat)?;
        let r = numerical_rank(&svd.s, x_hat.nrows(), x_hat.ncols());
        for k in 1..n {
            if widths[k] < r {
                return Err(AlgebraError::ShapeMismatch {
                    lower: k,
                    upper: k + 1,
                    rows: widths[k],
                    cols: r,
                });
            }
        }
        let sigma_exp = e + es;
        let inv_n = 1.0 / n as f64;
        let mut lambda = Vec::with_capacity(r);
        for &s in &svd.s[..r] {
            let l = ScaledReal::new(s, sigma_exp).powf(inv_n);
            lambda.push(l.to_f64_checked().ok_or(LinalgError::NotRepresentable {
                what: "a singular value of the balanced layers, sigma_i(X)^(1/N),",
                magnitude: l,
            })?);
        }
        Ok(Self {
            u: svd.u.subcols(0, r).to_owned(),
            sigma_hat: svd.s[..r].to_vec(),
            sigma_exp,
            lambda,
            v: svd.v.subcols(0, r).to_owned(),
            widths: widths.to_vec(),
        })
    }

    /// The balanced orbit of the fiber through $\mathbf W$ (from [`Network::product_scaled`]: works
    /// for weights of any scale).
    ///
    /// # Errors
    /// As [`BalancedOrbit::new_scaled`].
    pub fn of(net: &Network<T>) -> Result<Self> {
        let (x, e) = net.product_scaled();
        Self::new_scaled(x.as_ref(), e, &net.widths())
    }

    /// Numerical rank $r$ of $X$.
    pub fn rank(&self) -> usize {
        self.sigma_hat.len()
    }

    /// Depth $N$.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// Widths $d_0,\dots,d_N$.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The non-zero singular values $\sigma_1\ge\dots\ge\sigma_r$ of $X$, rounded to `f64`
    /// ($+\infty$/$0$ when $X$ is out of range; see [`BalancedOrbit::sigma_scaled`]).
    pub fn sigma(&self) -> Vec<f64> {
        self.sigma_hat
            .iter()
            .map(|&s| ldexp(s, self.sigma_exp))
            .collect()
    }

    /// $(\hat\sigma, e)$ with $\sigma_i(X) = 2^{e}\hat\sigma_i$, exact at every scale.
    pub fn sigma_scaled(&self) -> (&[f64], i64) {
        (&self.sigma_hat, self.sigma_exp)
    }

    /// $\Lambda = \mathrm{diag}(\sigma_i^{1/N})$, the common non-zero singular values of balanced layers.
    pub fn lambda(&self) -> Vec<f64> {
        self.lambda.clone()
    }

    /// $\min_{\mathcal F_X}\|\mathbf W\|_2^2 = N\sum_i\sigma_i^{2/N}$, rounded to `f64` (see
    /// [`BalancedOrbit::l2_lower_bound_scaled`]).
    pub fn l2_lower_bound(&self) -> f64 {
        self.l2_lower_bound_scaled().to_f64()
    }

    /// $N\sum_i\sigma_i^{2/N}$ in scaled form.
    pub fn l2_lower_bound_scaled(&self) -> ScaledReal {
        self.schatten_power_sum(2.0).scale(self.depth() as f64)
    }

    /// $\sum_{i\le r}\sigma_i^{p/N}$ in scaled form.
    fn schatten_power_sum(&self, p: f64) -> ScaledReal {
        let e = p / self.depth() as f64;
        ScaledReal::sum(
            self.sigma_hat
                .iter()
                .map(|&s| ScaledReal::new(s, self.sigma_exp).powf(e)),
        )
    }

    /// $\min_{\mathcal F_X}\sum_k\|W_k\|_{S_p} = N(\sum_i\sigma_i^{p/N})^{1/p}$, rounded to `f64`.
    pub fn schatten_lower_bound(&self, p: f64) -> f64 {
        let s = self.schatten_power_sum(p);
        if s.is_zero() {
            return 0.0;
        }
        s.powf(1.0 / p).scale(self.depth() as f64).to_f64()
    }

    /// The balanced point $\mathbf Q\cdot\mathbf C$ for hidden frames $Q_1,\dots,Q_{N-1}$
    /// ($Q_k$ is $d_k\times r$ with orthonormal columns; entry `k-1` is $Q_k$).
    ///
    /// # Panics
    /// If `q` has the wrong length or shapes.
    #[track_caller]
    pub fn point(&self, q: &[Mat<T>]) -> Network<T> {
        let n = self.depth();
        let r = self.rank();
        assert_eq!(q.len(), n - 1, "BalancedOrbit::point: need N-1 frames");
        for (i, qk) in q.iter().enumerate() {
            assert_eq!(
                qk.shape(),
                (self.widths[i + 1], r),
                "BalancedOrbit::point: frame Q{} must be d_k x r",
                i + 1
            );
        }
        let lam = self.lambda();
        let frame = |k: usize| -> MatRef<'_, T> {
            if k == 0 {
                self.v.as_ref()
            } else if k == n {
                self.u.as_ref()
            } else {
                q[k - 1].as_ref()
            }
        };
        let layers = (1..=n)
            .map(|k| scale_cols(frame(k), &lam) * frame(k - 1).adjoint())
            .collect();
        Network::from_layers_unchecked(layers)
    }

    /// The centre $\mathbf C$: hidden frames $Q_k = \binom{I_r}{0}$, so that
    /// $\mathbf C = (Q_N\Lambda,\ \Lambda,\ \dots,\ \Lambda,\ \Lambda Q_0^*)$ padded with zeros to the widths.
    pub fn centre(&self) -> Network<T> {
        let n = self.depth();
        let r = self.rank();
        let lam = self.lambda();
        let layers = (1..=n)
            .map(|k| {
                let (rows, cols) = (self.widths[k], self.widths[k - 1]);
                match (k == n, k == 1) {
                    (true, true) => scale_cols(self.u.as_ref(), &lam) * self.v.adjoint(),
                    (true, false) => {
                        let mut w = Mat::<T>::zeros(rows, cols);
                        w.as_mut()
                            .subcols_mut(0, r)
                            .copy_from(scale_cols(self.u.as_ref(), &lam));
                        w
                    }
                    (false, true) => {
                        let mut w = Mat::<T>::zeros(rows, cols);
                        w.as_mut()
                            .subrows_mut(0, r)
                            .copy_from(scale_rows(self.v.adjoint().to_owned().as_ref(), &lam));
                        w
                    }
                    (false, false) => Mat::from_fn(rows, cols, |i, j| {
                        if i == j && i < r {
                            T::from_f64(lam[i])
                        } else {
                            T::from_f64(0.0)
                        }
                    }),
                }
            })
            .collect();
        Network::from_layers_unchecked(layers)
    }
}
