//! Polar decomposition $A = UH$.
//!
//! From the thin SVD $A = W\Sigma V^*$: $U = WV^*$ (a partial isometry: orthonormal columns when
//! $A$ is tall, orthonormal rows when it is wide) and $H = V\Sigma V^* = (A^*A)^{1/2}$, Hermitian
//! positive semidefinite. $U$ is the closest matrix with orthonormal columns (rows) to $A$ in every
//! unitarily invariant norm; for square invertible $A$ both factors are unique.

use crate::{LinalgError, Result, Scalar, ScaledReal, ldexp, scale_cols, thin_svd_scaled};
use faer::{Mat, MatRef};

/// Factors of the polar decomposition $A = UH$.
#[derive(Debug, Clone)]
pub struct Polar<T: Scalar> {
    /// $U = WV^*$, with orthonormal columns ($m\ge n$) or rows ($m<n$).
    pub unitary: Mat<T>,
    /// $H = (A^*A)^{1/2}$, $n\times n$ Hermitian PSD.
    pub positive: Mat<T>,
}

/// Polar decomposition of an $m\times n$ matrix.
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input, [`LinalgError::NoConvergence`] if the SVD fails,
/// [`LinalgError::NotRepresentable`] if $H$ overflows `f64`.
pub fn polar<T: Scalar>(a: MatRef<'_, T>) -> Result<Polar<T>> {
    // U is invariant under A -> 2^{-e}A and H scales with it: the SVD runs on the scaled matrix.
    let (svd, e) = thin_svd_scaled(a)?;
    let sig: Vec<f64> = svd.s.iter().map(|&s| ldexp(s, e)).collect();
    if sig.first().is_some_and(|s| !s.is_finite()) {
        return Err(LinalgError::NotRepresentable {
            what: "the positive polar factor",
            magnitude: ScaledReal::new(svd.s[0], e),
        });
    }
    let unitary = &svd.u * svd.v.adjoint();
    let positive = scale_cols(svd.v.as_ref(), &sig) * svd.v.adjoint();
    Ok(Polar { unitary, positive })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{gaussian, rng};
    use crate::rel_diff;
    use faer::c64;

    fn check<T: Scalar>() {
        let mut r = rng(11);
        for (m, n) in [(4, 4), (7, 3), (3, 7)] {
            let a: Mat<T> = gaussian(&mut r, m, n);
            let p = polar(a.as_ref()).unwrap();
            assert!(rel_diff((&p.unitary * &p.positive).as_ref(), a.as_ref()) < 1e-13);
            let k = m.min(n);
            let g = if m >= n {
                p.unitary.adjoint() * &p.unitary
            } else {
                &p.unitary * p.unitary.adjoint()
            };
            assert!(rel_diff(g.as_ref(), Mat::<T>::identity(k, k).as_ref()) < 1e-13);
        }
    }
    #[test]
    fn polar_real() {
        check::<f64>();
    }
    #[test]
    fn polar_complex() {
        check::<c64>();
    }
}
