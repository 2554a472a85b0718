//! Constrained Hamiltonian Monte Carlo on the fiber (Lelièvre, Rousset & Stoltz, Math. Comp. 2019,
//! "Hybrid Monte Carlo methods for sampling probability measures on submanifolds"): the same target
//! as the random-walk chain of the parent module, $\pi\propto e^{-U}\,d\sigma$ on $\mathcal F_X$ with
//! $$U(\mathbf W) = \tfrac{\beta\kappa}2\|\mathbf W\|^2\ \ (\text{Hausdorff}),\qquad
//!   U(\mathbf W) = \tfrac{\beta\kappa}2\|\mathbf W\|^2+\log J_\varphi(\mathbf W)\ \ (\text{conditional}),$$
//! reached by Hamiltonian trajectories instead of a random walk.
//!
//! **State and energy.** Position $\mathbf q\in\mathcal F_X$, momentum $\mathbf p\in T_{\mathbf q}\mathcal F_X$
//! (identity mass in the $D$ real coordinates), $H = U(\mathbf q)+\tfrac12\|\mathbf p\|^2$. The measure
//! $e^{-H}d\sigma_{T^*\mathcal F_X}$ has $\mathbf q$-marginal $\pi$ (the Gaussian integral over each
//! tangent space is the same constant).
//!
//! **One RATTLE step** of size $h$ from $(\mathbf q,\mathbf p)$, with the force $\nabla U$:
//! 1. $\mathbf q' = \mathbf q+h\mathbf p-\tfrac{h^2}2\nabla U(\mathbf q)+d\varphi_{\mathbf q}^*(\Lambda)$ with
//!    $\varphi(\mathbf q') = X$: the quasi-Newton projection along the normals at $\mathbf q$ of the
//!    parent module (Cholesky factor of $[d\varphi\,d\varphi^*]$ at $\mathbf q$);
//! 2. $\mathbf p' = \Pi_{\mathbf q'}\big((\mathbf q'-\mathbf q)/h-\tfrac h2\nabla U(\mathbf q')\big)$, $\Pi$ the
//!    orthogonal projection onto $T_{\mathbf q'}$ (Cholesky factor at $\mathbf q'$);
//! 3. **reverse check**: the same position step from $(\mathbf q',-\mathbf p')$ must return to
//!    $\mathbf q$ (one solution of its projection equation is $\mathbf q$ by construction; the check
//!    rejects the move when Newton finds another one or none). With it the step is an exactly
//!    reversible, symplectic map on its domain, so a Metropolis test on $H$ makes the chain exact.
//!
//! **One proposal**: refresh $\mathbf p = \Pi_{\mathbf q}\boldsymbol\xi$, $\boldsymbol\xi\sim\mathcal N(0, I_D)$
//! (full refresh); $L$ RATTLE steps of size $h\,u$, $u\sim\mathcal U[0.8, 1.2]$ drawn per proposal
//! independently of the state (breaks periodicities); accept with
//! $\min(1, e^{H(\mathbf q,\mathbf p)-H(\mathbf q_L,\mathbf p_L)})$; a failed projection or reverse check
//! anywhere on the trajectory rejects it. Then the junction sign flips of the parent module
//! (ergodicity across the components of a real fiber). $L = \lceil T/h\rceil$ (at most
//! `max_leapfrog_steps`) for a trajectory length $T$, by default $\tfrac\pi2(\beta\kappa)^{-1/2}$ (a
//! quarter period of the Gaussian's oscillation); $h$ adapts during burn-in only (Robbins–Monro on
//! $\log h$ towards `target_acceptance`) and is frozen afterwards.
//!
//! **Force for the conditional measure.** The exact $\nabla U$, with $\nabla\log J_\varphi$ from
//! [`super::log_jacobian_gradient`] (one inverse of the $d_Nd_0\times d_Nd_0$ matrix per step). (The
//! Hausdorff force alone with the true $H$ in the Metropolis test would also be exact, but its
//! energy error does not vanish as $h\to0$, so step adaptation cannot control it.)

