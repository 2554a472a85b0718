//! Kempf–Ness balancing: the point of least norm in (the closure of) the $G$-orbit of $\mathbf W$.
//!
//! $$\inf_{g\in G}\|g\cdot\mathbf W\|_2^2 = N\sum_i\sigma_i(X)^{2/N}\qquad\text{for every }\mathbf W,$$
//! any widths and any rank: the infimum over the orbit closure is attained on its unique closed
//! orbit, where $\mu = 0$, and every balanced point of the fiber has this norm. The bound is the
//! certificate reported with every solve ([`BalanceInfo::gap`]).
//!
//! Two methods:
//! - [`BalanceMethod::Svd`] (closed form): the centre $\mathbf C$ of the fiber from one SVD of
//!   $X$ ([`BalancedOrbit::centre`]). Cost: the $N-1$ products forming $X$, one SVD, $N$ scaled
//!   products. It is *a* balanced point of the fiber; for square full-rank $X$ the balanced points
//!   form the single orbit $\mathcal O_X = K\cdot\mathbf C$.
//! - [`BalanceMethod::Orbit`] (iterative, canonical): Newton's method for $\mu(e^{\mathbf a}\cdot\mathbf W)=0$
//!   in group coordinates. At the current point solve $\mathbf H(\mathbf b) = \mathbf G$ (the fiber
//!   metric's minimal-norm generator; by Lemma 4, $d\mathbf G(\mathbf w_{\mathbf b}) = 2\mathbf G$), and
//!   move along the orbit by $\mathbf W\leftarrow e^{-\tau\mathbf b}\cdot\mathbf W$ with $\tau = \tfrac12$
//!   (first-order cancellation of $\mathbf G$), halving $\tau$ until $\|\mathbf G\|$ decreases. The
//!   accumulated group element $h = \prod e^{-\tau\mathbf b}$ is split by the polar decomposition
//!   $h_k = u_kp_k$ and the answer is $p\cdot\mathbf W = u^*\cdot(h\cdot\mathbf W)$ with $p$ **positive
//!   definite**: the canonical minimizer $g\in\exp(i\mathfrak k)$, unique when the stabilizer is trivial.
//!   When the orbit is not closed ([`orbit_is_closed`]: some layer has larger rank than $X$, e.g.
//!   a rank-deficient product of full-rank rectangular layers) the infimum is not attained: $\|\mathbf G\|$
//!   still tends to zero along the iteration but $h$ diverges. The solver then returns the balanced
//!   point of the same fiber whose frames $Q_k = \mathrm{polar}(\tilde X_k Q_0)$ are read off the last
//!   iterate $\tilde{\mathbf W}$ — the limit point in the orbit closure, up to the convergence of the
//!   frames — and reports `orbit_closed = false`.
//! - `BalanceMethod::Auto`: `Orbit`.

use crate::fiber::{CgOptions, FiberOperator};
use crate::orbit::BalancedOrbit;
use crate::{Network, Result};
use dln_linalg::{Scalar, expm, polar, rel_diff};
use faer::Mat;

/// Which balancing algorithm to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceMethod {
    /// `Orbit` (the canonical answer).
    Auto,
    /// Closed form from the SVD of $X$ (the centre of the fiber).
    Svd,
    /// Newton iteration along the orbit, canonical positive-definite group element.
    Orbit,
}

impl BalanceMethod {
    /// Lower-case name (`"auto"`, `"svd"`, `"orbit"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Svd => "svd",
            Self::Orbit => "orbit",
        }
    }
}

/// Options of [`balance`].
#[derive(Debug, Clone, Copy)]
pub struct BalanceOptions {
    /// Algorithm. Default [`BalanceMethod::Auto`].
    pub method: BalanceMethod,
    /// Converged when $\|\mu\|\le\mathrm{tol}\cdot\|\mathbf W\|_2^2$. Default `1e-13`.
    pub tol: f64,
    /// Newton iteration cap for `Orbit`. Default `60`.
    pub max_iter: usize,
}

impl Default for BalanceOptions {
    fn default() -> Self {
        Self {
            method: BalanceMethod::Auto,
            tol: 1e-13,
            max_iter: 60,
        }
    }
}

