//! Euclidean HMC on the fiber of an invertible $X$ over square layers, in its graph chart: no
//! projection, no $d^2\times d^2$ factorization on the trajectory.
//!
//! **The chart.** With all widths equal to $d$ and $X$ invertible, every point of
//! $\mathcal F_X$ has $W_1 = S^{-1}X$, $S = W_N\cdots W_2$, and the fiber is the graph of
//! $\mathbf V = (W_2,\dots,W_N)\mapsto S^{-1}X$ over the open set $\{\det S\ne0\}$ of
//! $\mathbb F^{(N-1)d^2}$.
//!
//! **The conditional law in the chart.** Change variables $(W_1,\mathbf V)\mapsto(X,\mathbf V)$,
//! $X = SW_1$. For fixed $\mathbf V$, $W_1\mapsto SW_1$ is the linear map $I_d\otimes S$ on
//! $\mathbb F^{d\times d}$, whose determinant as a real-linear map is $|\det S|^{c_Fd}$ ($\det(S)^d$
//! over $\mathbb R$; $|\det_{\mathbb C}(I\otimes S)|^2 = |\det S|^{2d}$ over $\mathbb C$). So
//! $dW_1\,d\mathbf V = |\det S|^{-c_Fd}\,dX\,d\mathbf V$, and the prior density
//! $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ gives the conditional law of $\mathbf V$ given $X$ with
//! Lebesgue density
//! $$\pi_{\mathrm{cond}}(\mathbf V)\propto e^{-U(\mathbf V)},\qquad
//!   U(\mathbf V) = \tfrac{\beta\kappa}2\big(\|\mathbf V\|^2+\|S^{-1}X\|^2\big)+c_Fd\log|\det S|.$$
//! Check, $d = 1$, $N = 2$: $U = \tfrac{\beta\kappa}2(w_2^2+x^2/w_2^2)+c_F\log|w_2|$, i.e. the density
//! $e^{-\beta\kappa(w_2^2+x^2/w_2^2)/2}/|w_2|$ on each real branch (and $/|w_2|^2$ on $\mathbb C$), the
//! $g\,dt/t$ of the quadrature test. The **Hausdorff** posterior (the paper's (4.5)) follows from the
//! coarea formula (conditional $= e^{-\beta\kappa\|\mathbf W\|^2/2}d\sigma/J_\varphi$): in the chart
//! $d\sigma = J_\varphi|\det S|^{-c_Fd}\,d\mathbf V$, so its potential is
//! $U_{\mathrm H} = U-\log J_\varphi$, $J_\varphi = \det(d\varphi\,d\varphi^*)^{1/2}$.
//!
//! **The force** ($\langle A,B\rangle = \operatorname{Re}\operatorname{tr}A^*B$, so over $\mathbb C$ the gradient in the
//! real coordinates). With $W_1 = S^{-1}X$, $dW_1 = -S^{-1}dS\,W_1$ and
//! $d\log|\det S| = \operatorname{Re}\operatorname{tr}(S^{-1}dS)$:
//! $$\nabla_SU = S^{-*}\big(c_Fd\,I-\beta\kappa\,W_1W_1^*\big),\qquad
//!   \nabla_{W_k}U = \beta\kappa W_k+L_k^*(\nabla_SU)R_k^*,\quad k = 2,\dots,N,$$
//! with $L_k = W_N\cdots W_{k+1}$, $R_k = W_{k-1}\cdots W_2$. Cost $O(Nd^3)$: one LU of $S$ (giving
//! $W_1$ by a solve, $\log|\det S|$ from its pivots and $S^{-*}(\cdot)$ by an adjoint solve) and
//! $4N$ products of $d\times d$ matrices.
//!
//! **The kernel.** Standard HMC on $(\mathbf V,\mathbf p)$: full momentum refresh
//! $\mathbf p\sim\mathcal N(0, M)$ with a diagonal mass $M$; $L$ leapfrog steps of size $h\,u$,
//! $u\sim\mathcal U[0.8,1.2]$ per trajectory (independent of the state); Metropolis on
//! $H = U+\tfrac12\mathbf p^*M^{-1}\mathbf p$. A leapfrog point with $S$ singular (to working
//! precision) or a non-finite energy rejects the trajectory (counted in `projection_failures`).
//!
//! **Conditional measure only.** The Hausdorff posterior would need $U_{\mathrm H} = U-\log J_\varphi$.
//! Since leapfrog is volume preserving and reversible for any potential, the cheap dynamics of $U$
//! with the Metropolis test on $U_{\mathrm H}$ (one Cholesky of the $d^2\times d^2$ matrix per
//! trajectory) is exact; it was built and measured, and rejected: the variation of
//! $\log J_\varphi$ along a trajectory drove the adapted step to $7\cdot10^{-5}$ at $d = N = 3$
//! (ESS 124 of 6000 trajectories, against 1000 for the conditional measure), and the force
//! $\nabla\log J_\varphi$ costs the $O(d^6)$ inverse per step that this chart exists to avoid. The
//! Hausdorff measure is left to the constrained samplers ([`FiberPosterior::sample_hmc`],
//! [`FiberPosterior::sample`]); [`FiberPosterior::sample_graph_hmc`] refuses it.
//!
//! **Stiffness (measured, docs/performance.md).** The chart is exact but not well conditioned:
//! where $S$ has small singular values, $W_1 = S^{-1}X$ moves fast and the Hessian of
//! $\tfrac{\beta\kappa}2\|S^{-1}X\|^2$ is large along directions no diagonal mass captures. The adapted
//! step is about $5\cdot10^{-3}$ at $d = N = 3$ and $10^{-4}$ at $d = 16$, $N = 4$ (with $X$ of condition
//! number $2\cdot10^5$), so the $O(Nd^3)$ gradient does not translate into more effective samples per
//! second there.
//!
//! **Components.** $\{\det S = 0\}$ separates the chart (and $U\to\infty$ there, since
//! $\|S^{-1}X\|\to\infty$). Over $\mathbb C$ its complement is connected. Over $\mathbb R$ its components
//! are the $2^{N-1}$ sign patterns of $(\det W_2,\dots,\det W_N)$; after each trajectory, with
//! probability `flip_probability`, the junction sign flip of the parent module is applied (at
//! junction 1 it is $W_2\to W_2D$, and $W_1 = S^{-1}X\to DW_1$ follows). Flips at junctions
//! $1,\dots,N-1$ toggle the signs of $\det W_2$ alone and of $(\det W_k,\det W_{k+1})$, which generate
//! all patterns; each flip is a linear involution of $\mathbf V$ preserving Lebesgue measure, $U$
//! and $J_\varphi$, so it is accepted with probability 1. (Leapfrog steps may also jump across
//! $\det S = 0$; that is allowed, the map stays reversible and volume preserving.)
//!
//! **Adaptation (burn-in only).** $h$ follows Robbins–Monro on $\log h$ towards
//! `target_acceptance`. With `adapt_mass`, the first half of burn-in also estimates the variance
//! $v_i$ of every real coordinate of $\mathbf V$ (over its second quarter); at mid burn-in
//! $M^{-1} = \operatorname{diag}(v)$ (shrunk towards the mean variance), the trajectory length becomes
//! $\tfrac\pi2$ (a quarter period of a unit-variance Gaussian coordinate) and the step adaptation
//! restarts. Before that the mass is the identity and the length $\tfrac\pi2(\beta\kappa)^{-1/2}$.
//! Everything is frozen after burn-in, so the retained chain is a time-homogeneous exact chain.