use super::{
    ChainRecorder, FiberChain, FiberDiagnostics, FiberPosterior, FiberSampler, Outcome, Point, Run,
    flip, negate_col, negate_row, not_a_manifold,
};
use crate::error::{BayesError, Result, positive};
use crate::posterior::{BaseMeasure, log_j_gradient, norm_sq};
use crate::prior::{c_f, gaussian_coords, real_dimension};
use dln_algebra::{Network, NormalOperator};
use dln_flows::{Observer, Progress};
use dln_linalg::Scalar;
use faer::{Mat, Scale};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Options of [`FiberPosterior::sample_hmc`].
#[derive(Debug, Clone, Copy)]
pub struct HmcOptions {
    /// Retained samples $S\ge1$. Default 1000.
    pub samples: usize,
    /// Proposals discarded first (the step size adapts during them). Default
    /// [`FiberSampler::default_burn_in`] of [`FiberSampler::Hmc`].
    pub burn_in: usize,
    /// Keep every `thin`-th state after burn-in ($\ge1$). Default 1.
    pub thin: usize,
    /// Fixed RATTLE step $h$; `None` adapts it during burn-in from
    /// $\min(1/\sqrt{\beta\kappa},\|\mathbf W_0\|/\sqrt D)\cdot(\dim\mathcal F_X)^{-1/4}$.
    pub step: Option<f64>,
    /// Trajectory length $T$; `None` means $\tfrac\pi2(\beta\kappa)^{-1/2}$.
    pub trajectory_length: Option<f64>,
    /// Cap on the RATTLE steps per proposal. Default 200.
    pub max_leapfrog_steps: usize,
    /// Acceptance rate the burn-in adaptation aims at. Default 0.9 (failed projections, which
    /// count as rejections, concentrate where the fiber curves and make a chain sticky there:
    /// a short step mixes better than the 0.65 of unconstrained HMC theory).
    pub target_acceptance: f64,
    /// Probability of a junction sign flip after each proposal (real networks). Default 0.5.
    pub flip_probability: f64,
    /// Newton tolerance, as in [`super::FiberMcmcOptions::newton_rtol`]. Default `1e-12`.
    pub newton_rtol: f64,
    /// Newton iteration cap, as in [`super::FiberMcmcOptions::newton_max_iter`]. Default 60.
    pub newton_max_iter: usize,
    /// A projection fails (rejecting the trajectory) if after its second iteration the residual
    /// contracts by less than this factor per iteration. Default 0.9 (the random-walk chain uses
    /// 0.5): failures concentrate where the fiber curves and make the chain sticky there.
    pub newton_contraction: f64,
    /// The reverse step must return within $\mathrm{tol}\cdot\|\mathbf q\|$ of $\mathbf q$. Default `1e-7`.
    pub reverse_tol: f64,
}

impl Default for HmcOptions {
    fn default() -> Self {
        Self {
            samples: 1000,
            burn_in: FiberSampler::Hmc.default_burn_in(),
            thin: 1,
            step: None,
            trajectory_length: None,
            max_leapfrog_steps: 200,
            target_acceptance: 0.9,
            flip_probability: 0.5,
            newton_rtol: 1e-12,
            newton_max_iter: 60,
            newton_contraction: 0.9,
            reverse_tol: 1e-7,
        }
    }
}

/// A point of the trajectory: the factorized point, $U$ and the force $\nabla U$ used by RATTLE.
struct State<T: Scalar> {
    pt: Point<T>,
    u: f64,
    grad: Vec<Mat<T>>,
}

fn lin<T: Scalar>(a: f64, x: &[Mat<T>], b: f64, y: &[Mat<T>]) -> Vec<Mat<T>> {
    let (a, b) = (T::from_f64(a), T::from_f64(b));
    x.iter()
        .zip(y)
        .map(|(xk, yk)| Scale(a) * xk + Scale(b) * yk)
        .collect()
}

fn distance<T: Scalar>(a: &Network<T>, b: &Network<T>) -> f64 {
    a.layers()
        .iter()
        .zip(b.layers())
        .map(|(x, y)| dln_linalg::frob_sq((x - y).as_ref()))
        .sum::<f64>()
        .sqrt()
}

impl FiberPosterior {
    fn state<T: Scalar>(&self, net: Network<T>) -> Option<State<T>> {
        let pt = Point::new(net)?;
        let a = T::from_f64(self.beta * self.kappa);
        let mut grad: Vec<Mat<T>> = pt.net.layers().iter().map(|w| Scale(a) * w).collect();
        if self.measure == BaseMeasure::Conditional {
            for (g, j) in grad.iter_mut().zip(log_j_gradient(&pt.net, &pt.llt)) {
                *g += &j;
            }
        }
        let u = -self.log_pi(&pt);
        if !u.is_finite() {
            return None;
        }
        Some(State { pt, u, grad })
    }

