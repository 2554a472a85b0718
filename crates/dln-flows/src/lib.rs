//! Balancing flows, training flows and the learning flow of the deep linear network
//! $X = W_N\cdots W_1$, with structure-preserving integrators.
//!
//! The flows, all on weight tuples $\mathbf W = (W_N,\dots,W_1)$ over $\mathbb R$ or $\mathbb C$:
//! - [`balancing`]: the L² regularizing flow $\dot{\mathbf W} = -\mathbf w_{\mathbf b}$, $\mathbf H(\mathbf b) = \mathbf G$, with
//!   $\mathbf G(t) = \mathbf G(0)e^{-2t}$ exactly, and the Kirwan–Ness flow $\dot W_k = 2(W_kG_{k-1} - G_kW_k)$;
//!   both move along group orbits and keep $X$ fixed;
//! - [`training`]: the gradient flow and gradient descent of $E(X) + \tfrac\kappa2\|\mathbf W\|^2$ for a
//!   [`loss::Loss`], with $\mathbf G(t) = \mathbf G(0)e^{-2\kappa t}$ for every loss;
//! - [`learning`]: the learning flow $\dot X = -\mathcal A_{N,X}(E'(X))$ on the balanced manifold, its
//!   metric $g^N$ and the horizontal lift;
//! - [`fast_slow`]: the split of training into regularizing and learning parts, and the two-stage
//!   approximation.
//!
//! The integrators ([`integrator`]): [`Dopri5`] (adaptive Dormand–Prince 5(4), dense output) for
//! any [`VectorField`], and [`Rkmk5`] (Runge–Kutta–Munthe-Kaas on the same tableau) for an
//! [`OrbitField`] $\dot{\mathbf W} = \mathbf w_{\mathbf a}$, which advances the group element with
//! [`dln_linalg::expm()`] and its exact inverse so that $X$ is preserved to rounding. Both implement
//! [`Integrator`] (`step`, `set_stop_time`, `interpolate`, `solve`, `solve_dense`) and report through an
//! [`Observer`] whose hooks return [`std::ops::ControlFlow`]: a caller records, reports progress or
//! stops early; the crate never prints.
//!
//! # Example
//! The L² flow keeps $X$ to rounding and contracts the moments at the uniform rate 2:
//! ```
//! use dln_algebra::Network;
//! use dln_flows::balancing::{balancing_flow, linspace, BalancingOptions};
//! use dln_linalg::{c64, random};
//! let mut rng = random::rng(11);
//! let w = Network::new((0..4).map(|_| random::gaussian::<c64, _>(&mut rng, 5, 5)).collect()).unwrap();
//! let run = balancing_flow(&w, &BalancingOptions::default(), &linspace(2.0, 5), &mut ()).unwrap();
//! for s in &run.samples {
//!     let expected = run.samples[0].moment_norm * (-2.0 * s.t).exp();
//!     assert!((s.moment_norm / expected - 1.0).abs() < 1e-6);
//!     assert!(s.product_rel_change < 1e-12);
//! }
//! ```
//!
//! # Why it is designed this way
//! Balancing flows are flows on a group orbit, so their natural integrator works in the group: a
//! generic Runge–Kutta method on the weights would let $X$ drift by the tolerance at every step.
//! Training and learning flows are not orbit flows and use the generic integrator; their
//! invariants ($\mathbf G$ decay, claim 28) then become sharp tests of its accuracy.

// Library crates never print (ARCHITECTURE.md; checked by `cargo xtask tidy`).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod balancing;
mod error;
pub mod fast_slow;
pub mod integrator;
pub mod learning;
pub mod loss;
pub mod observer;
mod options;
pub mod training;

pub use error::{FlowError, Result};
pub use integrator::{
    Dopri5, FlowStats, Integrator, OrbitField, Rkmk5, StepOutcome, Trajectory, VectorField,
};
pub use observer::{Every, FnObserver, Observer, Progress, Termination, every};
pub use options::{ControllerParams, FlowBuilder, FlowOptions};