use super::{ChainRecorder, FiberChain, FiberDiagnostics, FiberPosterior, FiberSampler};
use crate::error::{BayesError, Result};
use crate::posterior::BaseMeasure;
use crate::prior::{c_f, gaussian_coords, real_dimension};
use dln_algebra::Network;
use dln_flows::{Observer, Progress};
use dln_linalg::Scalar;
use faer::linalg::solvers::{PartialPivLu, Solve};
use faer::{Mat, MatRef, Scale};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Options of [`FiberPosterior::sample_graph_hmc`].
#[derive(Debug, Clone, Copy)]
pub struct GraphHmcOptions {
    /// Retained samples $S\ge1$. Default 1000.
    pub samples: usize,
    /// Trajectories discarded first (step and mass adapt during them). Default
    /// [`FiberSampler::default_burn_in`] of [`FiberSampler::GraphHmc`].
    pub burn_in: usize,
    /// Keep every `thin`-th state after burn-in ($\ge1$). Default 1.
    pub thin: usize,
    /// Fixed leapfrog step $h$ (in the units of the final mass); `None` adapts it during burn-in.
    pub step: Option<f64>,
    /// Fixed trajectory length; `None` means $\tfrac\pi2(\beta\kappa)^{-1/2}$ with the identity mass
    /// and $\tfrac\pi2$ after mass adaptation.
    pub trajectory_length: Option<f64>,
    /// Cap on the leapfrog steps per trajectory. Default 100.
    pub max_leapfrog_steps: usize,
    /// Acceptance rate the burn-in adaptation aims at. Default 0.8.
    pub target_acceptance: f64,
    /// Adapt a diagonal mass from the burn-in variances (module docs). Default `true`.
    pub adapt_mass: bool,
    /// Probability of a junction sign flip after each trajectory (real networks). Default 0.5.
    pub flip_probability: f64,
}

