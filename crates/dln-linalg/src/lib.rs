//! Shared dense linear algebra for the `dln` workspace, on [faer].
//!
//! Everything here is generic over the field [`Scalar`] (`f64` or [`faer::c64`]): the paper's
//! $A^*$ is the conjugate transpose, and all inner products are
//! $$\langle A,B\rangle = \operatorname{Re}\operatorname{Tr}(A^*B).$$
//!
//! What faer 0.24 does not provide and the DLN needs:
//! - functions of Hermitian matrices ([`hermitian`]): $A^p$ for PSD $A$ (rank-deficient allowed
//!   for $p>0$), $A^{1/2}$, $A^{-1/2}$, $e^{A}$, $\log A$, the geometric mean $A\\#B$;
//! - the general matrix exponential ([`expm()`]) for Lie-algebra elements;
//! - the polar decomposition ([`polar()`]);
//! - seeded random matrices ([`random`]): Gaussian, Haar unitary, $GL_n$ with a prescribed
//!   condition number, positive definite, low rank;
//! - numbers and matrices in scaled form $m\cdot2^{e}$ ([`scaled`]), so that norms, products and
//!   SVDs of inputs at any scale are computed without over- or underflow;
//! - small helpers on matrix views: [`re_inner`], [`frob_sq`], [`rel_diff`], [`check_finite`].
//!
//! # Views
//! Functions take `MatRef<'_, T>` and return an owned `Mat<T>` when they allocate. Pass
//! `m.as_ref()` for an owned `Mat`, and reborrow views with `rb()` as faer documents.
//!
//! # Example
//! ```
//! use dln_linalg::{random, geometric_mean, rel_diff};
//! use faer::Mat;
//! let mut rng = random::rng(0);
//! let a: Mat<f64> = random::random_pd(&mut rng, 4, 10.0);
//! let b: Mat<f64> = random::random_pd(&mut rng, 4, 10.0);
//! let m = geometric_mean(a.as_ref(), b.as_ref()).unwrap();
//! // A # B solves X A^{-1} X = B.
//! let ainv = dln_linalg::psd_pow(a.as_ref(), -1.0).unwrap();
//! assert!(rel_diff((&m * &ainv * &m).as_ref(), b.as_ref()) < 1e-12);
//! ```

// Library crates never print (ARCHITECTURE.md; checked by `cargo xtask tidy`).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod error;
pub mod expm;
pub mod hermitian;
pub mod polar;
#[cfg(feature = "proptest-support")]
pub mod proptest;
pub mod random;
mod scalar;
pub mod scaled;

pub use error::{LinalgError, Result};
pub use expm::{expm, norm_1};
pub use faer::c64;
pub use hermitian::{
    HermitianEigen, geometric_mean, hermitian_exp, hermitian_part, pd_inv_sqrt, pd_log, psd_pow,
    psd_sqrt,
};
pub use polar::{Polar, polar};
pub use scalar::Scalar;
pub use scaled::{
    ScaledReal, frexp, frob_norm_scaled, ldexp, normalize_pow2, pow2_exponent, scale_pow2,
};

use faer::{Mat, MatRef};

/// $\langle A,B\rangle = \operatorname{Re}\operatorname{Tr}(A^*B) = \sum_{ij}\operatorname{Re}(\bar a_{ij}b_{ij})$.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn re_inner<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "re_inner: shapes differ");
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let (x, y) = (a[(i, j)], b[(i, j)]);
            s += x.re() * y.re() + x.im() * y.im();
        }
    }
    s
}

/// Squared Frobenius norm $\|A\|_F^2 = \operatorname{Tr}(A^*A)$, rounded to `f64` ($+\infty$ above
/// `f64::MAX`, $0$ below the subnormal range; [`frob_norm_scaled`] is exact at every scale).
pub fn frob_sq<T: Scalar>(a: MatRef<'_, T>) -> f64 {
    let n = a.norm_l2();
    n * n
}

/// Relative Frobenius distance $\|A-B\|_F / \max(\|B\|_F, \text{tiny})$.
///
/// # Panics
/// If the shapes differ.
#[track_caller]
pub fn rel_diff<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "rel_diff: shapes differ");
    let d = (a - b).norm_l2();
    d / b.norm_l2().max(f64::MIN_POSITIVE)
}