    /// One RATTLE step with the reverse check (module docs).
    fn rattle<T: Scalar>(
        &self,
        x: &State<T>,
        p: &[Mat<T>],
        h: f64,
        run: &Run<'_, T>,
        opts: &HmcOptions,
    ) -> std::result::Result<(State<T>, Vec<Mat<T>>), Outcome> {
        let v = lin(h, p, -0.5 * h * h, &x.grad);
        let y_net = {
            let op_x = NormalOperator::new(&x.pt.net);
            x.pt.project(&op_x, &v, run)
        }
        .ok_or(Outcome::ProjectionFailed)?;
        let y = self.state(y_net).ok_or(Outcome::ProjectionFailed)?;
        let (p_new, back) = {
            let op_y = NormalOperator::new(&y.pt.net);
            let raw = lin(1.0 / h, y.pt.net.layers(), -1.0 / h, x.pt.net.layers());
            let raw = lin(1.0, &raw, -0.5 * h, &y.grad);
            let p_new = y.pt.tangent(&op_y, &raw);
            let v_rev = lin(-h, &p_new, -0.5 * h * h, &y.grad);
            (p_new, y.pt.project(&op_y, &v_rev, run))
        };
        let back = back.ok_or(Outcome::ReverseFailed)?;
        let dist = distance(&back, &x.pt.net);
        if dist.is_nan() || dist > opts.reverse_tol * x.pt.norm_sq.sqrt() {
            return Err(Outcome::ReverseFailed);
        }
        Ok((y, p_new))
    }

    /// One HMC proposal of `steps` RATTLE steps of size `h`; returns the acceptance probability
    /// (0 on a failed step) and what happened.
    fn proposal<T: Scalar>(
        &self,
        cur: &mut State<T>,
        h: f64,
        steps: usize,
        run: &Run<'_, T>,
        opts: &HmcOptions,
        rng: &mut StdRng,
    ) -> (f64, Outcome) {
        let p0 = {
            let op = NormalOperator::new(&cur.pt.net);
            let xi: Vec<Mat<T>> = cur
                .pt
                .net
                .layers()
                .iter()
                .map(|w| Mat::from_fn(w.nrows(), w.ncols(), |_, _| gaussian_coords(rng, 1.0)))
                .collect();
            cur.pt.tangent(&op, &xi)
        };
        let h = h * (0.8 + 0.4 * rng.random::<f64>());
        let mut p = p0.clone();
        let mut q: Option<State<T>> = None;
        for _ in 0..steps.max(1) {
            let from = q.as_ref().unwrap_or(&*cur);
            match self.rattle(from, &p, h, run, opts) {
                Ok((next, pn)) => {
                    q = Some(next);
                    p = pn;
                }
                Err(o) => return (0.0, o),
            }
        }
        let q = q.expect("at least one step");
        let log_alpha = cur.u + 0.5 * norm_sq(&p0) - q.u - 0.5 * norm_sq(&p);
        let alpha = if log_alpha.is_nan() {
            0.0
        } else {
            log_alpha.min(0.0).exp()
        };
        if rng.random::<f64>() >= alpha {
            return (alpha, Outcome::Rejected);
        }
        *cur = q;
        (alpha, Outcome::Accepted)
    }