impl Default for GraphHmcOptions {
    fn default() -> Self {
        Self {
            samples: 1000,
            burn_in: FiberSampler::GraphHmc.default_burn_in(),
            thin: 1,
            step: None,
            trajectory_length: None,
            max_leapfrog_steps: 100,
            target_acceptance: 0.8,
            adapt_mass: true,
            flip_probability: 0.5,
        }
    }
}

/// The graph chart of the fiber of an invertible $d\times d$ matrix $X$.
struct Chart<'a, T: Scalar> {
    x: MatRef<'a, T>,
    /// $\beta\kappa$.
    a: f64,
    /// $c_Fd$.
    c: f64,
    d: usize,
}

/// A point of the chart: $\mathbf V$, $W_1 = S^{-1}X$, $U(\mathbf V)$ and $\nabla U$.
#[derive(Clone)]
struct GraphPoint<T: Scalar> {
    v: Vec<Mat<T>>,
    w1: Mat<T>,
    u: f64,
    grad: Vec<Mat<T>>,
}

impl<T: Scalar> GraphPoint<T> {
    fn norm_sq(&self) -> f64 {
        dln_linalg::frob_sq(self.w1.as_ref())
            + self
                .v
                .iter()
                .map(|m| dln_linalg::frob_sq(m.as_ref()))
                .sum::<f64>()
    }

    fn network(&self) -> Network<T> {
        let mut layers = Vec::with_capacity(self.v.len() + 1);
        layers.push(self.w1.clone());
        layers.extend(self.v.iter().cloned());
        Network::new(layers).expect("square layers of one width")
    }
}

impl<T: Scalar> Chart<'_, T> {
    /// $W_1$, $U$ and $\nabla U$ at $\mathbf V$ (module docs); `None` where $S$ is singular to
    /// working precision or a value is not finite.
    fn eval(&self, v: Vec<Mat<T>>) -> Option<GraphPoint<T>> {
        let (d, n) = (self.d, v.len());
        // r[i] = R_{i+2} = W_{i+1}...W_2 (r[0] = I), r[n] = S; l[i] = L_{i+2} = W_N...W_{i+3}.
        let mut r = Vec::with_capacity(n + 1);
        r.push(Mat::<T>::identity(d, d));
        for vk in &v {
            let next = vk * r.last().expect("nonempty");
            r.push(next);
        }
        let mut l = vec![Mat::<T>::identity(d, d); n];
        for i in (1..n).rev() {
            l[i - 1] = &l[i] * &v[i];
        }
        let s = &r[n];
        let lu = PartialPivLu::new(s.as_ref());
        let (mut log_det, mut lo, mut hi) = (0.0, f64::INFINITY, 0.0_f64);
        for i in 0..d {
            let p = lu.U()[(i, i)].modulus();
            lo = lo.min(p);
            hi = hi.max(p);
            log_det += p.ln();
        }
        if !(lo > 0.0 && hi.is_finite()) || lo <= 4.0 * d as f64 * f64::EPSILON * hi {
            return None;
        }
        let mut w1 = self.x.to_owned();
        lu.solve_in_place(w1.as_mut());
        let mut g = Scale(T::from_f64(-self.a)) * (&w1 * w1.adjoint());
        for i in 0..d {
            g[(i, i)] += T::from_f64(self.c);
        }
        lu.solve_adjoint_in_place(g.as_mut());
        let grad: Vec<Mat<T>> = v
            .iter()
            .enumerate()
            .map(|(i, vk)| Scale(T::from_f64(self.a)) * vk + l[i].adjoint() * &g * r[i].adjoint())
            .collect();
        let norm_sq = dln_linalg::frob_sq(w1.as_ref())
            + v.iter()
                .map(|m| dln_linalg::frob_sq(m.as_ref()))
                .sum::<f64>();
        let u = 0.5 * self.a * norm_sq + self.c * log_det;
        if !u.is_finite() || grad.iter().any(|m| !m.is_all_finite()) {
            return None;
        }
        Some(GraphPoint { v, w1, u, grad })
    }
}

