//! `cargo xtask figures [--out DIR]`: the figures of `docs/figures/`, computed from real runs of
//! the library through its public API (no hand-drawn data), seeded, and written as SVG by
//! [`crate::figures_plot`].
//!
//! | file | what it shows | computed by |
//! |---|---|---|
//! | `fig1_geometry.svg` | $d=1$, $N=2$: fibers $w_2w_1=x$, moment levels $w_1^2-w_2^2=G$, L², Kirwan–Ness and training trajectories | `Network::act`, `Rkmk5` with `L2Field` / `KirwanNessField`, `Dopri5` with `TrainingField` |
//! | `fig2_moment_decay.svg` | $\|\mathbf G(t)\|/\|\mathbf G(0)\|$: L² flow vs $e^{-2t}$, Kirwan–Ness on a closed and a non-closed orbit, training vs $e^{-2\kappa t}$ | `balancing_flow`, `train_flow` |
//! | `fig3_learning.svg` | $\|X(t)-Y\|_F/\|Y\|_F$ of full training, training from the balanced point and the learning flow (two-stage approximation), several $\kappa$ | `two_stage`, `Dopri5` with `TrainingField` |
//! | `fig4_kempf_ness.svg` | relative gap to $N\sum_i\sigma_i^{2/N}$ per Newton iteration on the orbit, closed vs non-closed orbits | `balance_with_history` (`BalanceInfo::history`) |
//! | `fig5_hsv.svg` | Hankel singular values of benchmark systems; $\|G-G_r\|_{\mathcal H_\infty}$ between $\sigma_{r+1}$ and $2\sum_{k>r}\sigma_k$ | `hankel_singular_values`, `reduce`, `Reduction::hinf_error` |
//! | `fig6_posterior_fiber.svg` | $d=1$, $N=2$: samples of the posterior $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ on the fiber $w_2w_1=1$ (both branches) for $\beta\kappa = 1, 4, 16, 64$, concentrating on the balanced points $\pm(1,1)$; histograms of $G=w_1^2-w_2^2$ against the exact density | `FiberPosterior::sample` |
//!
//!
//! The data functions (`fig*_data`) are separate from the drawing so that `xtask/src/tests.rs` can
//! check their invariants (finite data, $\mathbf G(t)=\mathbf G(0)e^{-2t}$ along the L² flow, the
//! $\mathcal H_\infty$ error between its bounds, ...).

use crate::project_root;
use dln_algebra::Network;
use dln_algebra::kempf_ness::{BalanceMethod, BalanceOptions, balance, balance_with_history};
use dln_bayes::{BaseMeasure, FiberMcmcOptions, FiberPosterior};
use dln_flows::balancing::{
    BalancingFlow, BalancingOptions, KirwanNessField, L2Field, balancing_flow, linspace,
};
use dln_flows::fast_slow::two_stage;
use dln_flows::loss::Frobenius;
use dln_flows::training::{TrainingField, TrainingOptions, train_flow};
use dln_flows::{Dopri5, FlowBuilder, FlowOptions, Integrator, Rkmk5};
use dln_linalg::{Scalar, c64, random, rel_diff};
use dln_systems::gramian::hankel_singular_values;
use dln_systems::model::StateSpace;
use dln_systems::reduction::{OrderSelection, ReductionOptions, reduce};
use faer::Mat;
use std::path::PathBuf;

/// A labelled polyline $(x_i, y_i)$.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend text.
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

impl Curve {
    fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            points,
        }
    }
}

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// A $1\times1$ matrix.
fn scalar(v: f64) -> Mat<f64> {
    Mat::from_fn(1, 1, |_, _| v)
}

/// The $d=1$, $N=2$ network $(w_2, w_1)$ (layers input first).
fn net2(w1: f64, w2: f64) -> Network<f64> {
    Network::new(vec![scalar(w1), scalar(w2)]).expect("finite scalars")
}

/// $(w_1, w_2)$ of a $d=1$, $N=2$ network.
fn coords(w: &[Mat<f64>]) -> (f64, f64) {
    (w[0][(0, 0)], w[1][(0, 0)])
}

