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

pub use error::{LinalgError, Result};
pub use expm::{expm, norm_1};
pub use faer::c64;
pub use hermitian::{
    HermitianEigen, geometric_mean, hermitian_exp, hermitian_part, pd_inv_sqrt, pd_log, psd_pow,
    psd_sqrt,
};
pub use polar::{Polar, polar};
pub use scalar::Scalar;

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

/// Squared Frobenius norm $\|A\|_F^2 = \operatorname{Tr}(A^*A)$.
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
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input; [`LinalgError::NoConvergence`] if the SVD fails.
pub fn singular_values<T: Scalar>(a: MatRef<'_, T>) -> Result<Vec<f64>> {
    check_finite(a)?;
    if a.nrows() == 0 || a.ncols() == 0 {
        return Ok(Vec::new());
    }
    a.singular_values().map_err(|_| LinalgError::NoConvergence {
        what: "singular value decomposition",
    })
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
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/Inf input; [`LinalgError::NoConvergence`] if the SVD fails.
pub fn thin_svd<T: Scalar>(a: MatRef<'_, T>) -> Result<ThinSvd<T>> {
    check_finite(a)?;
    let k = a.nrows().min(a.ncols());
    if k == 0 {
        return Ok(ThinSvd {
            u: Mat::zeros(a.nrows(), 0),
            s: Vec::new(),
            v: Mat::zeros(a.ncols(), 0),
        });
    }
    let svd = a.thin_svd().map_err(|_| LinalgError::NoConvergence {
        what: "singular value decomposition",
    })?;
    let s = svd.S().column_vector();
    Ok(ThinSvd {
        u: svd.U().to_owned(),
        s: (0..k).map(|i| s[i].re()).collect(),
        v: svd.V().to_owned(),
    })
}