/// $\tfrac12\sum_iv_i|p_i|^2$.
fn kinetic<T: Scalar>(p: &[Mat<T>], inv_mass: &[Mat<f64>]) -> f64 {
    let mut k = 0.0;
    for (pk, mk) in p.iter().zip(inv_mass) {
        for j in 0..pk.ncols() {
            for i in 0..pk.nrows() {
                k += mk[(i, j)] * pk[(i, j)].modulus_sq();
            }
        }
    }
    0.5 * k
}

/// Checks that `w0` has square layers of one width and an invertible product.
pub(super) fn check_square_invertible<T: Scalar>(w0: &Network<T>, sampler: &str) -> Result<()> {
    let widths = w0.widths();
    let d = widths[0];
    if widths.iter().any(|&w| w != d) {
        return Err(BayesError::Unsupported {
            what: format!(
                "the {sampler} fiber sampler needs square layers of one width (got widths {widths:?}); \
                 use the constrained samplers (hmc, rwm)"
            ),
        });
    }
    let x = w0.product();
    let lu = PartialPivLu::new(x.as_ref());
    let piv: Vec<f64> = (0..d).map(|i| lu.U()[(i, i)].modulus()).collect();
    let (lo, hi) = piv
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(a, b), &p| (a.min(p), b.max(p)));
    if !(lo > 0.0 && hi.is_finite()) || lo <= 1e2 * d as f64 * f64::EPSILON * hi {
        return Err(BayesError::Unsupported {
            what: format!(
                "the {sampler} fiber sampler needs an invertible X = W_N...W_1 (X is singular to \
                 working precision); use the constrained samplers (hmc, rwm)"
            ),
        });
    }
    Ok(())
}

