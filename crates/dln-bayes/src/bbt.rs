//! Bayesian balanced truncation: balancing a linear system for Bayesian inference of its initial
//! state (Qian, Tabeart, Beattie, Gugercin, Jiang, Kramer, Narayan, *Model reduction of linear
//! dynamical systems via balancing for Bayesian inference*, J. Sci. Comput. 90 (2022); Spantini,
//! Solonen, Cui, Martin, Tenorio, Marzouk, *Optimal low-rank approximations of Bayesian linear
//! inverse problems*, SIAM J. Sci. Comput. 37 (2015)) — the linear-systems analogue of reading
//! L² regularization as a Gaussian prior.
//!
//! # The inference problem (what is assumed)
//! A stable system $\dot x = Ax$ (continuous time) or $x_{k+1} = Ax_k$ (discrete time) with
//! unknown initial state $x_0$, and:
//! - **prior** $x_0\sim\mathcal N(0, P)$, $P$ the reachability Gramian of $(A, B)$,
//!   $AP+PA^\top+BB^\top = 0$ (DT: $APA^\top-P+BB^\top = 0$): the stationary covariance of
//!   $dx = Ax\,dt + B\,dw$ (DT: $x_{k+1} = Ax_k+Bw_k$), i.e. the state of a system that has been
//!   driven by white noise for a long time — the analogue of the OU prior (4.2) of the weights;
//! - **observations** over an infinite horizon with Gaussian noise of covariance $\Gamma_\varepsilon$
//!   ($p\times p$, positive definite): continuous time $dy = Cx(t)\,dt + \Gamma_\varepsilon^{1/2}dW(t)$,
//!   $t\in[0,\infty)$ (white-noise observation $y = Cx+\varepsilon$ of intensity $\Gamma_\varepsilon$);
//!   discrete time $y_k = Cx_k+\varepsilon_k$, $\varepsilon_k\sim\mathcal N(0,\Gamma_\varepsilon)$ i.i.d.,
//!   $k = 0,1,2,\dots$
//!
//! The log-likelihood of $x_0$ is $x_0^\top b - \tfrac12x_0^\top Qx_0$ + const, with the sufficient
//! statistic $b = \int_0^\infty e^{A^\top t}C^\top\Gamma_\varepsilon^{-1}dy(t)$
//! (DT: $b = \sum_kA^{\top k}C^\top\Gamma_\varepsilon^{-1}y_k$) and the **Fisher information**
//! $$Q = \int_0^\infty e^{A^\top t}C^\top\Gamma_\varepsilon^{-1}Ce^{At}dt,$$
//! the observability Gramian of $(A, \Gamma_\varepsilon^{-1/2}C)$. Given $x_0$, $b\sim\mathcal N(Qx_0, Q)$.
//! The posterior is Gaussian with
//! $$\Gamma_{\mathrm{pos}} = (P^{-1}+Q)^{-1},\qquad \mu_{\mathrm{pos}} = \Gamma_{\mathrm{pos}}\,b .$$
//!
//! # Balancing the pencil $(Q, P^{-1})$
//! With the Cholesky factors $P = SS^\top$, $Q = R^\top R$ of `dln-systems` and the SVD
//! $RS = U\Sigma V^\top$, $S^\top QS = V\Sigma^2V^\top$: the generalised eigenvalues of
//! $Qw = \delta P^{-1}w$ are $\delta_i = \sigma_i^2$, the **squared Hankel singular values** of
//! $(A, B, \Gamma_\varepsilon^{-1/2}C)$, with $P^{-1}$-orthonormal eigenvectors $\hat w_i = Sv_i$. Hence
//! $$\Gamma_{\mathrm{pos}} = SV\,\mathrm{diag}\Big(\frac1{1+\sigma_i^2}\Big)V^\top S^\top,$$
//! which never inverts $P$ (it also holds for a singular $P$, the posterior living on its range).
//! The two normalisations of the balanced coordinates:
//! - **prior-whitened** $\hat x = V^\top S^{-1}x$ (prior $I$, Fisher $\Sigma^2$):
//!   $\hat\Gamma_{\mathrm{pos}} = \mathrm{diag}(1/(1+\sigma_i^2))$;
//! - **Hankel-balanced** $\tilde x = Tx$, $T = \Sigma^{-1/2}U^\top R$, $T^{-1} = SV\Sigma^{-1/2}$
//!   (prior $TPT^\top = \Sigma$, Fisher $T^{-\top}QT^{-1} = \Sigma$, as in balanced truncation):
//!   $\tilde\Gamma_{\mathrm{pos}} = (\Sigma^{-1}+\Sigma)^{-1} = \mathrm{diag}(\sigma_i/(1+\sigma_i^2))$ —
//!   the form written in issue 7, right for this (and only this) scaling.
//!
//! # Reduced posteriors and the Förstner distance
//! - **Optimal low-rank update** (Spantini et al., Theorem 2.3): among all
//!   $\hat\Gamma = P - KK^\top\succ0$ with $\operatorname{rank}K\le r$, the Förstner distance
//!   $d_F(\Gamma_{\mathrm{pos}},\hat\Gamma)^2 = \sum_i\log^2\lambda_i(\Gamma_{\mathrm{pos}},\hat\Gamma)$ is
//!   minimised by $\hat\Gamma_r = P - \sum_{i\le r}\frac{\sigma_i^2}{1+\sigma_i^2}\hat w_i\hat w_i^\top$, with
//!   $$d_F(\Gamma_{\mathrm{pos}},\hat\Gamma_r)^2 = \sum_{i>r}\log^2(1+\sigma_i^2).$$
//! - **BT posterior** (Qian et al.): truncate the Hankel-balanced system to its $r$ leading states,
//!   $(A_r, B_r, C_r) = (T_LAT_R, T_LB, \Gamma_\varepsilon^{-1/2}CT_R)$, $T_L = \Sigma_r^{-1/2}U_r^\top R$,
//!   $T_R = SV_r\Sigma_r^{-1/2}$, and infer $x_0$ from the reduced forward model
//!   $x_0\mapsto C_re^{A_rt}T_Lx_0$. Its Fisher information is $T_L^\top Q_rT_L$ with $Q_r$ the
//!   observability Gramian of the reduced model (solved afresh by `dln-systems`), and the
//!   posterior $\Gamma_{\mathrm{BT},r} = (P^{-1}+T_L^\top Q_rT_L)^{-1}$ (computed without $P^{-1}$).
//!   In continuous time the truncated balanced system is balanced ($Q_r = \Sigma_r$, the (1,1)
//!   block of the Lyapunov equation), so $\Gamma_{\mathrm{BT},r} = \hat\Gamma_r$: **balanced truncation
//!   gives the optimal posterior approximation**. In discrete time $Q_r\ne\Sigma_r$ in general and
//!   the BT posterior is only a (suboptimal) rank-$r$ update.
//!
//! The identities are tested against dense computations (`tests/bbt.rs`) and checked by
//! `cargo xtask verify` (check `bayes-bbt`).

