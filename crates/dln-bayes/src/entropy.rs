//! The Boltzmann entropy $S(X) = \log\operatorname{vol}(\mathcal O_X)$ of the balanced orbit
//! (theory §9, claims 31 and 32), its gradient, and the free energy $E(X)-\beta^{-1}S(X)$.
//!
//! For square $X\in\mathbb F^{d\times d}$ of full rank with distinct singular values
//! $\sigma_1>\dots>\sigma_d>0$, $\lambda_i = \sigma_i^{1/N}$, the orbit map
//! $K^{N-1}\to\mathcal O_X$, $\mathbf Q\mapsto\mathbf Q\cdot\mathbf C$ ($K = O_d$ or $U_d$) is a
//! diffeomorphism, and the pull-back of the Frobenius metric has, relative to the bi-invariant
//! metric $\operatorname{Re}\operatorname{Tr}(a^*b)$ on $\mathfrak k^{N-1}$, the constant determinant
//! $$\mathcal D_{\mathbb R} = \prod_{i<j}K_{ij},\qquad
//! \mathcal D_{\mathbb C} = \prod_{i<j}K_{ij}^2\prod_i N\lambda_i^{2(N-1)},\qquad
//! K_{ij} = \frac{\sigma_i^2-\sigma_j^2}{\lambda_i^2-\lambda_j^2} = \sum_{p=1}^N\lambda_i^{2(N-p)}\lambda_j^{2(p-1)} .$$
//! Hence, **with this normalisation stated explicitly**,
//! $$S(X) = (N-1)\log\operatorname{vol}(K) + \tfrac12\log\mathcal D,$$
//! where $\operatorname{vol}(K)$ is the volume in the metric $\operatorname{Re}\operatorname{Tr}(a^*b)$
//! ([`log_group_volume`]):
//! $\operatorname{vol}(O_d) = 2\cdot2^{d(d-1)/4}\prod_{k=1}^{d-1}|S^k|$ and
//! $\operatorname{vol}(U_d) = 2^{d(d-1)/2}\prod_{k=1}^{d}|S^{2k-1}|$, $|S^k| = 2\pi^{(k+1)/2}/\Gamma(\tfrac{k+1}2)$.
//!
//! # Accuracy
//! $\log K_{ij}$ is computed without cancellation:
//! $\log K_{ij} = 2(N-1)\log\lambda_i + \log\frac{\operatorname{expm1}(2t)}{\operatorname{expm1}(2t/N)}$ with
//! $t = \operatorname{log1p}((\sigma_j-\sigma_i)/\sigma_i)\le0$ (the geometric sum
//! $\sum_{p<N}r^p$, $r = (\lambda_j/\lambda_i)^2$), so nearly equal singular values lose no digits.
//! The gradient uses the same weights.

use crate::error::{BayesError, Result, positive};
use dln_flows::loss::Loss;
use dln_linalg::{Scalar, thin_svd};
use faer::{Mat, MatRef};

/// $\log\Gamma(m/2)$ for a positive integer $m$, by the exact recursion from $\Gamma(\tfrac12)=\sqrt\pi$,
/// $\Gamma(1)=1$.
fn ln_gamma_half(m: usize) -> f64 {
    assert!(m >= 1);
    let mut x = if m % 2 == 0 { 1.0 } else { 0.5 };
    let mut acc = if m % 2 == 0 {
        0.0
    } else {
        0.5 * std::f64::consts::PI.ln()
    };
    while 2.0 * x < m as f64 - 0.5 {
        acc += x.ln();
        x += 1.0;
    }
    acc
}

/// $\log|S^k|$, $|S^k| = 2\pi^{(k+1)/2}/\Gamma(\tfrac{k+1}2)$ (the unit $k$-sphere in $\mathbb R^{k+1}$).
pub fn log_sphere_volume(k: usize) -> f64 {
    std::f64::consts::LN_2 + 0.5 * (k + 1) as f64 * std::f64::consts::PI.ln() - ln_gamma_half(k + 1)
}

/// $\log\operatorname{vol}(K)$ for $K = O_d$ (real) or $U_d$ (complex) in the bi-invariant metric
/// $\operatorname{Re}\operatorname{Tr}(a^*b)$ on its Lie algebra:
/// $\operatorname{vol}(O_d) = 2\cdot2^{d(d-1)/4}\prod_{k=1}^{d-1}|S^k|$,
/// $\operatorname{vol}(U_d) = 2^{d(d-1)/2}\prod_{k=1}^{d}|S^{2k-1}|$ (the fibrations $K_d\to S^{c_Fd-1}$,
/// whose horizontal off-diagonal directions are stretched by $\sqrt2$).
pub fn log_group_volume(d: usize, complex: bool) -> f64 {
    let ln2 = std::f64::consts::LN_2;
    let pairs = (d * d.saturating_sub(1)) as f64;
    if complex {
        0.5 * pairs * ln2 + (1..=d).map(|k| log_sphere_volume(2 * k - 1)).sum::<f64>()
    } else {
        ln2 + 0.25 * pairs * ln2 + (1..d).map(log_sphere_volume).sum::<f64>()
    }
}