impl FiberPosterior {
    /// Runs Euclidean HMC in the graph chart ([module docs](self)) for the conditional measure on
    /// the fiber of $X = \varphi(\mathbf W_0)$ from `w0` (square layers of one width, $X$ invertible), seeded by
    /// `seed`, reporting progress to `obs` (`t` = trajectories done). Same target, output and
    /// diagnostics as [`FiberPosterior::sample`], with `steps` counting trajectories, `step` the
    /// leapfrog step, `leapfrog_steps` the steps per trajectory and `projection_failures` the
    /// trajectories rejected at a singular $S$ or a non-finite energy (`reverse_failures` is 0).
    ///
    /// # Errors
    /// [`BayesError::InvalidParameter`] for `samples == 0`, `thin == 0`, non-positive step or
    /// trajectory length, `max_leapfrog_steps == 0`, a probability outside its range;
    /// [`BayesError::Linalg`] for non-finite weights; [`BayesError::Unsupported`] unless all
    /// widths are equal and $X$ is invertible, for the Hausdorff measure, or if the observer
    /// stopped the run.
    pub fn sample_graph_hmc<T: Scalar, O>(
        &self,
        w0: &Network<T>,
        opts: &GraphHmcOptions,
        seed: u64,
        obs: &mut O,
    ) -> Result<FiberChain<T>>
    where
        O: for<'a> Observer<Progress<'a, T>>,
    {
        validate(opts)?;
        if self.measure != BaseMeasure::Conditional {
            return Err(BayesError::Unsupported {
                what: "the graph-HMC fiber sampler samples the conditional measure only; use the \
                       constrained samplers (hmc, rwm) for the Hausdorff measure"
                    .into(),
            });
        }
        let (x, x_norm, _) = super::start(w0, 1e-12)?;
        check_square_invertible(w0, "graph-HMC")?;
        let depth = w0.depth();
        let d = w0.width(0);
        let widths = w0.widths();
        let dim = real_dimension::<T>(&widths);
        let fiber_dim = dim.saturating_sub(c_f::<T>() * d * d);
        let a = self.beta * self.kappa;
        let chart = Chart {
            x: x.as_ref(),
            a,
            c: (c_f::<T>() * d) as f64,
            d,
        };
        let mut cur =
            chart
                .eval(w0.layers()[1..].to_vec())
                .ok_or_else(|| BayesError::Unsupported {
                    what: "W_N...W_2 is singular to working precision at the start".into(),
                })?;
        let mut inv_mass: Vec<Mat<f64>> = cur
            .v
            .iter()
            .map(|_| Mat::from_fn(d, d, |_, _| 1.0))
            .collect();
        let mut t_len = opts
            .trajectory_length
            .unwrap_or(0.5 * std::f64::consts::PI / a.sqrt());
        let mut h = match opts.step {
            Some(s) => s,
            None => (1.0 / a).sqrt() / (fiber_dim.max(1) as f64).powf(0.25),
        };
        let n_steps = |h: f64, t: f64| ((t / h).ceil() as usize).clamp(1, opts.max_leapfrog_steps);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut rec = ChainRecorder::new(
            "fiber posterior (graph HMC)",
            opts.samples,
            opts.burn_in,
            opts.thin,
            &x,
            x_norm,
        )?;
        let mass_at = if opts.adapt_mass && opts.burn_in >= 40 {
            opts.burn_in / 2
        } else {
            usize::MAX
        };
        let window = mass_at / 2..mass_at;
        let mut sum: Vec<Mat<T>> = cur.v.iter().map(|_| Mat::zeros(d, d)).collect();
        let mut sum_sq: Vec<Mat<f64>> = cur.v.iter().map(|_| Mat::zeros(d, d)).collect();
        let mut n_window = 0usize;
        let mut adapt_from = 0usize;
        let (mut accepted, mut failed, mut flips) = (0usize, 0usize, 0usize);
        rec.start(obs, &cur.network())?;
        for step in 0..rec.total() {
            let burn = step < opts.burn_in;
            if step == mass_at {
                // Diagonal mass from the window's variances (shrunk towards their mean); the
                // step adaptation restarts in the new units.
                let nw = n_window as f64;
                let cf = c_f::<T>() as f64;
                let var: Vec<Mat<f64>> = sum
                    .iter()
                    .zip(&sum_sq)
                    .map(|(s, q)| {
                        Mat::from_fn(d, d, |i, j| {
                            ((q[(i, j)] / nw - s[(i, j)].modulus_sq() / (nw * nw)) / cf).max(0.0)
                        })
                    })
                    .collect();
                let mean = var
                    .iter()
                    .map(|m| {
                        (0..d)
                            .flat_map(|j| (0..d).map(move |i| (i, j)))
                            .map(|ij| m[ij])
                            .sum::<f64>()
                    })
                    .sum::<f64>()
                    / (var.len() * d * d) as f64;
                if mean > 0.0 && mean.is_finite() {
                    let w = nw / (nw + 5.0);
                    inv_mass = var
                        .iter()
                        .map(|m| Mat::from_fn(d, d, |i, j| w * m[(i, j)] + (1.0 - w) * mean))
                        .collect();
                    if opts.step.is_none() {
                        h *= 1.0 / (a * mean).sqrt();
                    }
                    if opts.trajectory_length.is_none() {
                        t_len = 0.5 * std::f64::consts::PI;
                    }
                    adapt_from = step;
                }
            }
            let (acc, ok) =
                self.trajectory(&chart, &mut cur, &inv_mass, h, n_steps(h, t_len), &mut rng);
            if !burn {
                match ok {
                    Some(true) => accepted += 1,
                    Some(false) => {}
                    None => failed += 1,
                }
            }
            if burn && opts.step.is_none() {
                let gamma = 1.0 / ((step - adapt_from + 1) as f64).powf(0.6);
                h *= (gamma * (acc - opts.target_acceptance)).exp();
            }
            if depth >= 2 && rng.random::<f64>() < opts.flip_probability {
                let k = rng.random_range(1..depth);
                let i = rng.random_range(0..d);
                // Junction k: W_k -> D W_k (W_1 follows from S^{-1}X when k = 1), W_{k+1} -> W_{k+1} D.
                let mut v = cur.v.clone();
                if k >= 2 {
                    super::negate_row(v[k - 2].as_mut(), i);
                }
                super::negate_col(v[k - 1].as_mut(), i);
                if let Some(p) = chart.eval(v) {
                    cur = p;
                    if !burn {
                        flips += 1;
                    }
                }
            }
            if burn && window.contains(&step) {
                n_window += 1;
                for ((s, q), vk) in sum.iter_mut().zip(&mut sum_sq).zip(&cur.v) {
                    for j in 0..d {
                        for i in 0..d {
                            let z = vk[(i, j)];
                            s[(i, j)] += z;
                            q[(i, j)] += z.modulus_sq();
                        }
                    }
                }
            }
            rec.record(obs, step, &cur.network(), cur.norm_sq())?;
        }
        let r = rec.finish(obs, &cur.network());
        Ok(FiberChain {
            diagnostics: FiberDiagnostics {
                acceptance_rate: accepted as f64 / r.post as f64,
                ess: r.ess,
                mean_l2_norm_sq: r.mean,
                standard_error: r.standard_error,
                max_constraint_residual: r.max_residual,
                mean_moment_norm: r.mean_moment_norm,
                step: h,
                steps: r.post,
                fiber_dimension: fiber_dim,
                projection_failures: failed,
                reverse_failures: 0,
                flips,
                leapfrog_steps: n_steps(h, t_len),
                rhat: None,
            },
            samples: r.samples,
            x,
        })
    }

