//! The Gaussian prior of L² regularization (theory §6, (4.3) with erratum E6).
//!
//! Weight decay $\tfrac\kappa2\|\mathbf W\|^2$ at inverse temperature $\beta$ is the prior
//! $$\rho_{\beta,\kappa}(\mathbf W) = \Big(\frac{\beta\kappa}{2\pi}\Big)^{D/2}e^{-\beta\kappa\|\mathbf W\|^2/2},
//! \qquad D = c_F\sum_{k=1}^N d_kd_{k-1},$$
//! with respect to Lebesgue measure on the $D$ real coordinates (real and imaginary parts over
//! $\mathbb C$): every real coordinate is independent $\mathcal N(0, 1/(\beta\kappa))$. It is the
//! stationary law of the OU process $d\mathbf W = -\kappa\mathbf W\,dt + \sqrt{2/\beta}\,d\mathbf B$
//! ([`crate::ou`]).
//!
//! **Erratum E6.** The paper prints the density $\propto e^{-\beta\kappa\|\mathbf W\|^2}$, which is the
//! stationary law of the drift $-2\kappa\mathbf W$, not of (4.2). The default
//! [`DensityConvention::Corrected`] implements the correct law; the printed one is available as
//! [`DensityConvention::Printed`] (variance $1/(2\beta\kappa)$ per coordinate) for comparison with the
//! paper, and `cargo xtask verify` shows that it fails the OU stationarity check.
//!
//! Closed forms ($s = 1/(\beta\kappa)$ the variance per real coordinate):
//! - $\mathbb E\|\mathbf W\|^2 = Ds$, $\operatorname{Var}\|\mathbf W\|^2 = 2Ds^2$;
//! - $\mathbb E\[G_k\] = c_F(d_{k-1}-d_{k+1})\,s\,I_{d_k}$: rectangular widths are imbalanced under the prior;
//! - the push-forward law of $X=\varphi(\mathbf W)$ has $\mathbb E[XX^*] = (c_Fs)^N\big(\prod_{k=0}^{N-1}d_k\big)I_{d_N}$.

use crate::error::{BayesError, Result, positive};
use crate::normal::NormalSource;
use dln_algebra::Network;
use dln_linalg::Scalar;
use faer::Mat;
use rand::Rng;
use rand_distr::StandardNormal;

/// $c_F$: the number of real coordinates of one scalar, 1 over $\mathbb R$ and 2 over $\mathbb C$.
pub fn c_f<T: Scalar>() -> usize {
    if T::IS_COMPLEX { 2 } else { 1 }
}

/// The real dimension $D = c_F\sum_{k=1}^N d_kd_{k-1}$ of the weight space with widths
/// $d_0,\dots,d_N$.
pub fn real_dimension<T: Scalar>(widths: &[usize]) -> usize {
    c_f::<T>() * widths.windows(2).map(|p| p[0] * p[1]).sum::<usize>()
}

/// Which normalisation of the stationary density of (4.2) to use (erratum E6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DensityConvention {
    /// $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$: the stationary law of
    /// $d\mathbf W = -\kappa\mathbf W\,dt+\sqrt{2/\beta}\,d\mathbf B$ (correct).
    #[default]
    Corrected,
    /// $\propto e^{-\beta\kappa\|\mathbf W\|^2}$ as printed in (4.3): the stationary law of the drift
    /// $-2\kappa\mathbf W$, **not** of (4.2). Provided only to reproduce the paper's formula.
    Printed,
}

/// The Gaussian prior $\rho_{\beta,\kappa}$ on networks of widths $d_0,\dots,d_N$.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianPrior {
    beta: f64,
    kappa: f64,
    widths: Vec<usize>,
    convention: DensityConvention,
}

impl GaussianPrior {
    /// The prior with inverse temperature `beta`, weight decay `kappa` and widths $d_0,\dots,d_N$
    /// ($d_0$ the input width), in the [corrected](DensityConvention::Corrected) convention.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] unless $\beta,\kappa$ are finite and positive;
    /// [`BayesError::InvalidWidths`] unless there are at least two widths, all positive.
    pub fn new(beta: f64, kappa: f64, widths: &[usize]) -> Result<Self> {
        positive("beta", beta)?;
        positive("kappa", kappa)?;
        if widths.len() < 2 {
            return Err(BayesError::InvalidWidths {
                widths: widths.to_vec(),
                reason: "need d_0, ..., d_N with N >= 1",
            });
        }
        if widths.contains(&0) {
            return Err(BayesError::InvalidWidths {
                widths: widths.to_vec(),
                reason: "every width must be positive",
            });
        }
        Ok(Self {
            beta,
            kappa,
            widths: widths.to_vec(),
            convention: DensityConvention::Corrected,
        })
    }

    /// The same prior in another [`DensityConvention`].
    pub fn with_convention(mut self, convention: DensityConvention) -> Self {
        self.convention = convention;
        self
    }

    /// $\beta$.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// $\kappa$.
    pub fn kappa(&self) -> f64 {
        self.kappa
    }

    /// $d_0,\dots,d_N$.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The depth $N$.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// The convention in use.
    pub fn convention(&self) -> DensityConvention {
        self.convention
    }

