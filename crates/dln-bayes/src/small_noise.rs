//! The small-noise limit of the fiber posterior (theory §6): the uniform law on the balanced orbit
//! and the Laplace expansion of $\mathbb E\|\mathbf W\|^2$.
//!
//! As $\beta\to\infty$ the posterior $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ on the fiber $\mathcal F_X$
//! concentrates on the minimising set, the balanced orbit $\mathcal O_X$ (Theorem 1), with the uniform
//! law: the normalised Riemannian volume, which is the push-forward of Haar measure by the orbit map
//! (the compact group acts transitively and isometrically, so its invariant probability law is unique).
//!
//! **Exact sampler** ([`OrbitSampler`]). Draw hidden frames $Q_k$ Haar-distributed — Haar unitary
//! (orthogonal) $d_k\times d_k$ matrices when $r = d_k$, Haar Stiefel frames $d_k\times r$ (orthonormal
//! columns) for rank $r$ — and return $\mathbf Q\cdot\mathbf C = (Q_N\Lambda Q_{N-1}^*,\dots,Q_1\Lambda Q_0^*)$
//! ([`dln_algebra::BalancedOrbit::point`]). Every sample is balanced, has product $X$ and
//! $\|\mathbf W\|^2 = N\sum_i\sigma_i^{2/N}$.
//!
//! **Laplace expansion** ([`LaplaceExpansion`]). For square $X$ of full rank the transverse Hessian of
//! $\tfrac12\|\mathbf W\|^2$ on the normal bundle of $\mathcal O_X$ in $\mathcal F_X$ is $2\,\mathrm{Id}$, so
//! $$\mathbb E\|\mathbf W\|^2 = N\sum_i\sigma_i^{2/N} + \frac{k}{\beta\kappa} + O(\beta^{-2}),\qquad
//! k = \dim\mathcal F_X - \dim\mathcal O_X,$$
//! with real dimensions $\dim\mathcal F_X = c_F(N-1)d^2$ (the $GL_d^{N-1}$ action is free) and
//! $\dim\mathcal O_X = (N-1)\dim K$ (the stabiliser of the centre in $K^{N-1}$ is trivial when $X$ is
//! invertible), $\dim O_d = d(d-1)/2$, $\dim U_d = d^2$: $k = (N-1)d(d+1)/2$ over $\mathbb R$ and
//! $(N-1)d^2$ over $\mathbb C$. The leading correction is the same for both base measures of the
//! posterior (a smooth factor of the density moves $\mathbb E\|\mathbf W\|^2$ only at $O(\beta^{-2})$).

use crate::error::{BayesError, Result, positive};
use dln_algebra::{BalancedOrbit, Network};
use dln_linalg::Scalar;
use dln_linalg::random::orthonormal_columns;
use faer::{Mat, MatRef};
use rand::Rng;

/// Exact sampler of the uniform (Haar push-forward) law on the balanced orbit $\mathcal O_X$.
#[derive(Debug, Clone)]
pub struct OrbitSampler<T: Scalar> {
    orbit: BalancedOrbit<T>,
}

impl<T: Scalar> OrbitSampler<T> {
    /// The sampler for the fiber over $X$ with widths $d_0,\dots,d_N$ (any widths; rank $r$ of $X$ at
    /// most every hidden width).
    ///
    /// # Errors
    /// As [`BalancedOrbit::new`] (SVD failure, non-finite $X$, rank above a hidden width).
    ///
    /// # Panics
    /// As [`BalancedOrbit::new`] ($X$ not $d_N\times d_0$, fewer than two widths).
    #[track_caller]
    pub fn new(x: MatRef<'_, T>, widths: &[usize]) -> Result<Self> {
        Ok(Self {
            orbit: BalancedOrbit::new(x, widths)?,
        })
    }

    /// The sampler for the balanced orbit of the fiber through $\mathbf W$.
    ///
    /// # Errors
    /// As [`BalancedOrbit::of`].
    pub fn of(w: &Network<T>) -> Result<Self> {
        Ok(Self {
            orbit: BalancedOrbit::of(w)?,
        })
    }

    /// The underlying orbit data (singular values, frames).
    pub fn orbit(&self) -> &BalancedOrbit<T> {
        &self.orbit
    }

    /// Haar hidden frames $Q_1,\dots,Q_{N-1}$ ($d_k\times r$ with orthonormal columns).
    pub fn sample_frames<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<Mat<T>> {
        let widths = self.orbit.widths();
        let r = self.orbit.rank();
        (1..widths.len() - 1)
            .map(|k| orthonormal_columns(rng, widths[k], r))
            .collect()
    }

    /// One exact sample $\mathbf Q\cdot\mathbf C$ of the uniform law on $\mathcal O_X$.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Network<T> {
        let q = self.sample_frames(rng);
        self.orbit.point(&q)
    }
}