/// Returns the first non-finite entry (column-major order) as an error.
///
/// # Errors
/// [`LinalgError::NonFinite`] with its position.
pub fn check_finite<T: Scalar>(a: MatRef<'_, T>) -> Result<()> {
    for j in 0..a.ncols() {
        // A branch-free pass over a contiguous column first (it vectorises); the position
        // only when the column has a non-finite entry.
        if let Some(col) = a.col(j).try_as_col_major() {
            let any = col
                .as_slice()
                .iter()
                .fold(false, |acc, x| acc | !x.finite());
            if !any {
                continue;
            }
        }
        for i in 0..a.nrows() {
            if !a[(i, j)].finite() {
                return Err(LinalgError::NonFinite { row: i, col: j });
            }
        }
    }
    Ok(())
}

/// $A\\,\mathrm{diag}(d)$: scales column $j$ by the real number $d_j$.
///
/// # Panics
/// If `d.len() != a.ncols()`.
#[track_caller]
pub fn scale_cols<T: Scalar>(a: MatRef<'_, T>, d: &[f64]) -> Mat<T> {
    assert_eq!(d.len(), a.ncols(), "scale_cols: length mismatch");
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)].scale(d[j]))
}

/// $\mathrm{diag}(d)\\,A$: scales row $i$ by the real number $d_i$.
///
/// # Panics
/// If `d.len() != a.nrows()`.
#[track_caller]
pub fn scale_rows<T: Scalar>(a: MatRef<'_, T>, d: &[f64]) -> Mat<T> {
    assert_eq!(d.len(), a.nrows(), "scale_rows: length mismatch");
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)].scale(d[i]))
}

/// Singular values of $A$, in non-increasing order.
///
/// $A$ is scaled by a power of two before the SVD (exact, and the SVD commutes with it), so
/// entries of any finite magnitude are handled; see [`singular_values_scaled`] when the singular
/// values themselves may not fit in `f64`.
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input; [`LinalgError::NoConvergence`] if the SVD fails;
/// [`LinalgError::NotRepresentable`] if $\sigma_1$ overflows `f64` (possible only for entries
/// near `f64::MAX`). Singular values below `f64::MIN_POSITIVE` are rounded to subnormals or 0.
pub fn singular_values<T: Scalar>(a: MatRef<'_, T>) -> Result<Vec<f64>> {
    let (s, e) = singular_values_scaled(a)?;
    let out: Vec<f64> = s.iter().map(|&x| ldexp(x, e)).collect();
    if out.first().is_some_and(|x| !x.is_finite()) {
        return Err(LinalgError::NotRepresentable {
            what: "the largest singular value",
            magnitude: ScaledReal::new(s[0], e),
        });
    }
    Ok(out)
}

/// Singular values in scaled form: $(\hat\sigma, e)$ with $\sigma_i(A) = 2^{e}\hat\sigma_i$ and
/// $\hat\sigma_1\in[\tfrac12,\sqrt{mn})$ (or all zero).
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input; [`LinalgError::NoConvergence`] if the SVD fails.
pub fn singular_values_scaled<T: Scalar>(a: MatRef<'_, T>) -> Result<(Vec<f64>, i64)> {
    check_finite(a)?;
    if a.nrows() == 0 || a.ncols() == 0 {
        return Ok((Vec::new(), 0));
    }
    let (ahat, e) = normalize_pow2(a);
    let s = ahat
        .singular_values()
        .map_err(|_| LinalgError::NoConvergence {
            what: "singular value decomposition",
        })?;
    Ok((s, e))
}

/// Thin SVD $A = U\\,\mathrm{diag}(\sigma)\\,V^*$, singular values non-increasing.
#[derive(Debug, Clone)]
pub struct ThinSvd<T: Scalar> {
    /// $m\times k$ left singular vectors, $k=\min(m,n)$.
    pub u: Mat<T>,
    /// Singular values $\sigma_1\ge\dots\ge\sigma_k\ge0$.
    pub s: Vec<f64>,
    /// $n\times k$ right singular vectors.
    pub v: Mat<T>,
}

/// Thin SVD of an $m\times n$ matrix.
///
/// Computed as the SVD of $2^{-e}A$ (largest entry in $[\tfrac12,1)$) with the singular values
/// scaled back; see [`thin_svd_scaled`] when they may not fit in `f64`.
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input; [`LinalgError::NoConvergence`] if the SVD fails;
/// [`LinalgError::NotRepresentable`] if $\sigma_1$ overflows `f64`.
pub fn thin_svd<T: Scalar>(a: MatRef<'_, T>) -> Result<ThinSvd<T>> {
    let (mut svd, e) = thin_svd_scaled(a)?;
    if let Some(&s0) = svd.s.first() {
        if !ldexp(s0, e).is_finite() {
            return Err(LinalgError::NotRepresentable {
                what: "the largest singular value",
                magnitude: ScaledReal::new(s0, e),
            });
        }
    }
    for x in &mut svd.s {
        *x = ldexp(*x, e);
    }
    Ok(svd)
}