// ------------------------------------------------------------------------------------------
// Figure 1: the geometry of d = 1, N = 2.

/// Half-width of the square $[-R,R]^2$ drawn in figure 1.
pub const FIG1_BOX: f64 = 2.5;

/// Polylines in the plane $(w_1, w_2)$.
pub type Branches = Vec<Vec<(f64, f64)>>;

/// Data of figure 1, in the plane $(w_1, w_2)$.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// For each product value $x$: the branches of the fiber $w_2w_1 = x$, traced as $GL(1)$-orbits
    /// $a\cdot(w_2,w_1) = (w_2a^{-1}, aw_1)$ of a point of it.
    pub fibers: Vec<(f64, Branches)>,
    /// For each moment value $G$: the branches of the level $w_1^2 - w_2^2 = G$.
    pub levels: Vec<(f64, Branches)>,
    /// Sample times of the balancing flows.
    pub times: Vec<f64>,
    /// L² flow from each starting point, sampled at `times`.
    pub l2: Vec<Vec<(f64, f64)>>,
    /// Kirwan–Ness flow from the same starting points, sampled at `times`.
    pub kirwan_ness: Vec<Vec<(f64, f64)>>,
    /// Kirwan–Ness flow from a point of the non-closed orbit $\{(0, w_1)\}$ (the fiber $x=0$),
    /// sampled at `times`: it creeps to the origin like $t^{-1/2}$.
    pub kirwan_ness_non_closed: Vec<(f64, f64)>,
    /// Training with weight decay: $E(x) = \tfrac12(x-1)^2$, $\kappa$ = [`FIG1_KAPPA`].
    pub training: Vec<(f64, f64)>,
}

/// Starting points $(w_1, w_2)$ of the balancing flows of figure 1.
pub const FIG1_STARTS: [(f64, f64); 4] = [(2.2, 0.25), (0.35, -2.1), (-1.9, -0.55), (-0.3, 1.7)];

/// Weight decay of the training trajectory of figure 1.
pub const FIG1_KAPPA: f64 = 0.25;

/// Points of the orbit $\{(w_2a^{-1}, aw_1): a = \pm e^s\}$ through `(w1, w2)` inside the box, one
/// branch per sign of $a$, computed with [`Network::act`].
fn orbit_branches(w1: f64, w2: f64) -> Result<Branches, String> {
    let w = net2(w1, w2);
    let mut branches = Vec::new();
    for sign in [1.0, -1.0] {
        let mut pts = Vec::new();
        for i in 0..=400 {
            let s = -8.0 + 16.0 * f64::from(i) / 400.0;
            let g = w.act(&[scalar(sign * s.exp())]).map_err(err("act"))?;
            let p = coords(g.layers());
            if p.0.abs() <= FIG1_BOX && p.1.abs() <= FIG1_BOX {
                pts.push(p);
            }
        }
        branches.push(pts);
    }
    Ok(branches)
}

