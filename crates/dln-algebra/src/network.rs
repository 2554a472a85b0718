//! The deep linear network $\mathbf W = (W_N,\dots,W_1)$ and its end-to-end matrix
//! $$X = \varphi(\mathbf W) = W_NW_{N-1}\cdots W_1,\qquad W_k\in\mathbb F^{d_k\times d_{k-1}}.$$
//!
//! The paper treats square $d\times d$ layers only; here the widths $d_0,\dots,d_N$ are arbitrary.
//! $W_1$ is the input layer. Layers are addressed with the paper's 1-based index $k$.

use crate::{AlgebraError, Result};
use dln_linalg::{
    LinalgError, Scalar, ScaledReal, frob_norm_scaled, frob_sq, ldexp, normalize_pow2, re_inner,
};
use faer::{Mat, MatMut, MatRef};

/// A deep linear network of depth $N\ge1$ with arbitrary widths $d_0,\dots,d_N$, real or complex.
///
/// The invariant — consecutive layers compose and every entry is finite — is checked once by
/// [`Network::new`]; the constructors that build networks from other networks keep it.
#[derive(Debug, Clone, PartialEq)]
pub struct Network<T: Scalar> {
    layers: Vec<Mat<T>>,
}

impl<T: Scalar> Network<T> {
    /// Builds $\mathbf W$ from its layers, **input layer first**: `layers[0]` is $W_1$
    /// ($d_1\times d_0$), `layers[N-1]` is $W_N$ ($d_N\times d_{N-1}$).
    ///
    /// # Errors
    /// [`AlgebraError::Empty`] for no layers, [`AlgebraError::ShapeMismatch`] when
    /// $W_{k+1}$ does not have as many columns as $W_k$ has rows, [`AlgebraError::NonFinite`]
    /// for NaN/Inf entries.
    pub fn new(layers: Vec<Mat<T>>) -> Result<Self> {
        if layers.is_empty() {
            return Err(AlgebraError::Empty);
        }
        for k in 1..layers.len() {
            if layers[k].ncols() != layers[k - 1].nrows() {
                return Err(AlgebraError::ShapeMismatch {
                    lower: k,
                    upper: k + 1,
                    rows: layers[k - 1].nrows(),
                    cols: layers[k].ncols(),
                });
            }
        }
        for (k, w) in layers.iter().enumerate() {
            if let Err(dln_linalg::LinalgError::NonFinite { row, col }) =
                dln_linalg::check_finite(w.as_ref())
            {
                return Err(AlgebraError::NonFinite {
                    layer: k + 1,
                    row,
                    col,
                });
            }
        }
        Ok(Self { layers })
    }

    /// Builds a network whose invariant the caller guarantees (used internally after
    /// shape-preserving operations).
    pub(crate) fn from_layers_unchecked(layers: Vec<Mat<T>>) -> Self {
        debug_assert!(!layers.is_empty());
        Self { layers }
    }