use crate::error::{BayesError, Result};
use dln_linalg::hermitian::{HermitianEigen, pd_inv_sqrt};
use dln_systems::gramian::{GramianFactors, gramian_factors};
use dln_systems::model::StateSpace;
use faer::{Mat, MatRef};
use rand::Rng;
use rand_distr::StandardNormal;

/// The Bayesian inference problem of the initial state of a stable system, balanced.
#[derive(Debug, Clone)]
pub struct BayesianBalancing {
    /// The system with the whitened output $\Gamma_\varepsilon^{-1/2}C$ (and $D = 0$).
    whitened: StateSpace,
    /// $S$ with $P = SS^\top$ (prior covariance factor).
    s: Mat<f64>,
    /// $R$ with $Q = R^\top R$ (Fisher information factor).
    r: Mat<f64>,
    /// Left singular vectors $U$ of $RS = U\Sigma V^\top$.
    u: Mat<f64>,
    /// Right singular vectors $V$ (the prior-whitened eigenvectors of the pencil).
    v: Mat<f64>,
    /// $\sigma_1\ge\dots\ge\sigma_n\ge0$.
    hsv: Vec<f64>,
}

impl BayesianBalancing {
    /// Sets up the problem for the stable system $(A, B, C)$ (its $D$ is ignored) and the noise
    /// covariance $\Gamma_\varepsilon$ (`None` = $I_p$): prior $\mathcal N(0, P)$, Fisher information
    /// $Q$ of $(A,\Gamma_\varepsilon^{-1/2}C)$, and the SVD of $RS$. Continuous or discrete time, as
    /// the system's sampling says.
    ///
    /// # Errors
    /// [`BayesError::Systems`] if $A$ is not stable (naming the eigenvalue) or a decomposition
    /// fails; [`BayesError::Unsupported`] if `noise` is not $p\times p$, not finite, not symmetric
    /// or not positive definite.
    pub fn new(sys: &StateSpace, noise: Option<MatRef<'_, f64>>) -> Result<Self> {
        let p = sys.outputs();
        let c_w = match noise {
            None => sys.c().to_owned(),
            Some(g) => {
                if g.nrows() != p || g.ncols() != p {
                    return Err(BayesError::Unsupported {
                        what: format!(
                            "the noise covariance must be {p}x{p} (one row and column per output), got {}x{}",
                            g.nrows(),
                            g.ncols()
                        ),
                    });
                }
                let named = |e: dln_linalg::LinalgError| BayesError::Unsupported {
                    what: format!("the noise covariance: {e}"),
                };
                dln_linalg::check_finite(g).map_err(named)?;
                require_symmetric(g, "noise covariance")?;
                pd_inv_sqrt(g).map_err(named)? * sys.c()
            }
        };
        let whitened = StateSpace::new(
            sys.a().to_owned(),
            sys.b().to_owned(),
            c_w,
            Mat::zeros(p, sys.inputs()),
            sys.sampling(),
        )?;
        let GramianFactors { s, r } = gramian_factors(&whitened)?;
        let rs = &r * &s;
        let svd = dln_linalg::thin_svd(rs.as_ref())?;
        Ok(Self {
            whitened,
            s,
            r,
            u: svd.u,
            v: svd.v,
            hsv: svd.s,
        })
    }