/// Checks that $\sigma$ (non-increasing) is of full rank with distinct values, to working
/// precision: consecutive gaps and $\sigma_d$ must exceed $4d\varepsilon\sigma_1$.
///
/// # Errors
/// [`BayesError::RankDeficient`], [`BayesError::RepeatedSingularValues`].
pub fn check_distinct(sigma: &[f64]) -> Result<()> {
    let d = sigma.len();
    if d == 0 {
        return Ok(());
    }
    let floor = 4.0 * d as f64 * f64::EPSILON * sigma[0];
    let smallest = sigma[d - 1];
    if smallest.partial_cmp(&floor) != Some(std::cmp::Ordering::Greater) {
        return Err(BayesError::RankDeficient {
            smallest,
            largest: sigma[0],
        });
    }
    for i in 0..d - 1 {
        if (sigma[i] - sigma[i + 1]).partial_cmp(&floor) != Some(std::cmp::Ordering::Greater) {
            return Err(BayesError::RepeatedSingularValues {
                i: i + 1,
                j: i + 2,
                si: sigma[i],
                sj: sigma[i + 1],
            });
        }
    }
    Ok(())
}

/// $\log K_{ij}$ for $\sigma_i\ge\sigma_j>0$, cancellation-free (see the module docs).
pub fn log_kernel(si: f64, sj: f64, depth: usize) -> f64 {
    let n = depth as f64;
    let t = ((sj - si) / si).ln_1p();
    let geometric = if t < 0.0 {
        (2.0 * t).exp_m1() / (2.0 * t / n).exp_m1()
    } else {
        n
    };
    2.0 * (n - 1.0) / n * si.ln() + geometric.ln()
}

/// $\tfrac{\partial\log K_{ij}}{\partial\sigma_i}$ and $\tfrac{\partial\log K_{ij}}{\partial\sigma_j}$:
/// with weights $w_p = r^{p-1}$, $r = (\lambda_j/\lambda_i)^2$,
/// $\partial_{\sigma_i}\log K = \frac{1}{\sigma_i}\frac{\sum_p\frac{2(N-p)}{N}w_p}{\sum_pw_p}$ and
/// $\partial_{\sigma_j}\log K = \frac{1}{\sigma_j}\frac{\sum_p\frac{2(p-1)}{N}w_p}{\sum_pw_p}$ (no cancellation).
fn dlog_kernel(si: f64, sj: f64, depth: usize) -> (f64, f64) {
    let n = depth as f64;
    let r = (sj / si).powf(2.0 / n);
    let (mut sw, mut si_num, mut sj_num, mut w) = (0.0, 0.0, 0.0, 1.0);
    for p in 1..=depth {
        sw += w;
        si_num += 2.0 * (n - p as f64) / n * w;
        sj_num += 2.0 * (p as f64 - 1.0) / n * w;
        w *= r;
    }
    (si_num / (sw * si), sj_num / (sw * sj))
}

/// The entropy and the pieces of its normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Entropy {
    /// $S(X) = (N-1)\log\operatorname{vol}(K) + \tfrac12\log\mathcal D$.
    pub entropy: f64,
    /// $\log\operatorname{vol}(K)$, $K = O_d$ or $U_d$ in the metric $\operatorname{Re}\operatorname{Tr}(a^*b)$.
    pub log_group_volume: f64,
    /// $\log\mathcal D$, the log-determinant of the orbit map's pulled-back metric (claims 31, 32).
    pub log_density_sq: f64,
    /// The depth $N$.
    pub depth: usize,
    /// Whether the field is $\mathbb C$.
    pub complex: bool,
}

/// The normalisation of [`Entropy::entropy`], in words (for reports).
pub const NORMALIZATION: &str = "S = log vol(O_X) in the metric induced by the Frobenius inner product; \
     vol(K) for K = O(d) or U(d) in the bi-invariant metric Re Tr(a^* b): \
     vol(O_d) = 2*2^(d(d-1)/4)*prod_{k=1}^{d-1}|S^k|, vol(U_d) = 2^(d(d-1)/2)*prod_{k=1}^{d}|S^(2k-1)|";

