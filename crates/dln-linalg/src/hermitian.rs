//! Functions of Hermitian matrices through the self-adjoint eigendecomposition.
//!
//! For Hermitian $A = U\Lambda U^*$ and a real function $f$,
//! $$f(A) = U\\,f(\Lambda)\\,U^*.$$
//! This gives the real powers $A^p$ of a positive semidefinite matrix (rank deficiency is
//! handled for $p>0$: eigenvalues below the rounding level are treated as exact zeros), the
//! square root and inverse square root, $\exp$ and $\log$, and the matrix geometric mean
//! $$A\\#B = A^{1/2}\\,(A^{-1/2}BA^{-1/2})^{1/2}\\,A^{1/2},$$
//! the midpoint of the geodesic from $A$ to $B$ in the affine-invariant metric on the cone of
//! positive-definite matrices, and the unique positive-definite solution $X$ of $XA^{-1}X = B$.
//!
//! Only the lower triangle of the input is read, as in faer's `self_adjoint_eigen`.

use crate::{LinalgError, Result, Scalar, scale_cols};
use faer::{Mat, MatRef, Side};

/// Self-adjoint eigendecomposition $A = U\\,\mathrm{diag}(\lambda)\\,U^*$, eigenvalues ascending.
#[derive(Debug, Clone)]
pub struct HermitianEigen<T: Scalar> {
    /// Eigenvalues $\lambda_1\le\dots\le\lambda_n$.
    pub values: Vec<f64>,
    /// Unitary (orthogonal) matrix of eigenvectors, one per column.
    pub vectors: Mat<T>,
}