    /// The state dimension $n$.
    pub fn order(&self) -> usize {
        self.hsv.len()
    }

    /// The Hankel singular values $\sigma_i$ of $(A, B, \Gamma_\varepsilon^{-1/2}C)$, non-increasing:
    /// $\sigma_i^2$ are the generalised eigenvalues of the pencil $(Q, P^{-1})$.
    pub fn hsv(&self) -> &[f64] {
        &self.hsv
    }

    /// The system $(A, B, \Gamma_\varepsilon^{-1/2}C, 0)$ whose Gramians are the prior covariance and
    /// the Fisher information.
    pub fn whitened_system(&self) -> &StateSpace {
        &self.whitened
    }

    /// $S$ with $P = SS^\top$ (upper triangular).
    pub fn prior_factor(&self) -> MatRef<'_, f64> {
        self.s.as_ref()
    }

    /// $R$ with $Q = R^\top R$ (lower triangular).
    pub fn fisher_factor(&self) -> MatRef<'_, f64> {
        self.r.as_ref()
    }

    /// The eigenvectors $\hat w_i = Sv_i$ of the pencil $(Q, P^{-1})$, $Q\hat w_i = \sigma_i^2P^{-1}\hat w_i$,
    /// normalised $\hat w_i^\top P^{-1}\hat w_j = \delta_{ij}$, one per column (the directions the data
    /// inform most come first).
    pub fn pencil_eigenvectors(&self) -> Mat<f64> {
        &self.s * &self.v
    }

    /// The prior covariance $P = SS^\top$ (the reachability Gramian).
    pub fn prior_covariance(&self) -> Mat<f64> {
        &self.s * self.s.transpose()
    }

    /// The Fisher information $Q = R^\top R$ (the observability Gramian of $(A,\Gamma_\varepsilon^{-1/2}C)$).
    pub fn fisher_information(&self) -> Mat<f64> {
        self.r.transpose() * &self.r
    }

    /// $SV\,\mathrm{diag}(d)\,V^\top S^\top$ for the leading `d.len()` columns of $V$.
    fn sv_form(&self, d: &[f64]) -> Mat<f64> {
        let k = d.len();
        let sv = &self.s * self.v.get(.., ..k);
        let svd = dln_linalg::scale_cols(sv.as_ref(), d);
        svd * sv.transpose()
    }

    /// The posterior covariance $\Gamma_{\mathrm{pos}} = (P^{-1}+Q)^{-1} = SV\mathrm{diag}(1/(1+\sigma_i^2))V^\top S^\top$.
    pub fn posterior_covariance(&self) -> Mat<f64> {
        let d: Vec<f64> = self.hsv.iter().map(|s| 1.0 / (1.0 + s * s)).collect();
        self.sv_form(&d)
    }

    /// The posterior mean $\mu_{\mathrm{pos}} = \Gamma_{\mathrm{pos}}b$ for the data statistic $b$
    /// (see the [module documentation](self)); one column per data set.
    ///
    /// # Panics
    /// If `b` does not have $n$ rows.
    #[track_caller]
    pub fn posterior_mean(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        assert_eq!(
            b.nrows(),
            self.order(),
            "posterior_mean: b must have n rows"
        );
        // S V diag(1/(1+σ²)) Vᵀ Sᵀ b, without forming Γ_pos.
        let d: Vec<f64> = self.hsv.iter().map(|s| 1.0 / (1.0 + s * s)).collect();
        let sv = &self.s * &self.v;
        let y = sv.transpose() * b;
        &sv * dln_linalg::scale_rows(y.as_ref(), &d)
    }

    /// The diagonal $\sigma_i/(1+\sigma_i^2)$ of the posterior covariance in Hankel-balanced
    /// coordinates $\tilde x = Tx$ (prior and Fisher information both $\Sigma$).
    pub fn balanced_posterior_diagonal(&self) -> Vec<f64> {
        self.hsv.iter().map(|s| s / (1.0 + s * s)).collect()
    }

    /// The diagonal $1/(1+\sigma_i^2)$ of the posterior covariance in prior-whitened coordinates
    /// $\hat x = V^\top S^{-1}x$ (prior $I$, Fisher information $\Sigma^2$).
    pub fn whitened_posterior_diagonal(&self) -> Vec<f64> {
        self.hsv.iter().map(|s| 1.0 / (1.0 + s * s)).collect()
    }

    /// The Hankel-balancing transformation $(T, T^{-1}) = (\Sigma^{-1/2}U^\top R,\ SV\Sigma^{-1/2})$ on
    /// the leading `r` states: $T_L$ ($r\times n$) and $T_R$ ($n\times r$), $T_LT_R = I_r$.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] if $r > n$ or $\sigma_r$ is zero to working precision
    /// (the direction is unobservable or unreachable and has no balanced scaling).
    pub fn balancing(&self, r: usize) -> Result<(Mat<f64>, Mat<f64>)> {
        self.check_order(r)?;
        let tiny = self.order() as f64 * f64::EPSILON * self.hsv.first().copied().unwrap_or(0.0);
        if r > 0 && self.hsv[r - 1].partial_cmp(&tiny) != Some(std::cmp::Ordering::Greater) {
            return Err(BayesError::InvalidParameter {
                name: "r",
                value: r as f64,
                reason: "the r-th Hankel singular value is zero to working precision: no balanced scaling",
            });
        }
        let n = self.order();
        let d: Vec<f64> = self.hsv[..r].iter().map(|s| 1.0 / s.sqrt()).collect();
        let tl = dln_linalg::scale_rows(self.u.get(.., ..r).transpose(), &d) * &self.r;
        let tr = &self.s * dln_linalg::scale_cols(self.v.get(.., ..r), &d);
        debug_assert_eq!(tl.ncols(), n);
        Ok((tl, tr))
    }

    fn check_order(&self, r: usize) -> Result<()> {
        if r > self.order() {
            return Err(BayesError::InvalidParameter {
                name: "r",
                value: r as f64,
                reason: "exceeds the state dimension n",
            });
        }
        Ok(())
    }

    /// Spantini's optimal rank-$r$ update
    /// $\hat\Gamma_r = P - \sum_{i\le r}\frac{\sigma_i^2}{1+\sigma_i^2}\hat w_i\hat w_i^\top$, $\hat w_i = Sv_i$.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] if $r > n$.
    pub fn optimal_update(&self, r: usize) -> Result<Mat<f64>> {
        self.check_order(r)?;
        let d: Vec<f64> = self.hsv[..r]
            .iter()
            .map(|s| s * s / (1.0 + s * s))
            .collect();
        Ok(self.prior_covariance() - self.sv_form(&d))
    }

    /// $\sum_{i>r}\log^2(1+\sigma_i^2)$: the squared Förstner distance from $\Gamma_{\mathrm{pos}}$ of
    /// the optimal rank-$r$ update, the least over all rank-$r$ updates of the prior.
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] if $r > n$.
    pub fn optimal_forstner_sq(&self, r: usize) -> Result<f64> {
        self.check_order(r)?;
        Ok(self.hsv[r..].iter().map(|s| (s * s).ln_1p().powi(2)).sum())
    }

    /// The BT posterior of order $r$: balanced truncation of $(A, B, \Gamma_\varepsilon^{-1/2}C)$ to
    /// $(A_r, B_r, C_r)$, the reduced model's observability Gramian $Q_r$ (a fresh Lyapunov solve),
    /// and $\Gamma_{\mathrm{BT},r} = (P^{-1}+T_L^\top Q_rT_L)^{-1}$, computed as
    /// $S(I+S^\top T_L^\top Q_rT_LS)^{-1}S^\top$.
    ///
    /// # Errors
    /// As [`balancing`](Self::balancing); [`BayesError::Systems`] if the reduced model is not
    /// stable (in continuous time it always is when $\sigma_r > \sigma_{r+1}$).
    pub fn bt_posterior(&self, r: usize) -> Result<BtPosterior> {
        let (tl, tr) = self.balancing(r)?;
        let sys = &self.whitened;
        let reduced = StateSpace::new(
            &tl * sys.a() * &tr,
            &tl * sys.b(),
            sys.c() * &tr,
            Mat::zeros(sys.outputs(), sys.inputs()),
            sys.sampling(),
        )?;
        let GramianFactors { r: r_red, .. } = gramian_factors(&reduced)?;
        // Fisher information of x0 -> C_r e^{A_r t} T_L x0, factored: (R_r T_L)ᵀ (R_r T_L).
        let f = &r_red * &tl;
        let fs = &f * &self.s;
        let n = self.order();
        let m = Mat::<f64>::identity(n, n) + fs.transpose() * &fs;
        let eig = HermitianEigen::new(m.as_ref())?;
        let inv = eig.map(|l| 1.0 / l);
        let covariance = &self.s * inv * self.s.transpose();
        let reduced_fisher = r_red.transpose() * &r_red;
        Ok(BtPosterior {
            order: r,
            reduced,
            reduced_fisher,
            covariance,
        })
    }

    /// A sample of the prior, $x_0 = S\xi$, one column per sample.
    pub fn sample_prior<R: Rng + ?Sized>(&self, samples: usize, rng: &mut R) -> Mat<f64> {
        let n = self.order();
        let xi = Mat::from_fn(n, samples, |_, _| rng.sample::<f64, _>(StandardNormal));
        &self.s * xi
    }

    /// A sample of the data statistic given the true initial states `x0` (one per column):
    /// $b = Qx_0 + R^\top\xi\sim\mathcal N(Qx_0, Q)$.
    ///
    /// # Panics
    /// If `x0` does not have $n$ rows.
    #[track_caller]
    pub fn sample_statistic<R: Rng + ?Sized>(&self, x0: MatRef<'_, f64>, rng: &mut R) -> Mat<f64> {
        assert_eq!(
            x0.nrows(),
            self.order(),
            "sample_statistic: x0 must have n rows"
        );
        let n = self.order();
        let xi = Mat::from_fn(n, x0.ncols(), |_, _| rng.sample::<f64, _>(StandardNormal));
        let rx = &self.r * x0;
        self.r.transpose() * (rx + xi)
    }
}

