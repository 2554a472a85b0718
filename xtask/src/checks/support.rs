//! Helpers shared by the checks: random instances, tuple arithmetic, finite differences, real
//! coordinates of linear maps, tolerances.
//!
//! Tuples of matrices (`Vec<Mat<T>>`) follow the library's layout: entry `k-1` is layer $W_k$ or
//! junction element $a_k$.

// Helpers are offered to every check file; not all are used by each.
#![allow(dead_code)]

use crate::verify::CheckError;
use dln_algebra::Network;
use dln_linalg::random::{gaussian, gl_with_condition, haar_unitary, orthonormal_columns};
use dln_linalg::{HermitianEigen, Scalar, re_inner, singular_values};
use faer::{Mat, MatRef};
use rand::Rng;

/// Unit roundoff.
pub const EPS: f64 = f64::EPSILON;

/// $k\cdot n\cdot\varepsilon\cdot\text{cond}$.
pub fn tol(k: f64, n: usize, cond: f64) -> f64 {
    k * n as f64 * EPS * cond
}

/// Tolerance of a Richardson-extrapolated central difference ([`fd_tuple`], [`fd_scalar`]) of a
/// function whose derivatives of order $m$ are bounded by $L^m\cdot$`scale`: truncation
/// $h^4L^5/480$ plus rounding $3\,n\,\varepsilon/h$ (relative to `scale`), times a safety factor 10.
pub fn fd_tol(h: f64, lipschitz: f64, n: usize) -> f64 {
    10.0 * (h.powi(4) * lipschitz.powi(5) / 480.0 + 3.0 * n as f64 * EPS / h)
}

/// `"R"` or `"C"`.
pub fn field<T: Scalar>() -> &'static str {
    if T::IS_COMPLEX { "C" } else { "R" }
}

/// Instance label: field, depth and widths, plus a note.
pub fn label<T: Scalar>(widths: &[usize], note: &str) -> String {
    let w: Vec<String> = widths.iter().map(usize::to_string).collect();
    format!(
        "{} N={} d=[{}] {note}",
        field::<T>(),
        widths.len() - 1,
        w.join(",")
    )
}

/// $d_0=\dots=d_N=d$.
pub fn square(depth: usize, d: usize) -> Vec<usize> {
    vec![d; depth + 1]
}

/// A network with i.i.d. Gaussian layers of the given widths.
pub fn gaussian_network<T: Scalar, R: Rng + ?Sized>(rng: &mut R, widths: &[usize]) -> Network<T> {
    let layers = (1..widths.len())
        .map(|k| gaussian(rng, widths[k], widths[k - 1]))
        .collect();
    Network::new(layers).expect("valid widths")
}

/// A square network whose layers have 2-norm condition number `cond` (and norm 1).
pub fn conditioned_network<T: Scalar, R: Rng + ?Sized>(
    rng: &mut R,
    depth: usize,
    d: usize,
    cond: f64,
) -> Network<T> {
    let layers = (0..depth)
        .map(|_| gl_with_condition(rng, d, cond))
        .collect();
    Network::new(layers).expect("valid widths")
}

/// Group element $(A_1,\dots,A_{N-1})$ with $A_k\in GL(d_k)$ of condition number `cond`, scaled by
/// a random factor in $[e^{-0.7}, e^{0.7}]$ (so that it is not unitary even when $d_k = 1$).
pub fn random_group<T: Scalar, R: Rng + ?Sized>(
    rng: &mut R,
    widths: &[usize],
    cond: f64,
) -> Vec<Mat<T>> {
    (1..widths.len() - 1)
        .map(|k| {
            let s = rng.random_range(-0.7..0.7f64).exp();
            faer::Scale(T::from_f64(s)) * gl_with_condition::<T, R>(rng, widths[k], cond)
        })
        .collect()
}

/// Unitary group element $(U_1,\dots,U_{N-1})$, Haar.
pub fn random_unitary<T: Scalar, R: Rng + ?Sized>(rng: &mut R, widths: &[usize]) -> Vec<Mat<T>> {
    (1..widths.len() - 1)
        .map(|k| haar_unitary(rng, widths[k]))
        .collect()
}

/// Hidden frames $Q_k\in\mathbb F^{d_k\times r}$ with orthonormal columns, $1\le k\le N-1$.
pub fn random_frames<T: Scalar, R: Rng + ?Sized>(
    rng: &mut R,
    widths: &[usize],
    r: usize,
) -> Vec<Mat<T>> {
    (1..widths.len() - 1)
        .map(|k| orthonormal_columns(rng, widths[k], r))
        .collect()
}

/// Lie-algebra element $(a_1,\dots,a_{N-1})$, Gaussian, scaled to total Frobenius norm 1.
pub fn random_algebra<T: Scalar, R: Rng + ?Sized>(rng: &mut R, widths: &[usize]) -> Vec<Mat<T>> {
    let a: Vec<Mat<T>> = (1..widths.len() - 1)
        .map(|k| gaussian(rng, widths[k], widths[k]))
        .collect();
    let n = tnorm(&a);
    tscale(&a, 1.0 / n)
}