/// The Laplace expansion $\mathbb E\|\mathbf W\|^2\approx N\sum_i\sigma_i^{2/N} + k/(\beta\kappa)$ of the fiber
/// posterior (square full-rank $X$).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaplaceExpansion {
    /// $N\sum_i\sigma_i^{2/N} = \min_{\mathcal F_X}\|\mathbf W\|^2$.
    pub leading: f64,
    /// $k = \dim\mathcal F_X - \dim\mathcal O_X$ (real dimensions).
    pub codimension: usize,
    /// $\dim\mathcal F_X = c_F(N-1)d^2$.
    pub fiber_dimension: usize,
    /// $\dim\mathcal O_X = (N-1)\dim K$.
    pub orbit_dimension: usize,
    /// $k/(\beta\kappa)$.
    pub correction: f64,
    /// $N\sum_i\sigma_i^{2/N} + k/(\beta\kappa)$.
    pub mean_l2_norm_sq: f64,
}

impl LaplaceExpansion {
    /// The expansion for the fiber of square $X$ (invertible) at depth $N$, inverse temperature
    /// $\beta$ and weight decay $\kappa$.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] for invalid $\beta,\kappa$ or $N = 0$;
    /// [`BayesError::Unsupported`] for non-square $X$; [`BayesError::RankDeficient`] when $X$ is
    /// singular to working precision (the fiber is then not a manifold of this dimension); SVD
    /// failures.
    pub fn new<T: Scalar>(x: MatRef<'_, T>, depth: usize, beta: f64, kappa: f64) -> Result<Self> {
        positive("beta", beta)?;
        positive("kappa", kappa)?;
        if depth == 0 {
            return Err(BayesError::InvalidParameter {
                name: "depth",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        if x.nrows() != x.ncols() {
            return Err(BayesError::Unsupported {
                what: format!(
                    "the Laplace expansion is for square X; got {}x{}",
                    x.nrows(),
                    x.ncols()
                ),
            });
        }
        let d = x.nrows();
        let sigma = dln_linalg::singular_values(x)?;
        let largest = sigma.first().copied().unwrap_or(0.0);
        let smallest = sigma.last().copied().unwrap_or(0.0);
        if d == 0 || smallest <= d as f64 * f64::EPSILON * largest {
            return Err(BayesError::RankDeficient { smallest, largest });
        }
        let n = depth as f64;
        let leading = n * sigma.iter().map(|s| s.powf(2.0 / n)).sum::<f64>();
        let (c, dim_k) = if T::IS_COMPLEX {
            (2, d * d)
        } else {
            (1, d * (d - 1) / 2)
        };
        let fiber_dimension = c * (depth - 1) * d * d;
        let orbit_dimension = (depth - 1) * dim_k;
        let codimension = fiber_dimension - orbit_dimension;
        let correction = codimension as f64 / (beta * kappa);
        Ok(Self {
            leading,
            codimension,
            fiber_dimension,
            orbit_dimension,
            correction,
            mean_l2_norm_sq: leading + correction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dln_linalg::random::{gaussian, haar_unitary, rng};
    use dln_linalg::{c64, rel_diff};

    fn on_orbit<T: Scalar>(widths: &[usize], x: &Mat<T>, seed: u64) {
        let s = OrbitSampler::new(x.as_ref(), widths).unwrap();
        let mut g = rng(seed);
        let bound = s.orbit().l2_lower_bound();
        for _ in 0..50 {
            let w = s.sample(&mut g);
            let scale = w.l2_norm_sq();
            assert!(w.moment_norm() <= 1e-13 * scale, "{widths:?}: not balanced");
            assert!(
                rel_diff(w.product().as_ref(), x.as_ref()) <= 1e-13,
                "{widths:?}: X moved"
            );
            assert!(
                (w.l2_norm_sq() - bound).abs() <= 1e-13 * bound,
                "{widths:?}: not minimal"
            );
        }
    }

    #[test]
    fn samples_lie_on_the_balanced_orbit() {
        let mut g = rng(1);
        for widths in [vec![3, 3, 3], vec![2, 2, 2, 2, 2]] {
            let x: Mat<f64> = gaussian(&mut g, widths[0], widths[0]);
            on_orbit(&widths, &x, 2);
            let x: Mat<c64> = gaussian(&mut g, widths[0], widths[0]);
            on_orbit(&widths, &x, 3);
        }
        // Rank 2 through wider hidden layers (Stiefel frames).
        let a: Mat<f64> = gaussian(&mut g, 4, 2);
        let b: Mat<f64> = gaussian(&mut g, 2, 3);
        on_orbit(&[3, 5, 4, 4], &(&a * &b), 4);
        let a: Mat<c64> = gaussian(&mut g, 4, 2);
        let b: Mat<c64> = gaussian(&mut g, 2, 3);
        on_orbit(&[3, 5, 4, 4], &(&a * &b), 5);
    }

    /// The law is invariant under $K^{N-1}$: for the statistic $|(W_1)_{00}|^2$, whose mean under Haar
    /// frames is $\frac1{d_1}\sum_j\lambda_j^2|V_{0j}|^2$ ($W_1 = Q_1\Lambda V^*$), the samples and the samples
    /// moved by a fixed $\mathbf U$ both match it within 5 standard errors.
    fn invariant<T: Scalar>(seed: u64) {
        let mut g = rng(seed);
        let widths = [3, 3, 3, 3];
        let x: Mat<T> = gaussian(&mut g, 3, 3);
        let s = OrbitSampler::new(x.as_ref(), &widths).unwrap();
        let lam = s.orbit().lambda();
        let v = &s.orbit().v;
        let want: f64 = (0..3)
            .map(|j| lam[j] * lam[j] * v[(0, j)].modulus_sq())
            .sum::<f64>()
            / 3.0;
        let u: Vec<Mat<T>> = (0..2).map(|_| haar_unitary(&mut g, 3)).collect();
        let m = 4000;
        let (mut a, mut b) = (Vec::with_capacity(m), Vec::with_capacity(m));
        for _ in 0..m {
            let w = s.sample(&mut g);
            a.push(w.layers()[0][(0, 0)].modulus_sq());
            let moved = w.act(&u).unwrap();
            assert!(moved.moment_norm() <= 1e-12 * moved.l2_norm_sq());
            b.push(moved.layers()[0][(0, 0)].modulus_sq());
        }
        for xs in [&a, &b] {
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let se = (var / n).sqrt();
            assert!(
                (mean - want).abs() <= 5.0 * se,
                "{mean} vs {want} (se {se})"
            );
        }
    }

    #[test]
    fn orbit_law_is_invariant() {
        invariant::<f64>(7);
        invariant::<c64>(8);
    }

    #[test]
    fn laplace_dimensions() {
        let mut g = rng(9);
        let x: Mat<f64> = gaussian(&mut g, 3, 3);
        let e = LaplaceExpansion::new(x.as_ref(), 4, 10.0, 0.5).unwrap();
        assert_eq!(e.fiber_dimension, 27);
        assert_eq!(e.orbit_dimension, 9);
        assert_eq!(e.codimension, 18);
        assert!((e.correction - 18.0 / 5.0).abs() <= 1e-15 * 4.0);
        let xc: Mat<c64> = gaussian(&mut g, 2, 2);
        let e = LaplaceExpansion::new(xc.as_ref(), 3, 1.0, 1.0).unwrap();
        assert_eq!(
            (e.fiber_dimension, e.orbit_dimension, e.codimension),
            (16, 8, 8)
        );
        let r: Mat<f64> = gaussian(&mut g, 2, 3);
        assert!(LaplaceExpansion::new(r.as_ref(), 2, 1.0, 1.0).is_err());
        assert!(LaplaceExpansion::new(Mat::<f64>::zeros(2, 2).as_ref(), 2, 1.0, 1.0).is_err());
    }

    /// $d = 1$, $N = 2$, real: the fiber $w_2w_1 = x$ is a hyperbola, $\|\mathbf W\|^2 = 2|x|\cosh2s$ with
    /// $w_1 = \sqrt{|x|}e^s$ and arc length $\|\mathbf W\|\,ds$ (base measure `hausdorff`; the
    /// Jacobian $J_\varphi = \|\mathbf W\|$ for `conditional`). By trapezoidal quadrature (spectrally accurate
    /// here), $\mathbb E\|\mathbf W\|^2 - 2|x| - k/(\beta\kappa)$ is $O(\beta^{-2})$ with $k = 1$ for both base measures.
    #[test]
    fn laplace_expansion_against_quadrature_on_the_hyperbola() {
        let x = 0.8f64;
        let kappa = 0.5;
        let quad = |beta: f64, conditional: bool| -> f64 {
            let (n, l) = (40_000, 6.0);
            let h = 2.0 * l / n as f64;
            let (mut z, mut m) = (0.0, 0.0);
            for i in 0..=n {
                let s = -l + i as f64 * h;
                let r2 = 2.0 * x.abs() * (2.0 * s).cosh();
                let arc = r2.sqrt();
                let jac = if conditional { r2.sqrt() } else { 1.0 };
                let wgt = arc / jac * (-0.5 * beta * kappa * (r2 - 2.0 * x.abs())).exp();
                z += wgt;
                m += wgt * r2;
            }
            m / z
        };
        let mx: Mat<f64> = Mat::from_fn(1, 1, |_, _| x);
        for conditional in [false, true] {
            let mut prev = f64::NAN;
            for beta in [200.0, 400.0, 800.0] {
                let e = LaplaceExpansion::new(mx.as_ref(), 2, beta, kappa).unwrap();
                assert_eq!(e.codimension, 1);
                let err = (quad(beta, conditional) - e.mean_l2_norm_sq).abs();
                // O(beta^-2): the error times (beta kappa)^2 stays bounded, and halves twice per doubling.
                assert!(
                    err * (beta * kappa).powi(2) < 10.0,
                    "beta={beta}: err {err:e}"
                );
                if prev.is_finite() {
                    let ratio = prev / err;
                    assert!((3.0..5.0).contains(&ratio), "beta={beta}: ratio {ratio}");
                }
                prev = err;
            }
        }
    }
}