/// Figure 1 data.
///
/// # Errors
/// Flow failures.
pub fn fig1_data() -> Result<Geometry, String> {
    let mut fibers = Vec::new();
    for x in [-2.0, -1.0, -0.25, 0.25, 1.0, 2.0] {
        let r = f64::sqrt(f64::abs(x));
        fibers.push((x, orbit_branches(r, x / r)?));
    }
    // The fiber x = 0 is the union of the two axes (three orbits: the origin, {(0, w1)}, {(w2, 0)}).
    let mut axes = orbit_branches(1.0, 0.0)?;
    axes.extend(orbit_branches(0.0, 1.0)?);
    fibers.push((0.0, axes));

    let mut levels = Vec::new();
    for g in [-2.0, -1.0, 0.0, 1.0, 2.0] {
        let r = f64::sqrt(f64::abs(g));
        let mut branches = Vec::new();
        for sign in [1.0, -1.0] {
            let pts: Vec<(f64, f64)> = (0..=200)
                .map(|i| -3.0 + 6.0 * f64::from(i) / 200.0)
                .map(|u: f64| {
                    if g > 0.0 {
                        (sign * r * u.cosh(), r * u.sinh())
                    } else if g < 0.0 {
                        (r * u.sinh(), sign * r * u.cosh())
                    } else {
                        (u, sign * u)
                    }
                })
                .filter(|p| p.0.abs() <= FIG1_BOX && p.1.abs() <= FIG1_BOX)
                .collect();
            branches.push(pts);
        }
        levels.push((g, branches));
    }

    let times = linspace(2.0, 21);
    let opts = tight();
    let mut l2 = Vec::new();
    let mut kirwan_ness = Vec::new();
    for &(w1, w2) in &FIG1_STARTS {
        let tr = Rkmk5::new(L2Field::default(), 0.0, net2(w1, w2), opts)
            .solve_dense(&times, &mut ())
            .map_err(err("L2 flow"))?;
        l2.push(tr.w.iter().map(|w| coords(w)).collect());
        let tr = Rkmk5::new(KirwanNessField, 0.0, net2(w1, w2), opts)
            .solve_dense(&times, &mut ())
            .map_err(err("Kirwan-Ness flow"))?;
        kirwan_ness.push(tr.w.iter().map(|w| coords(w)).collect());
    }
    let tr = Rkmk5::new(KirwanNessField, 0.0, net2(2.0, 0.0), opts)
        .solve_dense(&times, &mut ())
        .map_err(err("Kirwan-Ness flow"))?;
    let kirwan_ness_non_closed = tr.w.iter().map(|w| coords(w)).collect();

    let loss = Frobenius::new(scalar(1.0));
    let field = TrainingField {
        loss: &loss,
        kappa: FIG1_KAPPA,
    };
    let tr = Dopri5::new(field, 0.0, vec![scalar(0.3), scalar(2.3)], opts)
        .solve_dense(&linspace(12.0, 241), &mut ())
        .map_err(err("training"))?;
    let training = tr.w.iter().map(|w| coords(w)).collect();
    Ok(Geometry {
        fibers,
        levels,
        times,
        l2,
        kirwan_ness,
        kirwan_ness_non_closed,
        training,
    })
}

/// Integration tolerances of the figures: `rtol = 1e-10`, `atol = 1e-13`.
fn tight() -> FlowOptions {
    FlowBuilder::new()
        .rtol(1e-10)
        .atol(1e-13)
        .build()
        .expect("valid tolerances")
}

// ------------------------------------------------------------------------------------------
// Figure 2: moment decay.

/// Weight decay of the training curve of figure 2.
pub const FIG2_KAPPA: f64 = 0.5;

/// The networks of figures 2 and 4: a closed orbit (`W` random $4\times4$, $N=3$) and a non-closed one
/// ($N=3$, widths 4, $W_2$ of rank 2, $W_1$, $W_3$ invertible: every layer's rank is not the rank of $X$).
fn closed_and_non_closed<T: Scalar>(seed: u64) -> (Network<T>, Network<T>) {
    let mut rng = random::rng(seed);
    let closed = Network::new(
        (0..3)
            .map(|_| random::gaussian::<T, _>(&mut rng, 4, 4))
            .collect(),
    )
    .expect("finite");
    let non_closed = Network::new(vec![
        random::gaussian::<T, _>(&mut rng, 4, 4),
        random::low_rank::<T, _>(&mut rng, 4, 4, 2),
        random::gaussian::<T, _>(&mut rng, 4, 4),
    ])
    .expect("finite");
    (closed, non_closed)
}