/// The posterior of the balanced-truncation reduced forward model ([`BayesianBalancing::bt_posterior`]).
#[derive(Debug, Clone)]
pub struct BtPosterior {
    /// The order $r$.
    pub order: usize,
    /// The truncated balanced model $(A_r, B_r, C_r, 0)$ (with the whitened output).
    pub reduced: StateSpace,
    /// Its observability Gramian $Q_r$ ($=\Sigma_r$ in continuous time).
    pub reduced_fisher: Mat<f64>,
    /// $\Gamma_{\mathrm{BT},r} = (P^{-1}+T_L^\top Q_rT_L)^{-1}$.
    pub covariance: Mat<f64>,
}

fn require_symmetric(a: MatRef<'_, f64>, what: &str) -> Result<()> {
    dln_linalg::check_finite(a)?;
    let n = a.nrows();
    let scale = a.norm_l2();
    for j in 0..n {
        for i in j + 1..n {
            if (a[(i, j)] - a[(j, i)]).abs() > 100.0 * n as f64 * f64::EPSILON * scale {
                return Err(BayesError::Unsupported {
                    what: format!(
                        "the {what} is not symmetric: entries ({i}, {j}) and ({j}, {i}) differ ({:e} vs {:e})",
                        a[(i, j)],
                        a[(j, i)]
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The generalised eigenvalues $\lambda_i$ of $Av = \lambda Bv$ for symmetric $A$ and symmetric positive
/// definite $B$: the eigenvalues of $B^{-1/2}AB^{-1/2}$, ascending. Only the symmetric parts
/// $\tfrac12(A+A^\top)$, $\tfrac12(B+B^\top)$ are read (computed covariances are symmetric only to
/// rounding).
///
/// # Errors
/// [`BayesError::Linalg`] if $B$ is not positive definite or an entry is not finite.
///
/// # Panics
/// If the shapes differ or are not square.
#[track_caller]
pub fn generalized_eigenvalues(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Vec<f64>> {
    assert!(
        a.nrows() == a.ncols() && b.nrows() == b.ncols() && a.nrows() == b.nrows(),
        "generalized_eigenvalues: A and B must be square of the same size"
    );
    dln_linalg::check_finite(a)?;
    let sym = |m: MatRef<'_, f64>| {
        Mat::from_fn(m.nrows(), m.ncols(), |i, j| 0.5 * (m[(i, j)] + m[(j, i)]))
    };
    let bi = pd_inv_sqrt(sym(b).as_ref())?;
    let m = &bi * sym(a) * &bi;
    Ok(HermitianEigen::new(sym(m.as_ref()).as_ref())?.values)
}

/// The squared Förstner distance $d_F(A,B)^2 = \sum_i\log^2\lambda_i(A,B)$ between symmetric positive
/// definite matrices (the affine-invariant Riemannian distance; Förstner & Moonen 1999), from the
/// generalised eigenvalues of the pencil $(A, B)$.
///
/// # Errors
/// As [`generalized_eigenvalues`]; [`BayesError::Linalg`] if $A$ is not positive definite (a
/// generalised eigenvalue $\le0$). Only the symmetric parts of $A$, $B$ are read.
///
/// # Panics
/// If the shapes differ or are not square.
#[track_caller]
pub fn forstner_distance_sq(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<f64> {
    let l = generalized_eigenvalues(a, b)?;
    if let Some(&lmin) = l.first() {
        if lmin.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(BayesError::Linalg(dln_linalg::LinalgError::NotPositive {
                kind: "definite",
                eigenvalue: lmin,
                tolerance: 0.0,
            }));
        }
    }
    Ok(l.iter().map(|x| x.ln().powi(2)).sum())
}