impl<T: Scalar> HermitianEigen<T> {
    /// Decomposes the Hermitian matrix $A$ (its lower triangle is read).
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`] for NaN/Inf input, [`LinalgError::NoConvergence`] if the
    /// eigensolver fails.
    ///
    /// # Panics
    /// If `a` is not square.
    #[track_caller]
    pub fn new(a: MatRef<'_, T>) -> Result<Self> {
        assert_eq!(
            a.nrows(),
            a.ncols(),
            "HermitianEigen: matrix must be square"
        );
        crate::check_finite(a)?;
        let evd = a
            .self_adjoint_eigen(Side::Lower)
            .map_err(|_| LinalgError::NoConvergence {
                what: "self-adjoint eigendecomposition",
            })?;
        let s = evd.S().column_vector();
        let values = (0..a.nrows()).map(|i| s[i].re()).collect();
        Ok(Self {
            values,
            vectors: evd.U().to_owned(),
        })
    }

    /// $U\\,\mathrm{diag}(f(\lambda_i))\\,U^*$.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Mat<T> {
        let d: Vec<f64> = self.values.iter().map(|&l| f(l)).collect();
        let ud = scale_cols(self.vectors.as_ref(), &d);
        ud * self.vectors.adjoint()
    }

    /// The rounding level $n\\,\varepsilon\\,\max_i|\lambda_i|$ below which an eigenvalue is treated as zero.
    pub fn zero_level(&self) -> f64 {
        let n = self.values.len().max(1) as f64;
        let m = self.values.iter().fold(0.0f64, |m, &l| m.max(l.abs()));
        8.0 * n * f64::EPSILON * m
    }

    /// Checks positive semidefiniteness up to [`Self::zero_level`].
    ///
    /// # Errors
    /// [`LinalgError::NotPositive`] naming the smallest eigenvalue.
    pub fn require_psd(&self) -> Result<()> {
        let tol = self.zero_level();
        match self.values.first() {
            Some(&l) if l < -tol => Err(LinalgError::NotPositive {
                kind: "semidefinite",
                eigenvalue: l,
                tolerance: tol,
            }),
            _ => Ok(()),
        }
    }

    /// Checks positive definiteness: the smallest eigenvalue must exceed [`Self::zero_level`].
    ///
    /// # Errors
    /// [`LinalgError::NotPositive`] naming the smallest eigenvalue.
    pub fn require_pd(&self) -> Result<()> {
        let tol = self.zero_level();
        match self.values.first() {
            Some(&l) if l <= tol => Err(LinalgError::NotPositive {
                kind: "definite",
                eigenvalue: l,
                tolerance: tol,
            }),
            _ => Ok(()),
        }
    }
}

/// The Hermitian part $\tfrac12(A + A^*)$.
///
/// # Panics
/// If `a` is not square.
#[track_caller]
pub fn hermitian_part<T: Scalar>(a: MatRef<'_, T>) -> Mat<T> {
    assert_eq!(
        a.nrows(),
        a.ncols(),
        "hermitian_part: matrix must be square"
    );
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
        (a[(i, j)] + a[(j, i)].conj()).scale(0.5)
    })
}

/// Real power $A^p$ of a Hermitian positive semidefinite matrix.
///
/// For $p > 0$ eigenvalues at the rounding level (including slightly negative ones) are set to
/// zero, so rank-deficient PSD matrices are fine; $p = 0$ gives the orthogonal projector onto the
/// range; for $p < 0$ the matrix must be positive definite.
///
/// # Errors
/// [`LinalgError::NotPositive`] if $A$ has an eigenvalue below $-n\varepsilon\|A\|$ (or, for
/// $p<0$, is not positive definite); decomposition errors from [`HermitianEigen::new`].
///
/// # Panics
/// If `a` is not square.
#[track_caller]
pub fn psd_pow<T: Scalar>(a: MatRef<'_, T>, p: f64) -> Result<Mat<T>> {
    let e = HermitianEigen::new(a)?;
    if p < 0.0 {
        e.require_pd()?
    } else {
        e.require_psd()?
    }
    let tol = e.zero_level();
    Ok(e.map(|l| if l <= tol { 0.0 } else { l.powf(p) }))
}

/// Principal square root $A^{1/2}$ of a Hermitian PSD matrix (see [`psd_pow`]).
///
/// # Errors
/// As [`psd_pow`].
pub fn psd_sqrt<T: Scalar>(a: MatRef<'_, T>) -> Result<Mat<T>> {
    psd_pow(a, 0.5)
}

/// Inverse square root $A^{-1/2}$ of a Hermitian positive-definite matrix.
///
/// # Errors
/// As [`psd_pow`]; [`LinalgError::NotPositive`] when $A$ is not positive definite.
pub fn pd_inv_sqrt<T: Scalar>(a: MatRef<'_, T>) -> Result<Mat<T>> {
    psd_pow(a, -0.5)
}

/// $e^{A}$ of a Hermitian matrix $A$ (always Hermitian positive definite).
///
/// # Errors
/// As [`HermitianEigen::new`].
pub fn hermitian_exp<T: Scalar>(a: MatRef<'_, T>) -> Result<Mat<T>> {
    Ok(HermitianEigen::new(a)?.map(f64::exp))
}

/// Principal logarithm $\log A$ of a Hermitian positive-definite matrix.
///
/// # Errors
/// [`LinalgError::NotPositive`] when $A$ is not positive definite.
pub fn pd_log<T: Scalar>(a: MatRef<'_, T>) -> Result<Mat<T>> {
    let e = HermitianEigen::new(a)?;
    e.require_pd()?;
    Ok(e.map(f64::ln))
}

/// Matrix geometric mean
/// $A\\#B = A^{1/2}(A^{-1/2}BA^{-1/2})^{1/2}A^{1/2}$ of positive-definite $A$ and positive
/// semidefinite $B$.
///
/// It is the unique PSD solution of $XA^{-1}X = B$; for commuting arguments it is
/// $(AB)^{1/2}$. Symmetric in its arguments when both are definite.
///
/// # Errors
/// [`LinalgError::NotPositive`] when $A$ is not positive definite or $B$ not semidefinite.
///
/// # Panics
/// If the shapes differ or are not square.
#[track_caller]
pub fn geometric_mean<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Result<Mat<T>> {
    assert_eq!(a.shape(), b.shape(), "geometric_mean: shapes differ");
    let e = HermitianEigen::new(a)?;
    e.require_pd()?;
    let half = e.map(f64::sqrt);
    let inv_half = e.map(|l| 1.0 / l.sqrt());
    let inner = &inv_half * b * &inv_half;
    let inner = hermitian_part(inner.as_ref());
    let root = psd_sqrt(inner.as_ref())?;
    let x = &half * root * &half;
    Ok(hermitian_part(x.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{gaussian, random_pd, rng};
    use crate::rel_diff;
    use faer::c64;

    fn check<T: Scalar>() {
        let mut r = rng(7);
        for n in [1, 3, 8, 20] {
            let a: Mat<T> = random_pd(&mut r, n, 1e3);
            let b: Mat<T> = random_pd(&mut r, n, 1e2);
            let s = psd_sqrt(a.as_ref()).unwrap();
            let tol = 100.0 * n as f64 * f64::EPSILON * 1e3;
            assert!(rel_diff((&s * &s).as_ref(), a.as_ref()) < tol);
            let is = pd_inv_sqrt(a.as_ref()).unwrap();
            let id = &is * &a * &is;
            assert!(rel_diff(id.as_ref(), Mat::<T>::identity(n, n).as_ref()) < tol);
            let l = pd_log(a.as_ref()).unwrap();
            let el = hermitian_exp(l.as_ref()).unwrap();
            assert!(rel_diff(el.as_ref(), a.as_ref()) < tol);
            // Riccati characterisation of the geometric mean: X A^{-1} X = B.
            let x = geometric_mean(a.as_ref(), b.as_ref()).unwrap();
            let ainv = psd_pow(a.as_ref(), -1.0).unwrap();
            let lhs = &x * &ainv * &x;
            assert!(rel_diff(lhs.as_ref(), b.as_ref()) < 1e3 * tol);
            // Symmetry A # B = B # A.
            let y = geometric_mean(b.as_ref(), a.as_ref()).unwrap();
            assert!(rel_diff(x.as_ref(), y.as_ref()) < 1e3 * tol);
        }
        // Rank-deficient PSD: p > 0 fine, p < 0 rejected.
        let g: Mat<T> = gaussian(&mut r, 6, 2);
        let p = &g * g.adjoint();
        let s = psd_sqrt(p.as_ref()).unwrap();
        assert!(rel_diff((&s * &s).as_ref(), p.as_ref()) < 1e-12);
        assert!(matches!(
            psd_pow(p.as_ref(), -0.5),
            Err(LinalgError::NotPositive { .. })
        ));
        let neg = Mat::<T>::from_fn(2, 2, |i, j| {
            if i == j {
                T::from_f64(if i == 0 { 1.0 } else { -1.0 })
            } else {
                T::from_f64(0.0)
            }
        });
        assert!(psd_sqrt(neg.as_ref()).is_err());
    }

    #[test]
    fn hermitian_functions_real() {
        check::<f64>();
    }
    #[test]
    fn hermitian_functions_complex() {
        check::<c64>();
    }
}