/// Figure 2 data: $(t, \|\mathbf G(t)\|/\|\mathbf G(0)\|)$ curves; the reference lines
/// $e^{-2t}$ and $e^{-2\kappa t}$ are the last two.
///
/// # Errors
/// Flow failures.
pub fn fig2_data() -> Result<Vec<Curve>, String> {
    let (closed, non_closed) = closed_and_non_closed::<f64>(2);
    let times = linspace(6.0, 121);
    let rel = |s: &[(f64, f64)]| -> Vec<(f64, f64)> {
        let g0 = s[0].1;
        s.iter().map(|&(t, g)| (t, g / g0)).collect()
    };
    let flow = |w: &Network<f64>, f: BalancingFlow| -> Result<Vec<(f64, f64)>, String> {
        let o = BalancingOptions {
            flow: f,
            ..Default::default()
        };
        let run = balancing_flow(w, &o, &times, &mut ()).map_err(err(f.name()))?;
        Ok(rel(&run
            .samples
            .iter()
            .map(|s| (s.t, s.moment_norm))
            .collect::<Vec<_>>()))
    };
    let mut rng = random::rng(20);
    let loss = Frobenius::new(random::gaussian::<f64, _>(&mut rng, 4, 4));
    let train = train_flow(
        &closed,
        &loss,
        &TrainingOptions {
            kappa: FIG2_KAPPA,
            ..Default::default()
        },
        &times,
        &mut (),
    )
    .map_err(err("training"))?;
    let train: Vec<(f64, f64)> = train.samples.iter().map(|s| (s.t, s.moment_norm)).collect();
    Ok(vec![
        Curve::new("L² flow (closed orbit)", flow(&closed, BalancingFlow::L2)?),
        Curve::new(
            "Kirwan–Ness flow, closed orbit",
            flow(&closed, BalancingFlow::KirwanNess)?,
        ),
        Curve::new(
            "Kirwan–Ness flow, non-closed orbit (rank W₂ = 2 > rank X)",
            flow(&non_closed, BalancingFlow::KirwanNess)?,
        ),
        Curve::new(
            format!("training with weight decay κ = {FIG2_KAPPA}"),
            rel(&train),
        ),
        Curve::new(
            "e^(−2t)",
            times.iter().map(|&t| (t, (-2.0 * t).exp())).collect(),
        ),
        Curve::new(
            "e^(−2κt)",
            times
                .iter()
                .map(|&t| (t, (-2.0 * FIG2_KAPPA * t).exp()))
                .collect(),
        ),
    ])
}

// ------------------------------------------------------------------------------------------
// Figure 3: learning.

/// Weight decays of figure 3.
pub const FIG3_KAPPAS: [f64; 3] = [0.03, 0.3, 1.0];

/// One weight decay of figure 3: $\|X(t)-Y\|_F/\|Y\|_F$ along three runs, and the deviations.
#[derive(Debug, Clone)]
pub struct Learning {
    /// Weight decay $\kappa$.
    pub kappa: f64,
    /// Full training from the unbalanced start.
    pub full: Vec<(f64, f64)>,
    /// Full training from the balanced point of the same fiber (stays balanced: it is the
    /// learning flow, computed on the weights).
    pub balanced_start: Vec<(f64, f64)>,
    /// The learning flow $\dot X = -\mathcal A_{N,X}(E'(X)) - \kappa NX$ from $X(0)$: the two-stage
    /// approximation.
    pub learning_flow: Vec<(f64, f64)>,
    /// $\|X_{\mathrm{full}}(t) - X_{\mathrm{two}}(t)\|_F/\|X_{\mathrm{full}}(t)\|_F$.
    pub deviation: Vec<(f64, f64)>,
    /// $\|X_{\mathrm{balanced\ start}}(t) - X_{\mathrm{two}}(t)\|_F/\|X_{\mathrm{two}}(t)\|_F$
    /// (zero up to the integration tolerance).
    pub balanced_deviation: Vec<(f64, f64)>,
}