    /// One HMC trajectory; returns the acceptance probability (for adaptation) and
    /// `Some(accepted)`, or `None` when a leapfrog point was singular or not finite.
    fn trajectory<T: Scalar>(
        &self,
        chart: &Chart<'_, T>,
        cur: &mut GraphPoint<T>,
        inv_mass: &[Mat<f64>],
        h: f64,
        steps: usize,
        rng: &mut StdRng,
    ) -> (f64, Option<bool>) {
        let mut p: Vec<Mat<T>> = inv_mass
            .iter()
            .map(|m| {
                Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
                    gaussian_coords(rng, m[(i, j)].sqrt().recip())
                })
            })
            .collect();
        let h = h * (0.8 + 0.4 * rng.random::<f64>());
        let h0 = cur.u + kinetic(&p, inv_mass);
        let half = T::from_f64(0.5 * h);
        let mut q_grad = cur.grad.clone();
        let mut q_v = cur.v.clone();
        let mut end: Option<GraphPoint<T>> = None;
        for _ in 0..steps.max(1) {
            for (pk, gk) in p.iter_mut().zip(&q_grad) {
                *pk -= Scale(half) * gk;
            }
            let v: Vec<Mat<T>> = q_v
                .iter()
                .zip(&p)
                .zip(inv_mass)
                .map(|((qk, pk), mk)| {
                    Mat::from_fn(qk.nrows(), qk.ncols(), |i, j| {
                        qk[(i, j)] + T::from_f64(h * mk[(i, j)]) * pk[(i, j)]
                    })
                })
                .collect();
            let Some(next) = chart.eval(v) else {
                return (0.0, None);
            };
            for (pk, gk) in p.iter_mut().zip(&next.grad) {
                *pk -= Scale(half) * gk;
            }
            q_grad.clone_from(&next.grad);
            q_v.clone_from(&next.v);
            end = Some(next);
        }
        let end = end.expect("at least one step");
        let h1 = end.u + kinetic(&p, inv_mass);
        let log_alpha = h0 - h1;
        if log_alpha.is_nan() {
            return (0.0, None);
        }
        let alpha = log_alpha.min(0.0).exp();
        if rng.random::<f64>() >= alpha {
            return (alpha, Some(false));
        }
        *cur = end;
        (alpha, Some(true))
    }
}

