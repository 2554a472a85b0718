//! Seeded random matrices for tests, benchmarks and `cargo xtask verify`.
//!
//! Every generator takes an explicit `&mut R: rand::Rng`; [`rng`] builds the workspace's standard
//! seeded generator, so every experiment is reproducible from its seed. Complex Gaussians have
//! $\mathbb E|z|^2 = 1$ (real and imaginary parts $\mathcal N(0,\tfrac12)$).

use crate::{Scalar, scale_cols};
use faer::{Mat, MatRef};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// The workspace's seeded pseudo-random generator.
pub type StdRng = rand::rngs::StdRng;

/// A [`StdRng`] seeded with `seed`.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A standard Gaussian scalar ($\mathbb E|z|^2 = 1$).
pub fn gaussian_scalar<T: Scalar, R: Rng + ?Sized>(rng: &mut R) -> T {
    let x: f64 = rng.sample(StandardNormal);
    if T::IS_COMPLEX {
        let y: f64 = rng.sample(StandardNormal);
        T::from_parts(
            x * std::f64::consts::FRAC_1_SQRT_2,
            y * std::f64::consts::FRAC_1_SQRT_2,
        )
    } else {
        T::from_f64(x)
    }
}

/// An $m\times n$ matrix of i.i.d. standard Gaussian entries (real or circular complex).
pub fn gaussian<T: Scalar, R: Rng + ?Sized>(rng: &mut R, m: usize, n: usize) -> Mat<T> {
    let mut a = Mat::zeros(m, n);
    for j in 0..n {
        for i in 0..m {
            a[(i, j)] = gaussian_scalar(rng);
        }
    }
    a
}

/// An $m\times k$ matrix with orthonormal columns, Haar-distributed ($k\le m$).
///
/// # Panics
/// If `k > m`.
#[track_caller]
pub fn orthonormal_columns<T: Scalar, R: Rng + ?Sized>(rng: &mut R, m: usize, k: usize) -> Mat<T> {
    assert!(k <= m, "orthonormal_columns: k = {k} exceeds m = {m}");
    let g: Mat<T> = gaussian(rng, m, k);
    let qr = g.qr();
    let mut q = qr.compute_thin_Q();
    let r = qr.thin_R();
    // Fix the phases so that the distribution is exactly Haar.
    for j in 0..k {
        let d = r[(j, j)];
        let m_ = d.modulus();
        if m_ > 0.0 {
            let ph = d.conj() * T::from_f64(1.0 / m_);
            for i in 0..m {
                q[(i, j)] *= ph.conj();
            }
        }
    }
    q
}

/// A Haar-distributed unitary (orthogonal, over $\mathbb R$) $n\times n$ matrix.
pub fn haar_unitary<T: Scalar, R: Rng + ?Sized>(rng: &mut R, n: usize) -> Mat<T> {
    orthonormal_columns(rng, n, n)
}

/// Singular values decreasing geometrically from $1$ to $1/\kappa$.
fn geometric_spectrum(n: usize, cond: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if n == 1 {
                1.0
            } else {
                cond.powf(-(i as f64) / (n as f64 - 1.0))
            }
        })
        .collect()
}

/// $U\\,\mathrm{diag}(\sigma)\\,V^*$ with Haar $U, V$ and singular values from $1$ down to $1/\kappa$:
/// an element of $GL_n$ with 2-norm condition number exactly `cond`.
///
/// # Panics
/// If `cond < 1`.
#[track_caller]
pub fn gl_with_condition<T: Scalar, R: Rng + ?Sized>(rng: &mut R, n: usize, cond: f64) -> Mat<T> {
    assert!(
        cond >= 1.0,
        "gl_with_condition: condition number must be >= 1"
    );
    let u: Mat<T> = haar_unitary(rng, n);
    let v: Mat<T> = haar_unitary(rng, n);
    scale_cols(u.as_ref(), &geometric_spectrum(n, cond)) * v.adjoint()
}

/// A Hermitian positive-definite matrix $U\\,\mathrm{diag}(\lambda)\\,U^*$ with eigenvalues from
/// $1$ down to $1/\kappa$.
///
/// # Panics
/// If `cond < 1`.
#[track_caller]
pub fn random_pd<T: Scalar, R: Rng + ?Sized>(rng: &mut R, n: usize, cond: f64) -> Mat<T> {
    assert!(cond >= 1.0, "random_pd: condition number must be >= 1");
    let u: Mat<T> = haar_unitary(rng, n);
    let p = scale_cols(u.as_ref(), &geometric_spectrum(n, cond)) * u.adjoint();
    crate::hermitian_part(p.as_ref())
}

/// A random $m\times n$ matrix of rank exactly $r$ (product of Gaussian $m\times r$ and $r\times n$).
///
/// # Panics
/// If `r > min(m, n)`.
#[track_caller]
pub fn low_rank<T: Scalar, R: Rng + ?Sized>(rng: &mut R, m: usize, n: usize, r: usize) -> Mat<T> {
    assert!(r <= m.min(n), "low_rank: rank {r} exceeds min({m}, {n})");
    let a: Mat<T> = gaussian(rng, m, r);
    let b: Mat<T> = gaussian(rng, r, n);
    a * b
}

/// Multiplies `a` entrywise by a real scalar.
pub fn scaled<T: Scalar>(a: MatRef<'_, T>, s: f64) -> Mat<T> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)].scale(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rel_diff;
    use faer::c64;

    fn check<T: Scalar>() {
        let mut r = rng(1);
        let q: Mat<T> = haar_unitary(&mut r, 6);
        assert!(
            rel_diff(
                (q.adjoint() * &q).as_ref(),
                Mat::<T>::identity(6, 6).as_ref()
            ) < 1e-14
        );
        let g: Mat<T> = gl_with_condition(&mut r, 5, 100.0);
        let s = g.singular_values().unwrap();
        assert!((s[0] / s[4] - 100.0).abs() < 1e-9);
        let l: Mat<T> = low_rank(&mut r, 6, 5, 2);
        let s = l.singular_values().unwrap();
        assert!(s[2] < 1e-12 * s[0] && s[1] > 1e-6 * s[0]);
        // Reproducible from the seed.
        let a: Mat<T> = gaussian(&mut rng(5), 3, 3);
        let b: Mat<T> = gaussian(&mut rng(5), 3, 3);
        assert!(rel_diff(a.as_ref(), b.as_ref()) < f64::MIN_POSITIVE.sqrt());
    }
    #[test]
    fn random_real() {
        check::<f64>();
    }
    #[test]
    fn random_complex() {
        check::<c64>();
    }
}