/// Diagnostics of a balancing solve: what was done and how good the answer is.
#[derive(Debug, Clone)]
pub struct BalanceInfo {
    /// The algorithm actually used.
    pub method: BalanceMethod,
    /// Newton iterations (0 for `Svd`).
    pub iterations: usize,
    /// Total conjugate-gradient iterations spent on $\mathbf H$-solves.
    pub cg_iterations: usize,
    /// Whether the orbit of the input is closed ([`orbit_is_closed`]), i.e. the minimum is attained
    /// in it. For `Orbit` with a closed orbit the answer is $p\cdot\mathbf W$; otherwise it is the
    /// balanced limit point in the orbit closure.
    pub orbit_closed: bool,
    /// $\|\mu(\mathbf W)\|$ of the input.
    pub moment_norm_before: f64,
    /// $\|\mu(\mathbf W')\|$ of the answer.
    pub moment_norm_after: f64,
    /// $\|\mathbf W\|_2^2$ of the input.
    pub l2_norm_sq_before: f64,
    /// $\|\mathbf W'\|_2^2$ of the answer.
    pub l2_norm_sq_after: f64,
    /// $N\sum_i\sigma_i(X)^{2/N}$.
    pub lower_bound: f64,
    /// $\|X'-X\|_F/\|X\|_F$.
    pub product_rel_change: f64,
}

impl BalanceInfo {
    /// Relative gap to the certificate, $(\|\mathbf W'\|^2 - N\sum\sigma_i^{2/N})/N\sum\sigma_i^{2/N}$.
    pub fn gap(&self) -> f64 {
        (self.l2_norm_sq_after - self.lower_bound) / self.lower_bound.max(f64::MIN_POSITIVE)
    }
}

/// A balanced network and how it was obtained.
#[derive(Debug, Clone)]
pub struct Balanced<T: Scalar> {
    /// The balanced network $\mathbf W'$ (same fiber as the input).
    pub network: Network<T>,
    /// For `Orbit` with a closed orbit: the positive-definite $p$ with $\mathbf W' = p\cdot\mathbf W$.
    pub group_element: Option<Vec<Mat<T>>>,
    /// Diagnostics.
    pub info: BalanceInfo,
}

/// Balances $\mathbf W$: a point of least $\|\cdot\|_2^2$ in its fiber, reached along its orbit when
/// possible. See the module documentation for the methods.
///
/// # Errors
/// SVD/eigendecomposition failures, a non-finite iterate.
pub fn balance<T: Scalar>(net: &Network<T>, opts: BalanceOptions) -> Result<Balanced<T>> {
    let orbit = BalancedOrbit::of(net)?;
    let x = net.product();
    let before = (net.moment_norm(), net.l2_norm_sq());
    let finish = |w: Network<T>, method, iterations, cg_iterations, closed, g| -> Balanced<T> {
        let info = BalanceInfo {
            method,
            iterations,
            cg_iterations,
            orbit_closed: closed,
            moment_norm_before: before.0,
            moment_norm_after: w.moment_norm(),
            l2_norm_sq_before: before.1,
            l2_norm_sq_after: w.l2_norm_sq(),
            lower_bound: orbit.l2_lower_bound(),
            product_rel_change: if x.norm_l2() > 0.0 {
                rel_diff(w.product().as_ref(), x.as_ref())
            } else {
                w.product().norm_l2()
            },
        };
        Balanced {
            network: w,
            group_element: g,
            info,
        }
    };
    if net.depth() == 1 {
        return Ok(finish(
            net.clone(),
            opts.method,
            0,
            0,
            true,
            Some(Vec::new()),
        ));
    }
    match opts.method {
        BalanceMethod::Svd => {
            let closed = orbit_is_closed(net, orbit.rank())?;
            Ok(finish(
                orbit.centre(),
                BalanceMethod::Svd,
                0,
                0,
                closed,
                None,
            ))
        }
        BalanceMethod::Orbit | BalanceMethod::Auto => {
            let closed = orbit_is_closed(net, orbit.rank())?;
            let run = newton(net, opts)?;
            if closed && run.converged {
                // Canonical representative: p·W = u^*·(h·W), h_k = u_k p_k.
                let mut u_star = Vec::with_capacity(run.h.len());
                let mut p = Vec::with_capacity(run.h.len());
                for hk in &run.h {
                    let pol = polar(hk.as_ref())?;
                    u_star.push(pol.unitary.adjoint().to_owned());
                    p.push(pol.positive);
                }
                let w = run.w.act_unitary(&u_star);
                Ok(finish(
                    w,
                    BalanceMethod::Orbit,
                    run.iterations,
                    run.cg_iterations,
                    true,
                    Some(p),
                ))
            } else {
                let w = snap_to_balanced(&run.w, &orbit)?;
                Ok(finish(
                    w,
                    BalanceMethod::Orbit,
                    run.iterations,
                    run.cg_iterations,
                    closed,
                    None,
                ))
            }
        }
    }
}

struct NewtonRun<T: Scalar> {
    w: Network<T>,
    h: Vec<Mat<T>>,
    iterations: usize,
    cg_iterations: usize,
    converged: bool,
}