/// $\log\mathcal D$ (claims 31, 32) from the singular values (non-increasing, distinct, positive).
///
/// # Errors
/// See [`check_distinct`]; `depth == 0`.
pub fn log_orbit_density_sq(sigma: &[f64], depth: usize, complex: bool) -> Result<f64> {
    if depth == 0 {
        return Err(BayesError::InvalidParameter {
            name: "depth",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    check_distinct(sigma)?;
    let c = if complex { 2.0 } else { 1.0 };
    let n = depth as f64;
    let mut acc = 0.0;
    for i in 0..sigma.len() {
        for j in i + 1..sigma.len() {
            acc += c * log_kernel(sigma[i], sigma[j], depth);
        }
        if complex {
            acc += n.ln() + 2.0 * (n - 1.0) / n * sigma[i].ln();
        }
    }
    Ok(acc)
}

/// $S$ from the singular values of a square $d\times d$ matrix $X$.
///
/// # Errors
/// See [`log_orbit_density_sq`].
pub fn entropy_from_sigma(sigma: &[f64], depth: usize, complex: bool) -> Result<Entropy> {
    let log_density_sq = log_orbit_density_sq(sigma, depth, complex)?;
    let log_group_volume = log_group_volume(sigma.len(), complex);
    Ok(Entropy {
        entropy: (depth as f64 - 1.0) * log_group_volume + 0.5 * log_density_sq,
        log_group_volume,
        log_density_sq,
        depth,
        complex,
    })
}

fn require_square<T: Scalar>(x: MatRef<'_, T>) -> Result<()> {
    if x.nrows() == x.ncols() {
        Ok(())
    } else {
        Err(BayesError::Unsupported {
            what: format!(
                "the entropy is defined for square X (the paper's setting); got {}x{}",
                x.nrows(),
                x.ncols()
            ),
        })
    }
}

/// $S(X) = \log\operatorname{vol}(\mathcal O_X)$ for square $X$ of full rank with distinct singular values.
///
/// # Errors
/// Non-square $X$ ([`BayesError::Unsupported`]), SVD failures, and [`check_distinct`].
pub fn entropy<T: Scalar>(x: MatRef<'_, T>, depth: usize) -> Result<Entropy> {
    require_square(x)?;
    let s = dln_linalg::singular_values(x)?;
    entropy_from_sigma(&s, depth, T::IS_COMPLEX)
}

/// $\partial S/\partial\sigma_i$ (see `dlog_kernel` for the cancellation-free form; over $\mathbb C$ the
/// extra term $(N-1)/(N\sigma_i)$).
///
/// # Errors
/// See [`log_orbit_density_sq`].
pub fn entropy_gradient_sigma(sigma: &[f64], depth: usize, complex: bool) -> Result<Vec<f64>> {
    log_orbit_density_sq(sigma, depth, complex)?;
    let (c, n) = (if complex { 2.0 } else { 1.0 }, depth as f64);
    let mut g = vec![0.0; sigma.len()];
    for i in 0..sigma.len() {
        for j in i + 1..sigma.len() {
            let (gi, gj) = dlog_kernel(sigma[i], sigma[j], depth);
            g[i] += 0.5 * c * gi;
            g[j] += 0.5 * c * gj;
        }
        if complex {
            g[i] += (n - 1.0) / (n * sigma[i]);
        }
    }
    Ok(g)
}

/// $\nabla_XS = U\operatorname{diag}(\partial S/\partial\sigma)V^*$ for the pairing
/// $\operatorname{Re}\operatorname{Tr}(A^*B)$ (since $\nabla_X\sigma_i = u_iv_i^*$ for distinct $\sigma$).
///
/// # Errors
/// As [`entropy`].
pub fn entropy_gradient<T: Scalar>(x: MatRef<'_, T>, depth: usize) -> Result<Mat<T>> {
    require_square(x)?;
    let svd = thin_svd(x)?;
    let g = entropy_gradient_sigma(&svd.s, depth, T::IS_COMPLEX)?;
    Ok(dln_linalg::scale_cols(svd.u.as_ref(), &g) * svd.v.adjoint())
}

/// The free energy $F(X) = E(X) - \beta^{-1}S(X)$ as a [`Loss`], so that
/// [`dln_flows::learning::learning_flow`] with it is the gradient flow of the free energy in the
/// metric $g^N$: $\dot X = -\mathcal A_{N,X}(E'(X) - \beta^{-1}\nabla_XS)$.
///
/// Where $S$ is undefined (repeated or zero singular values, $S=-\infty$) the value is $+\infty$
/// and the gradient is NaN, which the flows report as divergence.
#[derive(Debug, Clone)]
pub struct FreeEnergy<L> {
    /// The loss $E$.
    pub loss: L,
    /// $\beta$.
    pub beta: f64,
    /// The depth $N$ of the network whose orbit entropy is used.
    pub depth: usize,
}

impl<L> FreeEnergy<L> {
    /// $E - \beta^{-1}S$ for depth $N$.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] unless $\beta>0$ and $N\ge1$.
    pub fn new(loss: L, beta: f64, depth: usize) -> Result<Self> {
        positive("beta", beta)?;
        if depth == 0 {
            return Err(BayesError::InvalidParameter {
                name: "depth",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        Ok(Self { loss, beta, depth })
    }
}

impl<T: Scalar, L: Loss<T>> Loss<T> for FreeEnergy<L> {
    fn shape(&self) -> (usize, usize) {
        self.loss.shape()
    }

    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        let (e, mut g) = self.loss.value_and_gradient(x);
        let (s, ds) = match (entropy(x, self.depth), entropy_gradient(x, self.depth)) {
            (Ok(s), Ok(ds)) => (s.entropy, ds),
            _ => (
                f64::NEG_INFINITY,
                Mat::from_fn(x.nrows(), x.ncols(), |_, _| T::from_f64(f64::NAN)),
            ),
        };
        let inv_beta = 1.0 / self.beta;
        for j in 0..g.ncols() {
            for i in 0..g.nrows() {
                g[(i, j)] -= ds[(i, j)].scale(inv_beta);
            }
        }
        (e - inv_beta * s, g)
    }
}
