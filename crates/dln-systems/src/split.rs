//! Additive spectral splitting,
//! $$G(s) = G_s(s) + G_u(s),\qquad G_s = (A_s, B_s, C_s, D),\quad G_u = (A_u, B_u, C_u, 0),$$
//! where the eigenvalues of $A_s$ lie in the open $\alpha$-stability region
//! ($\operatorname{Re}\lambda < \alpha$ in continuous time, $|\lambda| < \alpha$ in discrete time)
//! and those of $A_u$ outside it (SLICOT TB01KD semantics, as used by AB09MD/ND and AB13AD).
//!
//! # Algorithm
//! Real Schur form $A = ZTZ^\top$ ($\approx 25n^3$ flops), reordered so that the $\alpha$-stable
//! eigenvalues come first, $T = \begin{pmatrix}T_{11}&T_{12}\\\\0&T_{22}\end{pmatrix}$; then the
//! Sylvester equation $T_{11}X - XT_{22} = -T_{12}$ (disjoint spectra) gives the block-diagonalizing
//! transformation $W = \begin{pmatrix}I&X\\\\0&I\end{pmatrix}$:
//! $A_s = T_{11}$, $A_u = T_{22}$, $\binom{B_s}{B_u} = W^{-1}Z^\top B$, $(C_s\ C_u) = CZW$.
//! The conditioning is governed by $\\|X\\|$, i.e. by the separation of the two spectra.
//!
//! # References
//! - SLICOT TB01KD / AB09MD documentation; A. Varga, *Balancing-free square-root algorithm for
//!   computing singular perturbation approximations*, Proc. 30th IEEE CDC (1991).

use crate::model::{Sampling, StateSpace};
use crate::schur::{RealSchur, real_schur, reorder_real_schur};
use crate::sylvester::sylvester;
use crate::{Result, SystemsError};
use dln_linalg::c64;
use faer::Mat;

/// The additive decomposition $G = G_s + G_u$ with respect to the boundary $\alpha$.
#[derive(Debug, Clone)]
pub struct AdditiveSplit {
    /// $\alpha$-stable part, carrying the feedthrough $D$; $A_s$ is quasi-upper triangular
    /// (real Schur form).
    pub stable: StateSpace,
    /// $\alpha$-unstable part, zero feedthrough; $A_u$ quasi-upper triangular.
    pub unstable: StateSpace,
    /// The boundary $\alpha$.
    pub alpha: f64,
    /// $\\|X\\|_F$ of the decoupling Sylvester solution (large = ill-conditioned split).
    pub coupling_norm: f64,
}

impl AdditiveSplit {
    /// The real Schur form of the stable part's $A_s$ (it is already quasi-triangular: $Z = I$).
    pub(crate) fn stable_schur(&self) -> RealSchur {
        let n = self.stable.order();
        RealSchur {
            t: self.stable.a().to_owned(),
            z: Mat::identity(n, n),
        }
    }
}

/// Whether $\lambda$ is $\alpha$-stable: $\operatorname{Re}\lambda<\alpha$ (CT), $|\lambda|<\alpha$ (DT).
pub fn is_alpha_stable(sampling: Sampling, alpha: f64, l: c64) -> bool {
    match sampling {
        Sampling::Continuous => l.re < alpha,
        Sampling::Discrete { .. } => l.norm() < alpha,
    }
}

/// Checks SLICOT's admissible range: $\alpha\le0$ (CT), $0\le\alpha\le1$ (DT).
pub(crate) fn check_alpha(sampling: Sampling, alpha: f64) -> Result<()> {
    let ok = match sampling {
        Sampling::Continuous => alpha <= 0.0,
        Sampling::Discrete { .. } => (0.0..=1.0).contains(&alpha),
    };
    if ok {
        Ok(())
    } else {
        Err(SystemsError::InvalidArgument(format!(
            "alpha = {alpha} outside the admissible range ({})",
            if sampling.is_discrete() {
                "0 <= alpha <= 1 for discrete time"
            } else {
                "alpha <= 0 for continuous time"
            }
        )))
    }
}

/// Splits $G = G_s + G_u$ at the boundary $\alpha$ (see the [module documentation](self)).
///
/// # Errors
/// [`SystemsError::InvalidArgument`] for $\alpha$ outside $(-\infty,0]$ (CT) or $\[0,1\]$ (DT);
/// [`SystemsError::NoConvergence`] if the Schur form or its reordering fails; Sylvester
/// failures.
///
/// # Algorithm
/// $\approx 25n^3$ (Schur) $+\\ O(n_sn_u(n_s+n_u))$ (Sylvester) flops.
pub fn additive_split(sys: &StateSpace, alpha: f64) -> Result<AdditiveSplit> {
    check_alpha(sys.sampling(), alpha)?;
    let schur = real_schur(sys.a())?;
    split_with_schur(sys, schur, alpha)
}

pub(crate) fn split_with_schur(
    sys: &StateSpace,
    mut schur: RealSchur,
    alpha: f64,
) -> Result<AdditiveSplit> {
    let sampling = sys.sampling();
    let n = sys.order();
    let ns = reorder_real_schur(&mut schur, |l| is_alpha_stable(sampling, alpha, l))?;
    let nu = n - ns;
    let t = &schur.t;
    let zb = schur.z.transpose() * sys.b();
    let cz = sys.c() * &schur.z;
    let (m, p) = (sys.inputs(), sys.outputs());
    let (bs, bu, cs, cu, xn) = if ns > 0 && nu > 0 {
        let t11 = t.as_ref().submatrix(0, 0, ns, ns);
        let t12 = t.as_ref().submatrix(0, ns, ns, nu);
        let t22 = t.as_ref().submatrix(ns, ns, nu, nu);
        let x = sylvester(t11, (-t22).as_ref(), (-t12).as_ref())?;
        let b1 = zb.as_ref().submatrix(0, 0, ns, m);
        let b2 = zb.as_ref().submatrix(ns, 0, nu, m);
        let c1 = cz.as_ref().submatrix(0, 0, p, ns);
        let c2 = cz.as_ref().submatrix(0, ns, p, nu);
        let bs = b1 - &x * b2;
        let cu = c2 + c1 * &x;
        (bs, b2.to_owned(), c1.to_owned(), cu, x.norm_l2())
    } else {
        let b1 = zb.as_ref().submatrix(0, 0, ns, m).to_owned();
        let b2 = zb.as_ref().submatrix(ns, 0, nu, m).to_owned();
        let c1 = cz.as_ref().submatrix(0, 0, p, ns).to_owned();
        let c2 = cz.as_ref().submatrix(0, ns, p, nu).to_owned();
        (b1, b2, c1, c2, 0.0)
    };
    let as_ = t.as_ref().submatrix(0, 0, ns, ns).to_owned();
    let au = t.as_ref().submatrix(ns, ns, nu, nu).to_owned();
    let stable = StateSpace::new(as_, bs, cs, sys.d().to_owned(), sampling)?;
    let unstable = StateSpace::new(au, bu, cu, Mat::zeros(p, m), sampling)?;
    Ok(AdditiveSplit {
        stable,
        unstable,
        alpha,
        coupling_norm: xn,
    })
}

/// The block-diagonal realization of $G_1 + G_2$ with $G_1$'s states first (feedthroughs added).
///
/// # Errors
/// As [`StateSpace::parallel`].
pub fn block_sum(g1: &StateSpace, g2: &StateSpace) -> Result<StateSpace> {
    g1.parallel(g2, 1.0)
}