fn validate(o: &GraphHmcOptions) -> Result<()> {
    super::hmc::HmcCommon {
        samples: o.samples,
        thin: o.thin,
        step: o.step,
        trajectory_length: o.trajectory_length,
        max_leapfrog_steps: o.max_leapfrog_steps,
        flip_probability: o.flip_probability,
        target_acceptance: o.target_acceptance,
    }
    .validate()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dln_linalg::{c64, random};

    /// $\nabla U$ against central differences of $U$ in every real coordinate of $\mathbf V$.
    fn gradient_matches<T: Scalar>(d: usize, depth: usize, seed: u64) {
        let mut rng = random::rng(seed);
        let layers: Vec<Mat<T>> = (0..depth)
            .map(|_| random::gaussian(&mut rng, d, d))
            .collect();
        let x = Network::new(layers.clone()).unwrap().product();
        let chart = Chart {
            x: x.as_ref(),
            a: 0.7,
            c: (c_f::<T>() * d) as f64,
            d,
        };
        let v = layers[1..].to_vec();
        let p = chart.eval(v.clone()).unwrap();
        // Products preserved: S W_1 = X.
        let net = p.network();
        let res = (net.product() - &x).norm_l2() / x.norm_l2();
        assert!(res < 1e-12, "{res}");
        let eps = 1e-6;
        let (mut worst, mut scale) = (0.0_f64, 0.0_f64);
        for k in 0..v.len() {
            for j in 0..d {
                for i in 0..d {
                    let parts: &[(f64, f64)] = if T::IS_COMPLEX {
                        &[(1.0, 0.0), (0.0, 1.0)]
                    } else {
                        &[(1.0, 0.0)]
                    };
                    for &(re, im) in parts {
                        let at = |s: f64| {
                            let mut w = v.clone();
                            w[k][(i, j)] += T::from_parts(s * re, s * im);
                            chart.eval(w).unwrap().u
                        };
                        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
                        let g = p.grad[k][(i, j)];
                        let an = re * g.re() + im * g.im();
                        worst = worst.max((fd - an).abs());
                        scale = scale.max(an.abs());
                    }
                }
            }
        }
        assert!(worst <= 1e-6 * scale.max(1.0), "{worst} (scale {scale})");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        gradient_matches::<f64>(1, 2, 1);
        gradient_matches::<f64>(3, 3, 2);
        gradient_matches::<f64>(2, 4, 3);
        gradient_matches::<c64>(2, 3, 4);
        gradient_matches::<c64>(3, 2, 5);
    }

    #[test]
    fn scalar_potential_is_the_closed_form() {
        // d = 1, N = 2: U = a/2 (w2^2 + x^2/w2^2) + log|w2| (real), + 2 log|w2| (complex).
        let x = Mat::from_fn(1, 1, |_, _| 0.5);
        let chart = Chart {
            x: x.as_ref(),
            a: 0.8,
            c: 1.0,
            d: 1,
        };
        let w2 = -1.7_f64;
        let p = chart.eval(vec![Mat::from_fn(1, 1, |_, _| w2)]).unwrap();
        let want = 0.4 * (w2 * w2 + 0.25 / (w2 * w2)) + w2.abs().ln();
        assert!((p.u - want).abs() < 1e-14);
        let xc = Mat::from_fn(1, 1, |_, _| c64::new(0.3, -0.4));
        let chart = Chart {
            x: xc.as_ref(),
            a: 0.8,
            c: 2.0,
            d: 1,
        };
        let w2 = c64::new(0.6, 1.1);
        let p = chart.eval(vec![Mat::from_fn(1, 1, |_, _| w2)]).unwrap();
        let m2 = w2.norm_sqr();
        let want = 0.4 * (m2 + 0.25 / m2) + m2.ln();
        assert!((p.u - want).abs() < 1e-14);
    }
}
