//! The fast–slow decomposition of regularized training,
//! $$\dot{\mathbf W} = -\nabla_{\mathbf W}\Big(E(\varphi(\mathbf W)) + \frac\kappa2\|\mathbf W\|^2\Big)
//!   = \underbrace{\mathbf V_{\mathrm{tan}}}_{\text{regularizing, along }\mathcal F_X} + \underbrace{\mathbf V_{\mathrm{nor}}}_{\text{learning}},$$
//! and the two-stage approximation of §4: first relax onto the minimizing orbit $\mathcal O_X$ (the
//! moments decay like $e^{-2\kappa t}$, so this is fast when $\kappa$ is large), then follow the
//! learning flow $\dot X = -\mathcal A_{N,X}(E'(X)) - \kappa NX$ on the balanced manifold.
//!
//! [`split_velocity`](crate::training::split_velocity) gives the split at a point;
//! [`TrainingOptions::split`](crate::training::TrainingOptions) records both norms along a run;
//! [`two_stage`] measures how far the idealisation is from full training.
//! Measured numbers are in `docs/fast_slow.md` of the workspace.

use crate::Result;
use crate::learning::learning_flow;
use crate::loss::Loss;
use crate::options::FlowOptions;
use crate::training::TrainingField;
use crate::{Dopri5, Integrator};
use dln_algebra::Network;
use dln_algebra::kempf_ness::{BalanceMethod, BalanceOptions, balance};
use dln_linalg::{Scalar, rel_diff};
use faer::Mat;

/// Full training versus the two-stage approximation at the same times.
#[derive(Debug, Clone)]
pub struct TwoStage<T: Scalar> {
    /// Sample times.
    pub t: Vec<f64>,
    /// $X$ from full training.
    pub x_full: Vec<Mat<T>>,
    /// $X$ from the two-stage approximation.
    pub x_two_stage: Vec<Mat<T>>,
    /// $\|X_{\mathrm{full}}(t) - X_{\mathrm{two}}(t)\|_F/\|X_{\mathrm{full}}(t)\|_F$.
    pub deviation: Vec<f64>,
    /// $\|\mathbf G\|$ of full training at the sample times.
    pub moment_norm: Vec<f64>,
}

impl<T: Scalar> TwoStage<T> {
    /// $\max_t$ of the relative deviation.
    pub fn max_deviation(&self) -> f64 {
        self.deviation.iter().copied().fold(0.0, f64::max)
    }
}

/// Runs full training from `w0` and the two-stage approximation (balance `w0` in its fiber, then the
/// learning flow from $X(0)$), both with weight decay `kappa`, and compares them at `t_eval`.
///
/// # Errors
/// Balancing, SVD and integration failures.
///
/// # Panics
/// If `t_eval` is empty or decreasing or the loss shape does not match.
#[track_caller]
pub fn two_stage<T: Scalar, L: Loss<T>>(
    w0: &Network<T>,
    loss: &L,
    kappa: f64,
    opts: FlowOptions,
    t_eval: &[f64],
) -> Result<TwoStage<T>> {
    let balanced = balance(
        w0,
        BalanceOptions {
            method: BalanceMethod::Svd,
            ..Default::default()
        },
    )?;
    let x0 = balanced.network.product();
    let slow = learning_flow(x0.as_ref(), loss, w0.depth(), kappa, opts, t_eval, &mut ())?;
    let mut out = TwoStage {
        t: Vec::new(),
        x_full: Vec::new(),
        x_two_stage: Vec::new(),
        deviation: Vec::new(),
        moment_norm: Vec::new(),
    };
    let mut rk = Dopri5::new(
        TrainingField { loss, kappa },
        0.0,
        w0.layers().to_vec(),
        opts,
    );
    let traj = rk.solve_dense(t_eval, &mut ())?;
    for ((t, w), xs) in traj.t.iter().zip(traj.w).zip(&slow.x) {
        let net = Network::new(w)?;
        let xf = net.product();
        out.deviation.push(rel_diff(xs.as_ref(), xf.as_ref()));
        out.t.push(*t);
        out.x_full.push(xf);
        out.x_two_stage.push(xs.clone());
        out.moment_norm.push(net.moment_norm());
    }
    Ok(out)
}