    /// Depth $N$.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Widths $d_0, d_1,\dots,d_N$ (length $N+1$).
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.layers[0].ncols()];
        w.extend(self.layers.iter().map(|l| l.nrows()));
        w
    }

    /// Width $d_k$, $0\le k\le N$.
    ///
    /// # Panics
    /// If $k>N$.
    #[track_caller]
    pub fn width(&self, k: usize) -> usize {
        if k == 0 {
            self.layers[0].ncols()
        } else {
            self.layers[k - 1].nrows()
        }
    }

    /// Layer $W_k$, $1\le k\le N$.
    ///
    /// # Panics
    /// If $k=0$ or $k>N$.
    #[track_caller]
    pub fn w(&self, k: usize) -> MatRef<'_, T> {
        assert!(
            k >= 1 && k <= self.depth(),
            "layer index {k} out of 1..={}",
            self.depth()
        );
        self.layers[k - 1].as_ref()
    }

    /// Mutable view of $W_k$ (its shape is fixed, so the network stays valid as long as the
    /// entries stay finite).
    ///
    /// # Panics
    /// If $k=0$ or $k>N$.
    #[track_caller]
    pub fn w_mut(&mut self, k: usize) -> MatMut<'_, T> {
        assert!(
            k >= 1 && k <= self.depth(),
            "layer index {k} out of 1..={}",
            self.depth()
        );
        self.layers[k - 1].as_mut()
    }

    /// All layers, input layer first.
    pub fn layers(&self) -> &[Mat<T>] {
        &self.layers
    }

    /// Consumes the network and returns its layers, input layer first.
    pub fn into_layers(self) -> Vec<Mat<T>> {
        self.layers
    }

    /// End-to-end matrix $X = W_N\cdots W_1$ ($d_N\times d_0$), in plain `f64` arithmetic: entries
    /// overflow to $\pm\infty$ (or underflow to $0$) when the layers are far from unit scale. Use
    /// [`Network::product_scaled`] or [`Network::try_product`] for inputs of any scale.
    pub fn product(&self) -> Mat<T> {
        let mut x = self.layers[0].clone();
        for l in &self.layers[1..] {
            x = l * &x;
        }
        x
    }

    /// End-to-end matrix in scaled form: $(\hat X, e)$ with $X = 2^{e}\hat X$ exactly up to rounding,
    /// largest entry of $\hat X$ in $[\tfrac12,1)$ (or $\hat X = 0$, $e=0$).
    ///
    /// Each layer is written $W_k = 2^{e_k}\hat W_k$ (exact) and the product is renormalized by a
    /// power of two after every multiplication, so $X$ is obtained with `f64` relative accuracy for
    /// layers of any finite scale, even when $X$ itself is not representable.
    pub fn product_scaled(&self) -> (Mat<T>, i64) {
        let (mut x, mut e) = normalize_pow2(self.layers[0].as_ref());
        for l in &self.layers[1..] {
            let (lh, el) = normalize_pow2(l.as_ref());
            let (xn, en) = normalize_pow2((&lh * &x).as_ref());
            x = xn;
            e += el + en;
        }
        if x.norm_l2() == 0.0 {
            e = 0;
        }
        (x, e)
    }

    /// End-to-end matrix $X$ when it is representable.
    ///
    /// # Errors
    /// [`LinalgError::NotRepresentable`] ("the end-to-end matrix overflows f64") when an entry of
    /// $X$ exceeds `f64::MAX`, or when $X\ne0$ but its largest entry is below `f64::MIN_POSITIVE`.
    pub fn try_product(&self) -> Result<Mat<T>> {
        let (x, e) = self.product_scaled();
        let mag = frob_norm_scaled(x.as_ref()).mul(ScaledReal::new(1.0, e - 1));
        let out = dln_linalg::scale_pow2(x.as_ref(), e);
        let big = ldexp(1.0, e - 1); // the largest entry of X is in [big, 2 big)
        if x.norm_l2() > 0.0 && !(big.is_finite() && big >= f64::MIN_POSITIVE) {
            return Err(AlgebraError::Linalg(LinalgError::NotRepresentable {
                what: "the end-to-end matrix X",
                magnitude: mag,
            }));
        }
        Ok(out)
    }

    /// Partial product $X_k = W_k\cdots W_1$ ($d_k\times d_0$); $X_0 = I$.
    ///
    /// # Panics
    /// If $k>N$.
    #[track_caller]
    pub fn partial_product(&self, k: usize) -> Mat<T> {
        assert!(k <= self.depth(), "partial product index out of range");
        let mut x = Mat::<T>::identity(self.width(0), self.width(0));
        for l in &self.layers[..k] {
            x = l * &x;
        }
        x
    }

    /// All partial products $X_1,\dots,X_N$ (one matrix product each).
    pub fn partial_products(&self) -> Vec<Mat<T>> {
        let mut out: Vec<Mat<T>> = Vec::with_capacity(self.depth());
        out.push(self.layers[0].clone());
        for l in &self.layers[1..] {
            let next = l * out.last().expect("non-empty");
            out.push(next);
        }
        out
    }

    /// The L² regularizer $\|\mathbf W\|_2^2 = \sum_k\operatorname{Tr}(W_k^*W_k)$ (joint Frobenius norm
    /// squared), rounded to `f64`: $+\infty$ when it exceeds `f64::MAX` (weights above about
    /// $10^{154}$), $0$ or subnormal below `f64::MIN_POSITIVE`. [`Network::l2_norm_scaled`] is exact
    /// at every scale.
    pub fn l2_norm_sq(&self) -> f64 {
        let n = self.l2_norm_scaled();
        n.mul(n).to_f64()
    }

    /// $\|\mathbf W\|_2 = (\sum_k\|W_k\|_F^2)^{1/2}$ in scaled form, without over- or underflow.
    pub fn l2_norm_scaled(&self) -> ScaledReal {
        ScaledReal::sum(self.layers.iter().map(|w| {
            let n = frob_norm_scaled(w.as_ref());
            n.mul(n)
        }))
        .sqrt()
    }

    /// Euclidean inner product $\langle\mathbf W,\mathbf V\rangle = \sum_k\operatorname{Re}\operatorname{Tr}(W_k^*V_k)$.
    ///
    /// # Panics
    /// If the widths differ.
    #[track_caller]
    pub fn inner(&self, other: &Self) -> f64 {
        assert_eq!(self.widths(), other.widths(), "inner: widths differ");
        self.layers
            .iter()
            .zip(&other.layers)
            .map(|(a, b)| re_inner(a.as_ref(), b.as_ref()))
            .sum()
    }
}

/// Euclidean inner product of two tuples of matrices, $\sum_k\operatorname{Re}\operatorname{Tr}(A_k^*B_k)$.
///
/// # Panics
/// If lengths or shapes differ.
#[track_caller]
pub fn tuple_inner<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>]) -> f64 {
    assert_eq!(a.len(), b.len(), "tuple_inner: lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| re_inner(x.as_ref(), y.as_ref()))
        .sum()
}

/// Squared Euclidean norm of a tuple of matrices, $\sum_k\|A_k\|_F^2$.
pub fn tuple_norm_sq<T: Scalar>(a: &[Mat<T>]) -> f64 {
    a.iter().map(|x| frob_sq(x.as_ref())).sum()
}