/// A tuple of Gaussian matrices with the shapes of the layers of `net`.
pub fn random_like<T: Scalar, R: Rng + ?Sized>(rng: &mut R, net: &Network<T>) -> Vec<Mat<T>> {
    net.layers()
        .iter()
        .map(|w| gaussian(rng, w.nrows(), w.ncols()))
        .collect()
}

/// $\|\mathbf A\| = (\sum_k\|A_k\|_F^2)^{1/2}$.
pub fn tnorm<T: Scalar>(a: &[Mat<T>]) -> f64 {
    a.iter().map(|m| m.norm_l2().powi(2)).sum::<f64>().sqrt()
}

/// $\sum_k\operatorname{Re}\operatorname{Tr}(A_k^*B_k)$.
pub fn tinner<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| re_inner(x.as_ref(), y.as_ref()))
        .sum()
}

/// $\mathbf A - \mathbf B$.
pub fn tsub<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>]) -> Vec<Mat<T>> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// $\mathbf A + \mathbf B$.
pub fn tadd<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>]) -> Vec<Mat<T>> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// $s\mathbf A$.
pub fn tscale<T: Scalar>(a: &[Mat<T>], s: f64) -> Vec<Mat<T>> {
    a.iter().map(|x| faer::Scale(T::from_f64(s)) * x).collect()
}

/// $\|\mathbf A-\mathbf B\|$.
pub fn tdist<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>]) -> f64 {
    tnorm(&tsub(a, b))
}

/// The network with layers $W_k + sV_k$.
pub fn shifted<T: Scalar>(net: &Network<T>, v: &[Mat<T>], s: f64) -> Network<T> {
    Network::new(tadd(net.layers(), &tscale(v, s))).expect("same shapes")
}

/// Componentwise adjoint.
pub fn tadjoint<T: Scalar>(a: &[Mat<T>]) -> Vec<Mat<T>> {
    a.iter().map(|x| x.adjoint().to_owned()).collect()
}

/// Richardson-extrapolated central difference of a tuple-valued function at 0:
/// $R = (4D(h/2) - D(h))/3$ with $D(h) = (f(h)-f(-h))/2h$; error $O(h^4)$.
///
/// # Errors
/// Whatever `f` returns.
pub fn fd_tuple<T: Scalar>(
    mut f: impl FnMut(f64) -> Result<Vec<Mat<T>>, CheckError>,
    h: f64,
) -> Result<Vec<Mat<T>>, CheckError> {
    let mut d =
        |h: f64| -> Result<Vec<Mat<T>>, CheckError> { Ok(tscale(&tsub(&f(h)?, &f(-h)?), 0.5 / h)) };
    let d1 = d(h)?;
    let d2 = d(0.5 * h)?;
    Ok(tsub(&tscale(&d2, 4.0 / 3.0), &tscale(&d1, 1.0 / 3.0)))
}

/// Richardson-extrapolated central difference of a scalar function at 0 (see [`fd_tuple`]).
///
/// # Errors
/// Whatever `f` returns.
pub fn fd_scalar(
    mut f: impl FnMut(f64) -> Result<f64, CheckError>,
    h: f64,
) -> Result<f64, CheckError> {
    let mut d = |h: f64| -> Result<f64, CheckError> { Ok((f(h)? - f(-h)?) / (2.0 * h)) };
    let d1 = d(h)?;
    let d2 = d(0.5 * h)?;
    Ok((4.0 * d2 - d1) / 3.0)
}

/// Exact directional derivative of a **quadratic** tuple-valued map $q$ at $\mathbf W$ along $\mathbf V$:
/// $(q(\mathbf W+\mathbf V) - q(\mathbf W-\mathbf V))/2$ (the central difference is exact for
/// polynomials of degree 2; only rounding remains).
pub fn quadratic_derivative<T: Scalar>(
    net: &Network<T>,
    v: &[Mat<T>],
    q: impl Fn(&Network<T>) -> Vec<Mat<T>>,
) -> Vec<Mat<T>> {
    tscale(
        &tsub(&q(&shifted(net, v, 1.0)), &q(&shifted(net, v, -1.0))),
        0.5,
    )
}

/// Singular values (non-increasing).
///
/// # Errors
/// SVD failure.
pub fn svals<T: Scalar>(a: MatRef<'_, T>) -> Result<Vec<f64>, CheckError> {
    Ok(singular_values(a)?)
}

/// 2-norm condition number $\sigma_1/\sigma_n$ (infinite when singular).
///
/// # Errors
/// SVD failure.
pub fn cond<T: Scalar>(a: MatRef<'_, T>) -> Result<f64, CheckError> {
    let s = svals(a)?;
    Ok(s[0] / s[s.len() - 1])
}