    /// Runs constrained HMC ([module docs](self)) on the fiber of $X = \varphi(\mathbf W_0)$ from
    /// `w0`, seeded by `seed`, reporting progress to `obs` (`t` = proposals done, `t_end` = total
    /// proposals). Same target, output and diagnostics as [`FiberPosterior::sample`], with `steps`
    /// counting proposals and `step` the RATTLE step $h$.
    ///
    /// # Errors
    /// As [`FiberPosterior::sample`]; also [`BayesError::InvalidParameter`] for a non-positive
    /// trajectory length or `max_leapfrog_steps == 0`.
    pub fn sample_hmc<T: Scalar, O>(
        &self,
        w0: &Network<T>,
        opts: &HmcOptions,
        seed: u64,
        obs: &mut O,
    ) -> Result<FiberChain<T>>
    where
        O: for<'a> Observer<Progress<'a, T>>,
    {
        validate(opts)?;
        let (x, x_norm, rtol) = super::start(w0, opts.newton_rtol)?;
        let depth = w0.depth();
        let widths = w0.widths();
        let dim = real_dimension::<T>(&widths);
        let fiber_dim = dim.saturating_sub(c_f::<T>() * widths[0] * widths[depth]);
        let run = Run {
            x: &x,
            x_norm,
            rtol,
            max_iter: opts.newton_max_iter,
            contraction: opts.newton_contraction,
        };
        let mut cur = self.state(w0.clone()).ok_or_else(not_a_manifold)?;
        let a = self.beta * self.kappa;
        let mut h = match opts.step {
            Some(s) => s,
            None => {
                let scale = (1.0 / a).sqrt().min((cur.pt.norm_sq / dim as f64).sqrt());
                scale / (fiber_dim.max(1) as f64).powf(0.25)
            }
        };
        let t_len = opts
            .trajectory_length
            .unwrap_or(0.5 * std::f64::consts::PI / a.sqrt());
        let n_steps = |h: f64| ((t_len / h).ceil() as usize).clamp(1, opts.max_leapfrog_steps);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut rec = ChainRecorder::new(
            "fiber posterior (HMC)",
            opts.samples,
            opts.burn_in,
            opts.thin,
            &x,
            x_norm,
        )?;
        let (mut accepted, mut proj_fail, mut rev_fail, mut flips) =
            (0usize, 0usize, 0usize, 0usize);
        rec.start(obs, &cur.pt.net)?;
        for step in 0..rec.total() {
            let burn = step < opts.burn_in;
            let (acc, outcome) = self.proposal(&mut cur, h, n_steps(h), &run, opts, &mut rng);
            if !burn {
                match outcome {
                    Outcome::Accepted => accepted += 1,
                    Outcome::ProjectionFailed => proj_fail += 1,
                    Outcome::ReverseFailed => rev_fail += 1,
                    Outcome::Rejected => {}
                }
            }
            if burn && opts.step.is_none() {
                let gamma = 1.0 / ((step + 1) as f64).powf(0.6);
                h *= (gamma * (acc - opts.target_acceptance)).exp();
            }
            if depth >= 2 && rng.random::<f64>() < opts.flip_probability {
                // The force is equivariant under the flip (U is invariant, the flip a linear
                // isometry): flip it with the weights instead of recomputing it.
                let (k, i) = flip(&mut cur.pt.net, &mut rng);
                negate_row(cur.grad[k - 1].as_mut(), i);
                negate_col(cur.grad[k].as_mut(), i);
                if !burn {
                    flips += 1;
                }
            }
            rec.record(obs, step, &cur.pt.net, cur.pt.norm_sq)?;
        }
        let r = rec.finish(obs, &cur.pt.net);
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
                projection_failures: proj_fail,
                reverse_failures: rev_fail,
                flips,
                leapfrog_steps: n_steps(h),
                rhat: None,
            },
            samples: r.samples,
            x,
        })
    }
}

/// The settings both Hamiltonian samplers share (constrained HMC here, graph-chart HMC in
/// [`super::graph`]), validated once.
pub(super) struct HmcCommon {
    pub samples: usize,
    pub thin: usize,
    pub step: Option<f64>,
    pub trajectory_length: Option<f64>,
    pub max_leapfrog_steps: usize,
    pub flip_probability: f64,
    pub target_acceptance: f64,
}

impl HmcCommon {
    /// # Errors
    /// [`BayesError::InvalidParameter`] naming the first invalid setting.
    pub(super) fn validate(&self) -> Result<()> {
        let o = self;
        let bad = |name, value: f64, reason| {
            Err(BayesError::InvalidParameter {
                name,
                value,
                reason,
            })
        };
        if o.samples == 0 {
            return bad("samples", 0.0, "need at least one sample");
        }
        if o.thin == 0 {
            return bad("thin", 0.0, "must be at least 1");
        }
        if let Some(s) = o.step {
            positive("step", s)?;
        }
        if let Some(t) = o.trajectory_length {
            positive("trajectory_length", t)?;
        }
        if o.max_leapfrog_steps == 0 {
            return bad("max_leapfrog_steps", 0.0, "must be at least 1");
        }
        if !(0.0..=1.0).contains(&o.flip_probability) {
            return bad("flip_probability", o.flip_probability, "must lie in [0, 1]");
        }
        if !(o.target_acceptance > 0.0 && o.target_acceptance < 1.0) {
            return bad(
                "target_acceptance",
                o.target_acceptance,
                "must lie in (0, 1)",
            );
        }
        Ok(())
    }
}

fn validate(o: &HmcOptions) -> Result<()> {
    let bad = |name, value: f64, reason| {
        Err(BayesError::InvalidParameter {
            name,
            value,
            reason,
        })
    };
    HmcCommon {
        samples: o.samples,
        thin: o.thin,
        step: o.step,
        trajectory_length: o.trajectory_length,
        max_leapfrog_steps: o.max_leapfrog_steps,
        flip_probability: o.flip_probability,
        target_acceptance: o.target_acceptance,
    }
    .validate()?;
    positive("newton_rtol", o.newton_rtol)?;
    positive("reverse_tol", o.reverse_tol)?;
    if o.newton_max_iter == 0 {
        return bad("newton_max_iter", 0.0, "must be at least 1");
    }
    if !(o.newton_contraction > 0.0 && o.newton_contraction < 1.0) {
        return bad(
            "newton_contraction",
            o.newton_contraction,
            "must lie in (0, 1)",
        );
    }
    Ok(())
}