/// Figure 3 data: $N=3$, widths 3, $E(X)=\tfrac12\|X-Y\|_F^2$, an unbalanced start.
///
/// # Errors
/// Flow and balancing failures.
pub fn fig3_data(t_end: f64, samples: usize) -> Result<Vec<Learning>, String> {
    let mut rng = random::rng(3);
    let y = random::scaled(random::gaussian::<f64, _>(&mut rng, 3, 3).as_ref(), 1.5);
    // Unbalanced: layers of very different sizes.
    let w0 = Network::new(vec![
        random::scaled(random::gaussian::<f64, _>(&mut rng, 3, 3).as_ref(), 1.2),
        random::scaled(random::gaussian::<f64, _>(&mut rng, 3, 3).as_ref(), 0.5),
        random::scaled(random::gaussian::<f64, _>(&mut rng, 3, 3).as_ref(), 0.3),
    ])
    .map_err(err("network"))?;
    let balanced = balance(
        &w0,
        BalanceOptions {
            method: BalanceMethod::Svd,
            ..Default::default()
        },
    )
    .map_err(err("balance"))?
    .network;
    let loss = Frobenius::new(y.clone());
    let times = linspace(t_end, samples);
    let y_norm = y.norm_l2();
    let dist = |x: &Mat<f64>| (x - &y).norm_l2() / y_norm;
    let mut out = Vec::new();
    for kappa in FIG3_KAPPAS {
        let ts = two_stage(&w0, &loss, kappa, tight(), &times).map_err(err("two-stage"))?;
        let field = TrainingField { loss: &loss, kappa };
        let tr = Dopri5::new(field, 0.0, balanced.layers().to_vec(), tight())
            .solve_dense(&times, &mut ())
            .map_err(err("training from the balanced point"))?;
        let x_bal: Vec<Mat<f64>> =
            tr.w.into_iter()
                .map(|w| Network::new(w).map(|n| n.product()))
                .collect::<Result<_, _>>()
                .map_err(err("training from the balanced point"))?;
        let pts = |xs: &[Mat<f64>]| -> Vec<(f64, f64)> {
            ts.t.iter().zip(xs).map(|(&t, x)| (t, dist(x))).collect()
        };
        out.push(Learning {
            kappa,
            full: pts(&ts.x_full),
            balanced_start: pts(&x_bal),
            learning_flow: pts(&ts.x_two_stage),
            deviation: ts.t.iter().copied().zip(ts.deviation.clone()).collect(),
            balanced_deviation: ts
                .t
                .iter()
                .zip(x_bal.iter().zip(&ts.x_two_stage))
                .map(|(&t, (a, b))| (t, rel_diff(a.as_ref(), b.as_ref())))
                .collect(),
        });
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------------
// Figure 4: Kempf–Ness convergence.

/// Relative gaps $(\|\mathbf W_k\|^2 - N\sum_i\sigma_i^{2/N})/N\sum_i\sigma_i^{2/N}$ of the Newton
/// iterates $\mathbf W_0 = \mathbf W, \mathbf W_1, \dots$ of `balance` with [`BalanceMethod::Newton`]
/// (at most `max_iter` steps, the default tolerance $\|\mathbf G\|\le10^{-13}\|\mathbf W\|^2$), as
/// recorded by the solver itself ([`balance_with_history`], [`dln_algebra::BalanceInfo::history`]).
///
/// # Errors
/// Balancing failures.
pub fn newton_gaps<T: Scalar>(w0: &Network<T>, max_iter: usize) -> Result<Vec<f64>, String> {
    let out = balance_with_history(
        w0,
        BalanceOptions {
            method: BalanceMethod::Newton,
            max_iter,
            ..Default::default()
        },
    )
    .map_err(err("balance"))?;
    Ok(out.info.history)
}

/// Figure 4 data: $(k, \text{relative gap})$ per Newton iteration for closed and non-closed orbits,
/// real and complex.
///
/// # Errors
/// As [`newton_gaps`].
pub fn fig4_data() -> Result<Vec<Curve>, String> {
    let pts = |g: Vec<f64>| -> Vec<(f64, f64)> {
        g.into_iter()
            .enumerate()
            .map(|(k, v)| (k as f64, v))
            .collect()
    };
    let mut curves = Vec::new();
    for seed in [4, 5] {
        let (closed, non_closed) = closed_and_non_closed::<f64>(seed);
        curves.push(Curve::new(
            format!("closed orbit, real (seed {seed})"),
            pts(newton_gaps(&closed, 40)?),
        ));
        curves.push(Curve::new(
            format!("non-closed orbit, real (seed {seed})"),
            pts(newton_gaps(&non_closed, 40)?),
        ));
    }
    let (closed, non_closed) = closed_and_non_closed::<c64>(6);
    curves.push(Curve::new(
        "closed orbit, complex",
        pts(newton_gaps(&closed, 40)?),
    ));
    curves.push(Curve::new(
        "non-closed orbit, complex",
        pts(newton_gaps(&non_closed, 40)?),
    ));
    Ok(curves)
}

// ------------------------------------------------------------------------------------------
// Figure 5: Hankel singular values and balanced truncation.

/// The systems of the HSV panel (directories of `testdata/lti`).
pub const FIG5_HSV_SYSTEMS: [&str; 5] = ["build", "CDplayer", "heat-cont", "iss", "beam"];

/// The system stored in `testdata/lti/NAME` (`dln_systems::reference::load_system`).
///
/// # Errors
/// Unreadable files, inconsistent shapes.
pub fn load_system(name: &str) -> Result<StateSpace, String> {
    let dir = project_root().join("testdata").join("lti").join(name);
    dln_systems::reference::load_system(&dir).map_err(|e| e.to_string())
}

/// One system of the reduction panel: $\sigma_{r+1}$, $\|G-G_r\|_{\mathcal H_\infty}$ and
/// $2\sum_{k>r}\sigma_k$ over the orders $r$.
#[derive(Debug, Clone)]
pub struct ReductionErrors {
    /// System name.
    pub name: String,
    /// Orders $r$.
    pub orders: Vec<usize>,
    /// $\sigma_{r+1}$ (the lower bound).
    pub lower: Vec<f64>,
    /// Measured $\|G-G_r\|_{\mathcal H_\infty}$.
    pub error: Vec<f64>,
    /// $2\sum_{k>r}\sigma_k$ (the upper bound).
    pub upper: Vec<f64>,
}

/// Figure 5 data: $(k, \sigma_k/\sigma_1)$ for each system of `hsv_systems`, and the balanced
/// truncation errors of `reduce_systems` for $r = 1, \dots, r_{\max}$.
///
/// # Errors
/// Loading, Gramian, reduction and norm failures.
pub fn fig5_data(
    hsv_systems: &[&str],
    reduce_systems: &[(&str, usize)],
) -> Result<(Vec<Curve>, Vec<ReductionErrors>), String> {
    let mut hsv = Vec::new();
    for name in hsv_systems {
        let sys = load_system(name)?;
        let s = hankel_singular_values(&sys).map_err(err(name))?;
        let s1 = s[0];
        hsv.push(Curve::new(
            format!("{name} (n = {})", sys.order()),
            s.iter()
                .enumerate()
                .map(|(k, v)| ((k + 1) as f64, v / s1))
                .collect(),
        ));
    }
    let mut red = Vec::new();
    for &(name, r_max) in reduce_systems {
        let sys = load_system(name)?;
        let mut e = ReductionErrors {
            name: format!("{name} (n = {})", sys.order()),
            orders: Vec::new(),
            lower: Vec::new(),
            error: Vec::new(),
            upper: Vec::new(),
        };
        for r in 1..=r_max {
            let red = reduce(
                &sys,
                ReductionOptions {
                    order: OrderSelection::Fixed(r),
                    ..Default::default()
                },
            )
            .map_err(err(name))?;
            let h = red.hinf_error().map_err(err(name))?;
            e.orders.push(red.order);
            e.lower.push(red.error_lower_bound);
            e.error.push(h.value);
            e.upper.push(red.error_bound);
        }
        red.push(e);
    }
    Ok((hsv, red))
}

// ------------------------------------------------------------------------------------------
// Figure 6: posterior on the fiber.

/// The product value $x$ of the fiber $w_2w_1 = x$ of figure 6.
pub const FIG6_X: f64 = 1.0;

/// Weight decay $\kappa$ of figure 6 (so $\beta\kappa = \beta$).
pub const FIG6_KAPPA: f64 = 1.0;

/// Inverse temperatures $\beta$ of figure 6.
pub const FIG6_BETAS: [f64; 4] = [1.0, 4.0, 16.0, 64.0];

/// Half-width of the moment axis $G\in[-R, R]$ of the histograms of figure 6.
pub const FIG6_G_RANGE: f64 = 6.0;

/// One chain of figure 6.
#[derive(Debug, Clone)]
pub struct PosteriorRun {
    /// Inverse temperature $\beta$.
    pub beta: f64,
    /// Retained samples $(w_1, w_2)$.
    pub samples: Vec<(f64, f64)>,
    /// Histogram of the moment $G = w_1^2-w_2^2$ of the samples on [`FIG6_G_RANGE`]: (bin centre,
    /// density = count / (samples · bin width)).
    pub histogram: Vec<(f64, f64)>,
    /// The exact posterior density of $G$ (see [`moment_density`]) on a fine grid of the same range.
    pub exact: Vec<(f64, f64)>,
    /// The sampler's diagnostics.
    pub diagnostics: dln_bayes::FiberDiagnostics,
}

/// Data of figure 6.
#[derive(Debug, Clone)]
pub struct PosteriorOnFiber {
    /// The product value $x$.
    pub x: f64,
    /// Weight decay $\kappa$.
    pub kappa: f64,
    /// The base measure (`"hausdorff"`: the paper's (4.5)).
    pub measure: &'static str,
    /// One chain per $\beta$, in increasing $\beta$.
    pub runs: Vec<PosteriorRun>,
}

/// The density of the moment $G = w_1^2-w_2^2$ under the posterior
/// $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ on $w_2w_1 = x$, both branches together:
/// on the fiber $\|\mathbf W\|^2 = \sqrt{G^2+4x^2}$, and with $t = |w_1|$,
/// $dG = 2t(1+x^2/t^4)\,dt$, so against the Hausdorff measure (arc length
/// $\sqrt{1+x^2/t^4}\,dt$)
/// $$p(G)\propto e^{-\beta\kappa\sqrt{G^2+4x^2}/2}\,(G^2+4x^2)^{-1/4},$$
/// and against the conditional measure (an extra $1/J_\varphi = 1/\|\mathbf W\|$)
/// $p(G)\propto e^{-\beta\kappa\sqrt{G^2+4x^2}/2}\,(G^2+4x^2)^{-1/2}$. Unnormalised.
pub fn moment_density(g: f64, x: f64, beta_kappa: f64, measure: BaseMeasure) -> f64 {
    let q = (g * g + 4.0 * x * x).sqrt();
    let base = (-0.5 * beta_kappa * q).exp();
    match measure {
        BaseMeasure::Hausdorff => base / q.sqrt(),
        BaseMeasure::Conditional => base / q,
    }
}

/// Figure 6 data: for each $\beta$ of `betas`, `samples` draws (thinned by `thin`, after 1000
/// burn-in steps, seeded) of the posterior $\propto e^{-\beta\kappa\|\mathbf W\|^2/2}$ on the real
/// fiber $w_2w_1 = $ [`FIG6_X`] against the Hausdorff measure, by
/// [`FiberPosterior::sample`] from the unbalanced point $(w_1, w_2) = (2, x/2)$ (the sign-flip
/// moves carry the chain to the other branch); the histogram of $G = w_1^2-w_2^2$ and its exact
/// density ([`moment_density`], normalised over the whole line by the trapezoid rule).
///
/// # Errors
/// Sampler failures.
pub fn fig6_data(betas: &[f64], samples: usize, thin: usize) -> Result<PosteriorOnFiber, String> {
    let x = FIG6_X;
    let measure = BaseMeasure::Hausdorff;
    let w0 = net2(2.0, x / 2.0);
    let bins = 48;
    let width = 2.0 * FIG6_G_RANGE / bins as f64;
    let mut runs = Vec::new();
    for (i, &beta) in betas.iter().enumerate() {
        let post = FiberPosterior::new(beta, FIG6_KAPPA, measure).map_err(err("posterior"))?;
        let opts = FiberMcmcOptions {
            samples,
            burn_in: 1000,
            thin,
            ..Default::default()
        };
        let chain = post
            .sample(&w0, &opts, 60 + i as u64, &mut ())
            .map_err(err("fiber sampler"))?;
        let pts: Vec<(f64, f64)> = chain.samples.iter().map(|w| coords(w.layers())).collect();
        let mut counts = vec![0usize; bins];
        for &(a, b) in &pts {
            let g = a * a - b * b;
            let k = ((g + FIG6_G_RANGE) / width).floor();
            if (0.0..bins as f64).contains(&k) {
                counts[k as usize] += 1;
            }
        }
        let histogram = counts
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                (
                    -FIG6_G_RANGE + (k as f64 + 0.5) * width,
                    c as f64 / (pts.len() as f64 * width),
                )
            })
            .collect();
        // Normalise over the whole line: the tails decay like e^{-βκ|G|/2}.
        let bk = beta * FIG6_KAPPA;
        let (g_max, n) = (80.0 / bk + FIG6_G_RANGE, 200_001);
        let h = 2.0 * g_max / (n - 1) as f64;
        let mass: f64 = (0..n)
            .map(|k| {
                let w = if k == 0 || k == n - 1 { 0.5 } else { 1.0 };
                w * moment_density(-g_max + h * k as f64, x, bk, measure)
            })
            .sum::<f64>()
            * h;
        let exact = (0..=600)
            .map(|k| {
                let g = -FIG6_G_RANGE + 2.0 * FIG6_G_RANGE * f64::from(k) / 600.0;
                (g, moment_density(g, x, bk, measure) / mass)
            })
            .collect();
        runs.push(PosteriorRun {
            beta,
            samples: pts,
            histogram,
            exact,
            diagnostics: chain.diagnostics,
        });
    }
    Ok(PosteriorOnFiber {
        x,
        kappa: FIG6_KAPPA,
        measure: measure.name(),
        runs,
    })
}