    /// The precision per real coordinate: $\beta\kappa$ (corrected) or $2\beta\kappa$ (printed).
    pub fn precision(&self) -> f64 {
        match self.convention {
            DensityConvention::Corrected => self.beta * self.kappa,
            DensityConvention::Printed => 2.0 * self.beta * self.kappa,
        }
    }

    /// The variance $s$ of each real coordinate: $1/(\beta\kappa)$ (corrected).
    pub fn variance(&self) -> f64 {
        1.0 / self.precision()
    }

    /// $D = c_F\sum_k d_kd_{k-1}$.
    pub fn dimension<T: Scalar>(&self) -> usize {
        real_dimension::<T>(&self.widths)
    }

    /// $\log\rho(\mathbf W) = -\tfrac{p}{2}\|\mathbf W\|^2 + \tfrac D2\log\tfrac{p}{2\pi}$ with $p$ the
    /// [precision](Self::precision), normalised on Lebesgue measure of the $D$ real coordinates.
    ///
    /// # Panics
    /// If the widths of `w` differ from the prior's.
    #[track_caller]
    pub fn log_density<T: Scalar>(&self, w: &Network<T>) -> f64 {
        assert_eq!(w.widths(), self.widths, "log_density: widths differ");
        let p = self.precision();
        -0.5 * p * w.l2_norm_sq()
            + 0.5 * self.dimension::<T>() as f64 * (p / (2.0 * std::f64::consts::PI)).ln()
    }

    /// One exact sample: each real coordinate $\sqrt s\,\xi$ with $\xi$ the next standard normal
    /// of `noise` (a [`crate::NormalStream`], as `dln sample prior` uses, or any [`rand::Rng`]),
    /// taken layer by layer ($W_1$ first), column by column, real part before imaginary part.
    pub fn sample<T: Scalar, S: NormalSource + ?Sized>(&self, noise: &mut S) -> Network<T> {
        let sd = self.variance().sqrt();
        let layers = self
            .widths
            .windows(2)
            .map(|p| {
                let mut m = Mat::<T>::zeros(p[1], p[0]);
                crate::ou::with_noise(&mut m, noise, |_, _, piece, z| {
                    if T::IS_COMPLEX {
                        for (x, zi) in piece.iter_mut().zip(z.chunks_exact(2)) {
                            *x = T::from_parts(sd * zi[0], sd * zi[1]);
                        }
                    } else {
                        for (x, &zi) in piece.iter_mut().zip(z) {
                            *x = T::from_f64(sd * zi);
                        }
                    }
                });
                m
            })
            .collect();
        Network::new(layers).expect("positive widths compose")
    }

    /// One sample of the push-forward law of $X = \varphi(\mathbf W)$, $\mathbf W\sim\rho$.
    pub fn sample_x<T: Scalar, S: NormalSource + ?Sized>(&self, noise: &mut S) -> Mat<T> {
        self.sample::<T, S>(noise).product()
    }

    /// $\mathbb E\|\mathbf W\|^2 = Ds$.
    pub fn mean_l2_norm_sq<T: Scalar>(&self) -> f64 {
        self.dimension::<T>() as f64 * self.variance()
    }

    /// $\operatorname{Var}\|\mathbf W\|^2 = 2Ds^2$ ($\|\mathbf W\|^2/s$ is $\chi^2_D$).
    pub fn var_l2_norm_sq<T: Scalar>(&self) -> f64 {
        2.0 * self.dimension::<T>() as f64 * self.variance().powi(2)
    }

    /// The scalar $m_k$ with $\mathbb E\[G_k\] = m_kI_{d_k}$: $m_k = c_F(d_{k-1}-d_{k+1})s$, for the
    /// junctions $k = 1,\dots,N-1$ (entry `k-1`).
    pub fn mean_moments<T: Scalar>(&self) -> Vec<f64> {
        let (c, s) = (c_f::<T>() as f64, self.variance());
        (1..self.depth())
            .map(|k| c * (self.widths[k - 1] as f64 - self.widths[k + 1] as f64) * s)
            .collect()
    }

    /// $\mathbb E\|X\|_F^2 = (c_Fs)^N\prod_{k=0}^{N}d_k$ under the push-forward law
    /// ($\mathbb E[XX^*] = (c_Fs)^N\prod_{k<N}d_k\,I$).
    pub fn mean_x_frob_sq<T: Scalar>(&self) -> f64 {
        let cs = c_f::<T>() as f64 * self.variance();
        cs.powi(self.depth() as i32) * self.widths.iter().map(|&d| d as f64).product::<f64>()
    }
}

/// A scalar whose real coordinates are i.i.d. $\mathcal N(0, \mathrm{sd}^2)$.
#[inline]
pub(crate) fn gaussian_coords<T: Scalar, R: Rng + ?Sized>(rng: &mut R, sd: f64) -> T {
    let x: f64 = rng.sample(StandardNormal);
    if T::IS_COMPLEX {
        let y: f64 = rng.sample(StandardNormal);
        T::from_parts(sd * x, sd * y)
    } else {
        T::from_f64(sd * x)
    }
}