/// Thin SVD in scaled form: $(\hat U\hat\Sigma\hat V^*, e)$ with $A = 2^{e}\,U\hat\Sigma V^*$, i.e.
/// the singular vectors of $A$ and $\sigma_i(A) = 2^{e}\hat\sigma_i$, $\hat\sigma_1\in[\tfrac12,\sqrt{mn})$.
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input; [`LinalgError::NoConvergence`] if the SVD fails.
pub fn thin_svd_scaled<T: Scalar>(a: MatRef<'_, T>) -> Result<(ThinSvd<T>, i64)> {
    check_finite(a)?;
    let k = a.nrows().min(a.ncols());
    if k == 0 {
        return Ok((
            ThinSvd {
                u: Mat::zeros(a.nrows(), 0),
                s: Vec::new(),
                v: Mat::zeros(a.ncols(), 0),
            },
            0,
        ));
    }
    let (ahat, e) = normalize_pow2(a);
    let svd = ahat.thin_svd().map_err(|_| LinalgError::NoConvergence {
        what: "singular value decomposition",
    })?;
    let s = svd.S().column_vector();
    Ok((
        ThinSvd {
            u: svd.U().to_owned(),
            s: (0..k).map(|i| s[i].re()).collect(),
            v: svd.V().to_owned(),
        },
        e,
    ))
}

#[cfg(test)]
mod scale_tests {
    //! faer's SVD at extreme scales, and ours (which scales by a power of two first).
    use super::*;
    use crate::random::{gaussian, rng};

    fn svd_at_scales<T: Scalar>() {
        let mut r = rng(1);
        let a: Mat<T> = gaussian(&mut r, 6, 4);
        let base = singular_values(a.as_ref()).unwrap();
        let mut faer_failed = 0;
        for k in [-1000i64, -700, -500, -120, 0, 100, 300, 900, 1000, 1020] {
            let b = scale_pow2(a.as_ref(), k);
            // Record (do not assert) faer's own behaviour: it fails or is wrong at the extremes.
            let raw = b.singular_values();
            if raw.map_or(true, |s| ((s[0] / ldexp(base[0], k)) - 1.0).abs() > 1e-10) {
                faer_failed += 1;
            }
            let (s, e) = singular_values_scaled(b.as_ref()).unwrap();
            for (x, y) in s.iter().zip(&base) {
                assert!((ldexp(*x, e) / ldexp(*y, k) - 1.0).abs() < 1e-13 || k > 1000);
                assert!((ScaledReal::new(*x, e).ratio(ScaledReal::new(*y, k)) - 1.0).abs() < 1e-13);
            }
            let svd = thin_svd_scaled(b.as_ref()).unwrap().0;
            let us = scale_cols(svd.u.as_ref(), &svd.s) * svd.v.adjoint();
            let bhat = scale_pow2(b.as_ref(), -pow2_exponent(b.as_ref()).unwrap());
            assert!(rel_diff(us.as_ref(), bhat.as_ref()) < 1e-13);
            let p = polar(b.as_ref());
            if k < 1000 {
                let p = p.unwrap();
                let up = &p.unitary * &p.positive;
                assert!(rel_diff(scale_pow2(up.as_ref(), -k).as_ref(), a.as_ref()) < 1e-13);
            }
        }
        assert!(
            faer_failed >= 2,
            "faer's SVD now handles extreme scales: revisit scaled.rs docs"
        );
    }
    #[test]
    fn svd_at_extreme_scales_real() {
        svd_at_scales::<f64>();
    }
    #[test]
    fn svd_at_extreme_scales_complex() {
        svd_at_scales::<c64>();
    }
    #[test]
    fn singular_values_overflow_is_reported() {
        let a = Mat::<f64>::from_fn(3, 3, |_, _| 1.5e308);
        assert!(matches!(
            singular_values(a.as_ref()),
            Err(LinalgError::NotRepresentable { .. })
        ));
        let (s, e) = singular_values_scaled(a.as_ref()).unwrap();
        // sigma_1 = 3 * 1.5e308.
        assert!(
            (ScaledReal::new(s[0], e).ratio(ScaledReal::from_f64(1.5e308)) - 3.0).abs() < 1e-13
        );
    }
}
