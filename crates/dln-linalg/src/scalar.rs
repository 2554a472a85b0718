//! The two scalar fields of the library, $\mathbb F\in\\{\mathbb R,\mathbb C\\}$.
//!
//! Every algorithm in the workspace is written once, generic over [`Scalar`], and runs on
//! `f64` (real networks and systems) and [`c64`] (complex ones). The paper's $A^*$ is the
//! conjugate transpose: faer's `adjoint()`; over $\mathbb R$ it is the transpose.

use faer::c64;
use faer::traits::ComplexField;
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A scalar field $\mathbb F$: `f64` ($\mathbb R$) or [`c64`] ($\mathbb C$), with real part `f64`.
///
/// This is a thin layer over faer's [`ComplexField`] that names the handful of scalar
/// operations the algorithms need, so that generic code reads like the mathematics.
pub trait Scalar:
    ComplexField<Real = f64>
    + Copy
    + Send
    + Sync
    + Debug
    + Default
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// `true` for $\mathbb C$.
    const IS_COMPLEX: bool;
    /// Name of the field as numpy spells its dtype (`"float64"` or `"complex128"`).
    const DTYPE_NAME: &'static str;
    /// The real number $x$ embedded in $\mathbb F$.
    fn from_f64(x: f64) -> Self;
    /// $x + iy$; over $\mathbb R$ the imaginary part is dropped.
    fn from_parts(re: f64, im: f64) -> Self;
    /// Real part.
    fn re(self) -> f64;
    /// Imaginary part (zero over $\mathbb R$).
    fn im(self) -> f64;
    /// Complex conjugate $\bar z$.
    fn conj(self) -> Self;
    /// Modulus $|z|$.
    fn modulus(self) -> f64 {
        self.re().hypot(self.im())
    }
    /// $|z|^2$.
    fn modulus_sq(self) -> f64 {
        self.re() * self.re() + self.im() * self.im()
    }
    /// `true` when both parts are finite.
    fn finite(self) -> bool {
        self.re().is_finite() && self.im().is_finite()
    }
    /// $z\\,\bar w$ style scaling by a real number.
    fn scale(self, s: f64) -> Self {
        self * Self::from_f64(s)
    }
}

impl Scalar for f64 {
    const IS_COMPLEX: bool = false;
    const DTYPE_NAME: &'static str = "float64";
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline]
    fn from_parts(re: f64, _im: f64) -> Self {
        re
    }
    #[inline]
    fn re(self) -> f64 {
        self
    }
    #[inline]
    fn im(self) -> f64 {
        0.0
    }
    #[inline]
    fn conj(self) -> Self {
        self
    }
    #[inline]
    fn modulus(self) -> f64 {
        self.abs()
    }
}

impl Scalar for c64 {
    const IS_COMPLEX: bool = true;
    const DTYPE_NAME: &'static str = "complex128";
    #[inline]
    fn from_f64(x: f64) -> Self {
        c64::new(x, 0.0)
    }
    #[inline]
    fn from_parts(re: f64, im: f64) -> Self {
        c64::new(re, im)
    }
    #[inline]
    fn re(self) -> f64 {
        self.re
    }
    #[inline]
    fn im(self) -> f64 {
        self.im
    }
    #[inline]
    fn conj(self) -> Self {
        c64::new(self.re, -self.im)
    }
}