fn newton<T: Scalar>(net: &Network<T>, opts: BalanceOptions) -> Result<NewtonRun<T>> {
    let n = net.depth();
    let mut w = net.clone();
    let mut h: Vec<Mat<T>> = (1..n)
        .map(|k| Mat::identity(net.width(k), net.width(k)))
        .collect();
    let mut m = w.moment_norm();
    let mut cg_total = 0;
    let mut it = 0;
    let mut slow = 0;
    while it < opts.max_iter {
        if m <= opts.tol * w.l2_norm_sq() {
            return Ok(NewtonRun {
                w,
                h,
                iterations: it,
                cg_iterations: cg_total,
                converged: true,
            });
        }
        it += 1;
        let sol = {
            let mut op = FiberOperator::new(&w);
            op.l2_gradient_generator(CgOptions {
                rtol: 1e-10_f64.min(m / w.l2_norm_sq()),
                max_iter: 400,
            })?
        };
        cg_total += sol.iterations;
        let mut tau = 0.5;
        let mut accepted = None;
        for _ in 0..30 {
            let e: Vec<Mat<T>> = sol
                .b
                .iter()
                .map(|b| expm((faer::Scale(T::from_f64(-tau)) * b).as_ref()))
                .collect::<std::result::Result<_, _>>()?;
            let e_inv: Vec<Mat<T>> = sol
                .b
                .iter()
                .map(|b| expm((faer::Scale(T::from_f64(tau)) * b).as_ref()))
                .collect::<std::result::Result<_, _>>()?;
            let trial = w.act_with_inverse(&e, &e_inv);
            let mt = trial.moment_norm();
            if mt.is_finite() && mt < m {
                accepted = Some((trial, e, mt));
                break;
            }
            tau *= 0.5;
        }
        let Some((trial, e, mt)) = accepted else {
            break;
        };
        // Quadratic convergence reduces ||G|| by far more than 1/2 near a closed orbit; a run of
        // slow steps means the infimum is not attained in the orbit.
        slow = if mt > 0.5 * m { slow + 1 } else { 0 };
        for (hk, ek) in h.iter_mut().zip(&e) {
            *hk = ek * &*hk;
        }
        w = trial;
        m = mt;
        if slow >= 8 {
            break;
        }
    }
    let converged = m <= opts.tol * w.l2_norm_sq();
    Ok(NewtonRun {
        w,
        h,
        iterations: it,
        cg_iterations: cg_total,
        converged,
    })
}

/// Whether the $G$-orbit of $\mathbf W$ is closed, i.e. contains a balanced point (ours, for the
/// framed linear quiver): every layer has the numerical rank $r$ of $X$.
///
/// A balanced point $\mathbf Q\cdot\mathbf C$ has $\operatorname{rank}W_k = r$ for all $k$, and so does every
/// point of its orbit. Conversely, if all ranks equal $r$ then $\operatorname{im}W_k\oplus\ker W_{k+1}$ is the
/// whole hidden space at every junction, $\mathbf W$ splits into an invertible rank-$r$ chain (a closed
/// orbit) and zero maps, and the orbit is closed. Ranks are numerical (see
/// [`crate::moment::numerical_rank`]), so near the boundary the answer is as reliable as the ranks.
///
/// # Errors
/// SVD failures.
pub fn orbit_is_closed<T: Scalar>(net: &Network<T>, rank_x: usize) -> Result<bool> {
    for w in net.layers() {
        let s = dln_linalg::singular_values(w.as_ref())?;
        if crate::moment::numerical_rank(&s, w.nrows(), w.ncols()) != rank_x {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The balanced point $\mathbf Q\cdot\mathbf C$ of the fiber whose hidden frames are the polar factors
/// $Q_k = \mathrm{polar}(X_kQ_0)$ of the partial products $X_k = W_k\cdots W_1$ of `w`.
///
/// For balanced $\mathbf W$ this returns $\mathbf W$ itself (then $X_kQ_0 = Q_k\Lambda^k$); near a
/// balanced point it returns a nearby balanced point.
///
/// # Errors
/// SVD failures.
pub fn snap_to_balanced<T: Scalar>(w: &Network<T>, orbit: &BalancedOrbit<T>) -> Result<Network<T>> {
    let n = w.depth();
    let partial = w.partial_products();
    let mut frames = Vec::with_capacity(n.saturating_sub(1));
    for k in 1..n {
        let y = &partial[k - 1] * &orbit.v;
        frames.push(polar(y.as_ref())?.unitary);
    }
    Ok(orbit.point(&frames))
}