/// Number of singular values above $10\max(m,n)\varepsilon\sigma_1$.
pub fn rank_of(s: &[f64], m: usize, n: usize) -> usize {
    let t = 10.0 * m.max(n) as f64 * EPS * s.first().copied().unwrap_or(0.0);
    s.iter().filter(|&&x| x > t).count()
}

/// $N\sum_{i\le r}\sigma_i^{2/N}$ computed here, independently of the library.
pub fn l2_bound(s: &[f64], depth: usize, r: usize) -> f64 {
    depth as f64
        * s[..r]
            .iter()
            .map(|x| x.powf(2.0 / depth as f64))
            .sum::<f64>()
}

/// An orthonormal real basis of $\prod_k\mathbb F^{m_k\times n_k}$ for the pairing
/// $\operatorname{Re}\operatorname{Tr}$: the $E_{ij}$ (and $iE_{ij}$ over $\mathbb C$) in each slot.
pub fn real_basis<T: Scalar>(shapes: &[(usize, usize)]) -> Vec<Vec<Mat<T>>> {
    let mut out = Vec::new();
    for (slot, &(m, n)) in shapes.iter().enumerate() {
        for j in 0..n {
            for i in 0..m {
                let phases: &[(f64, f64)] = if T::IS_COMPLEX {
                    &[(1.0, 0.0), (0.0, 1.0)]
                } else {
                    &[(1.0, 0.0)]
                };
                for &(re, im) in phases {
                    let mut t: Vec<Mat<T>> =
                        shapes.iter().map(|&(a, b)| Mat::zeros(a, b)).collect();
                    t[slot][(i, j)] = T::from_parts(re, im);
                    out.push(t);
                }
            }
        }
    }
    out
}

/// Real coordinates of a tuple in [`real_basis`] (real and imaginary parts of the entries).
pub fn real_coords<T: Scalar>(a: &[Mat<T>]) -> Vec<f64> {
    let mut v = Vec::new();
    for m in a {
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                v.push(m[(i, j)].re());
                if T::IS_COMPLEX {
                    v.push(m[(i, j)].im());
                }
            }
        }
    }
    v
}

/// The real matrix of a real-linear map $L$ from the span of `basis`: column $j$ is the
/// coordinate vector of $L(\text{basis}_j)$.
pub fn real_matrix<T: Scalar>(
    basis: &[Vec<Mat<T>>],
    map: impl Fn(&[Mat<T>]) -> Vec<Mat<T>>,
) -> Mat<f64> {
    let cols: Vec<Vec<f64>> = basis.iter().map(|b| real_coords(&map(b))).collect();
    let m = cols.first().map_or(0, Vec::len);
    Mat::from_fn(m, cols.len(), |i, j| cols[j][i])
}

/// Eigenvalues (ascending) of a real symmetric matrix; only the lower triangle is read.
///
/// # Errors
/// Eigensolver failure.
pub fn sym_eigenvalues(a: &Mat<f64>) -> Result<Vec<f64>, CheckError> {
    Ok(HermitianEigen::new(a.as_ref())?.values)
}

/// Square shapes $d_k\times d_k$, $1\le k\le N-1$, of the junctions.
pub fn junction_shapes(widths: &[usize]) -> Vec<(usize, usize)> {
    widths[1..widths.len() - 1]
        .iter()
        .map(|&d| (d, d))
        .collect()
}

/// Shapes of the layers $d_k\times d_{k-1}$.
pub fn layer_shapes(widths: &[usize]) -> Vec<(usize, usize)> {
    (1..widths.len())
        .map(|k| (widths[k], widths[k - 1]))
        .collect()
}

/// $e^{\tau\mathbf a}\cdot\mathbf W$ with the library's `expm` and `act`.
///
/// # Errors
/// `expm` or `act` failures.
pub fn act_exp<T: Scalar>(
    net: &Network<T>,
    a: &[Mat<T>],
    tau: f64,
) -> Result<Network<T>, CheckError> {
    let e: Vec<Mat<T>> = a
        .iter()
        .map(|x| dln_linalg::expm((faer::Scale(T::from_f64(tau)) * x).as_ref()))
        .collect::<Result<_, _>>()?;
    Ok(net.act(&e)?)
}

/// The Euclidean norm of the largest layer, $\max_k\|W_k\|_F$.
pub fn max_layer_norm<T: Scalar>(net: &Network<T>) -> f64 {
    net.layers().iter().map(|w| w.norm_l2()).fold(0.0, f64::max)
}

/// The product conditioning $\prod_k\|W_k\|_F/\|X\|_F$ (how much rounding in the layers is
/// amplified in the product).
pub fn product_conditioning<T: Scalar>(net: &Network<T>) -> f64 {
    let p: f64 = net.layers().iter().map(|w| w.norm_l2()).product();
    p / net.product().norm_l2().max(f64::MIN_POSITIVE)
}