// ------------------------------------------------------------------------------------------
// The task.

/// Options of `cargo xtask figures`.
#[derive(Debug, Clone)]
pub struct FiguresOptions {
    /// Output directory (default `docs/figures/`).
    pub out: PathBuf,
}

impl Default for FiguresOptions {
    fn default() -> Self {
        Self {
            out: project_root().join("docs").join("figures"),
        }
    }
}

/// Computes and writes every figure; prints one line per file.
///
/// # Errors
/// Computation or write failures (naming the figure).
pub fn figures(opts: &FiguresOptions) -> Result<bool, String> {
    use crate::figures_plot as plot;
    std::fs::create_dir_all(&opts.out).map_err(err(&opts.out.display().to_string()))?;
    let path = |f: &str| opts.out.join(f);
    let timed = |name: &str, f: &mut dyn FnMut() -> Result<(), String>| -> Result<(), String> {
        let t = std::time::Instant::now();
        f().map_err(|e| format!("{name}: {e}"))?;
        eprintln!(
            "wrote {} ({:.1} s)",
            path(name).display(),
            t.elapsed().as_secs_f64()
        );
        Ok(())
    };
    timed("fig1_geometry.svg", &mut || {
        plot::fig1(&fig1_data()?, &path("fig1_geometry.svg"))
    })?;
    timed("fig2_moment_decay.svg", &mut || {
        plot::fig2(&fig2_data()?, &path("fig2_moment_decay.svg"))
    })?;
    timed("fig3_learning.svg", &mut || {
        plot::fig3(&fig3_data(10.0, 101)?, &path("fig3_learning.svg"))
    })?;
    timed("fig4_kempf_ness.svg", &mut || {
        plot::fig4(&fig4_data()?, &path("fig4_kempf_ness.svg"))
    })?;
    timed("fig5_hsv.svg", &mut || {
        let (hsv, red) = fig5_data(&FIG5_HSV_SYSTEMS, &[("build", 30), ("CDplayer", 30)])?;
        plot::fig5(&hsv, &red, &path("fig5_hsv.svg"))
    })?;
    timed("fig6_posterior_fiber.svg", &mut || {
        plot::fig6(
            &fig6_data(&FIG6_BETAS, 2000, 5)?,
            &path("fig6_posterior_fiber.svg"),
        )
    })?;
    Ok(true)
}
