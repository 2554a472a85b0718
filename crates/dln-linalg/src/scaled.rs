//! Numbers and matrices carried in scaled form $x = m\cdot2^{e}$, for inputs far outside the
//! range where their squares, products or sums of squares fit in `f64`.
//!
//! A network whose weights are $10^{-120}$ has $\|\mathbf W\|_2^2\approx10^{-240}$ (representable) but
//! moments $W_kW_k^*$ whose entries are sums of products of size $10^{-240}$ and whose squared
//! norms underflow to $0$; with weights $10^{100}$ the end-to-end matrix of a depth-4 network is
//! $10^{400}$. Every such quantity is exact in the form $m\cdot2^{e}$ with an `f64` mantissa and an
//! integer exponent:
//! - [`ScaledReal`]: a real number $m\cdot2^{e}$ with arithmetic ($\times$, $/$, $+$, $-$,
//!   $\sqrt{\ }$, $x^p$) that never over- or underflows, and an explicit conversion back to `f64`
//!   ([`ScaledReal::to_f64_checked`]) that says when the value is not representable.
//! - [`pow2_exponent`] / [`scale_pow2`]: the power of two that brings a matrix's largest entry to
//!   $[\tfrac12,1)$, and the exact scaling by $2^{e}$ (multiplication by a power of two is exact
//!   unless the result leaves the normal range, and it commutes with products, SVDs and
//!   polar decompositions).
//! - [`frob_norm_scaled`]: $\|A\|_F$ as a [`ScaledReal`], correct for entries of any magnitude.
//!
//! faer 0.24's SVD fails to converge for entries above about $2^{900}$ and returns wrong singular
//! values for entries below about $2^{-700}$ (measured; see the tests), so the SVD entry points of
//! this crate ([`crate::singular_values`], [`crate::thin_svd`], [`crate::polar()`]) scale by a power
//! of two before calling it.

use crate::Scalar;
use faer::{Mat, MatRef};
use std::fmt;

/// $2^{k}$ for $-1022\le k\le1023$, exactly.
fn pow2(k: i64) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// $x\cdot2^{k}$, exact whenever the result is a normal number (C's `ldexp`); saturates to
/// $\pm\infty$ or rounds towards $0$ outside the range.
pub fn ldexp(mut x: f64, mut k: i64) -> f64 {
    while k > 1000 {
        x *= pow2(1000);
        k -= 1000;
        if !x.is_finite() || x == 0.0 {
            return x;
        }
    }
    while k < -1000 {
        x *= pow2(-1000);
        k += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * pow2(k)
}

/// Splits a finite $x\ne0$ as $m\cdot2^{e}$ with $\tfrac12\le|m|<1$ (C's `frexp`); $(0,0)$ for $0$.
///
/// # Panics
/// If $x$ is not finite (a caller bug: inputs are validated).
#[track_caller]
pub fn frexp(x: f64) -> (f64, i64) {
    assert!(x.is_finite(), "frexp: non-finite argument");
    if x == 0.0 {
        return (0.0, 0);
    }
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE {
        (x * pow2(64), -64)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let e = biased - 1022;
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, e + bias)
}

/// A real number $m\cdot2^{e}$ with an `f64` mantissa $\tfrac12\le|m|<1$ (or $m=0$) and an `i64`
/// exponent: the range is far beyond any product or sum of squares of finite `f64`s.
///
/// Relative accuracy is that of `f64` (each operation rounds the mantissa once).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaledReal {
    mant: f64,
    exp: i64,
}

impl ScaledReal {
    /// Zero.
    pub const ZERO: Self = Self { mant: 0.0, exp: 0 };

    /// $m\cdot2^{e}$ (normalized).
    ///
    /// # Panics
    /// If $m$ is not finite.
    #[track_caller]
    pub fn new(m: f64, e: i64) -> Self {
        let (mant, k) = frexp(m);
        if mant == 0.0 {
            return Self::ZERO;
        }
        Self { mant, exp: e + k }
    }

    /// The finite `f64` $x$.
    ///
    /// # Panics
    /// If $x$ is not finite.
    #[track_caller]
    pub fn from_f64(x: f64) -> Self {
        Self::new(x, 0)
    }

    /// Mantissa $m$, $\tfrac12\le|m|<1$ or $0$.
    pub fn mantissa(self) -> f64 {
        self.mant
    }

    /// Exponent $e$ (0 for zero).
    pub fn exponent(self) -> i64 {
        self.exp
    }

    /// `true` for zero.
    pub fn is_zero(self) -> bool {
        self.mant == 0.0
    }

    /// The nearest `f64`: $\pm\infty$ above `f64::MAX`, $0$ or a subnormal below
    /// `f64::MIN_POSITIVE`. Use [`ScaledReal::to_f64_checked`] to find out.
    pub fn to_f64(self) -> f64 {
        ldexp(self.mant, self.exp)
    }

    /// The value as an `f64` when it is representable: finite and either zero or a normal number
    /// (a subnormal has lost relative precision). `None` otherwise.
    pub fn to_f64_checked(self) -> Option<f64> {
        let x = self.to_f64();
        (x.is_finite() && (self.is_zero() || x.abs() >= f64::MIN_POSITIVE)).then_some(x)
    }

    /// $\log_{10}|x|$ ($-\infty$ for $0$).
    pub fn log10_abs(self) -> f64 {
        if self.is_zero() {
            return f64::NEG_INFINITY;
        }
        self.mant.abs().log10() + self.exp as f64 * std::f64::consts::LOG10_2
    }

    /// $xy$.
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, other: Self) -> Self {
        Self::new(self.mant * other.mant, self.exp + other.exp)
    }

    /// $x/y$ ($\pm\infty$-free: `None` when $y=0$).
    pub fn checked_div(self, other: Self) -> Option<Self> {
        (!other.is_zero()).then(|| Self::new(self.mant / other.mant, self.exp - other.exp))
    }

    /// $x/y$ rounded to `f64` (may be $\pm\infty$ or $0$ when the ratio is out of range; `NaN`
    /// for $0/0$).
    pub fn ratio(self, other: Self) -> f64 {
        match self.checked_div(other) {
            Some(q) => q.to_f64(),
            None if self.is_zero() => f64::NAN,
            None => f64::INFINITY.copysign(self.mant),
        }
    }

    /// $x\cdot s$ for a finite real $s$.
    pub fn scale(self, s: f64) -> Self {
        self.mul(Self::from_f64(s))
    }

    /// $x+y$.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: Self) -> Self {
        if self.is_zero() {
            return other;
        }
        if other.is_zero() {
            return self;
        }
        let (big, small) = if self.exp >= other.exp {
            (self, other)
        } else {
            (other, self)
        };
        let shift = small.exp - big.exp; // <= 0
        let s = if shift < -60 {
            0.0
        } else {
            ldexp(small.mant, shift)
        };
        Self::new(big.mant + s, big.exp)
    }

    /// $x-y$.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, other: Self) -> Self {
        self.add(Self {
            mant: -other.mant,
            exp: other.exp,
        })
    }

    /// $\sqrt x$.
    ///
    /// # Panics
    /// If $x<0$.
    #[track_caller]
    pub fn sqrt(self) -> Self {
        assert!(self.mant >= 0.0, "ScaledReal::sqrt of a negative number");
        if self.exp % 2 == 0 {
            Self::new(self.mant.sqrt(), self.exp / 2)
        } else {
            Self::new((2.0 * self.mant).sqrt(), (self.exp - 1) / 2)
        }
    }

    /// $x^p$ for $x\ge0$ and real $p$ ($0^p = 0$ for $p>0$).
    ///
    /// # Panics
    /// If $x<0$, or $x=0$ and $p\le0$.
    #[track_caller]
    pub fn powf(self, p: f64) -> Self {
        assert!(self.mant >= 0.0, "ScaledReal::powf of a negative number");
        if self.is_zero() {
            assert!(p > 0.0, "ScaledReal::powf: 0^p with p <= 0");
            return Self::ZERO;
        }
        // x^p = m^p · 2^{e p}, e p = k + f with integer k and 0 <= f < 1.
        let ep = self.exp as f64 * p;
        let k = ep.floor();
        let f = ep - k;
        Self::new(self.mant.powf(p) * f.exp2(), k as i64)
    }

    /// $\sum_i x_i$.
    pub fn sum(items: impl IntoIterator<Item = Self>) -> Self {
        items.into_iter().fold(Self::ZERO, Self::add)
    }
}

impl fmt::Display for ScaledReal {
    /// Scientific notation with 12 significant digits, for any exponent (`1.23456789012e600`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(x) = self.to_f64_checked() {
            return write!(f, "{x:e}");
        }
        let l = self.log10_abs();
        let mut d = l.floor();
        let mut m = 10f64.powf(l - d);
        if m >= 9.999_999_999_995 {
            m /= 10.0;
            d += 1.0;
        }
        let sign = if self.mant < 0.0 { "-" } else { "" };
        write!(f, "{sign}{m:.11}e{d}")
    }
}

/// The exponent $e$ with $\max_{ij}\max(|\operatorname{Re}a_{ij}|,|\operatorname{Im}a_{ij}|)\in[2^{e-1},2^{e})$,
/// or `None` for the zero (or empty) matrix. Entries must be finite.
pub fn pow2_exponent<T: Scalar>(a: MatRef<'_, T>) -> Option<i64> {
    let mut m = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let z = a[(i, j)];
            m = m.max(z.re().abs()).max(z.im().abs());
        }
    }
    (m > 0.0).then(|| frexp(m).1)
}

/// $2^{e}A$, entry by entry (exact unless an entry leaves the normal range: entries that become
/// subnormal are rounded, so scale *down* only by the exponent of the largest entry).
pub fn scale_pow2<T: Scalar>(a: MatRef<'_, T>, e: i64) -> Mat<T> {
    if (-1022..=1023).contains(&e) {
        let s = pow2(e);
        Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)].scale(s))
    } else {
        Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
            let z = a[(i, j)];
            T::from_parts(ldexp(z.re(), e), ldexp(z.im(), e))
        })
    }
}

/// $A = 2^{e}\hat A$ with the largest entry of $\hat A$ in $[\tfrac12,1)$: returns $(\hat A, e)$
/// ($e = 0$ and $\hat A = A$ for the zero matrix). Exact: only the exponents change.
pub fn normalize_pow2<T: Scalar>(a: MatRef<'_, T>) -> (Mat<T>, i64) {
    match pow2_exponent(a) {
        Some(e) if e != 0 => (scale_pow2(a, -e), e),
        _ => (a.to_owned(), 0),
    }
}

/// $\|A\|_F$ as a [`ScaledReal`], for entries of any finite magnitude (including norms above
/// `f64::MAX` and entries near the subnormal range).
pub fn frob_norm_scaled<T: Scalar>(a: MatRef<'_, T>) -> ScaledReal {
    match pow2_exponent(a) {
        None => ScaledReal::ZERO,
        Some(e) if (-900..=900).contains(&e) => ScaledReal::from_f64(a.norm_l2()),
        Some(e) => ScaledReal::new(scale_pow2(a, -e).norm_l2(), e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{gaussian, rng};
    use faer::c64;

    #[test]
    fn frexp_ldexp_roundtrip() {
        for x in [1.0, -3.5, 1e-310, 5e-324, 1e308, -2.0f64.powi(-1022), 0.75] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m.abs()), "{x}: {m}");
            assert_eq!(ldexp(m, e).to_bits(), x.to_bits());
        }
        assert_eq!(frexp(0.0), (0.0, 0));
    }

    #[test]
    fn arithmetic_beyond_f64() {
        let a = ScaledReal::from_f64(1e300);
        let sq = a.mul(a);
        assert!(sq.to_f64_checked().is_none());
        assert!((sq.log10_abs() - 600.0).abs() < 1e-12);
        assert!((sq.sqrt().to_f64() / 1e300 - 1.0).abs() < 1e-15);
        assert!((sq.powf(0.25).to_f64() / 1e150 - 1.0).abs() < 1e-14);
        let tiny = ScaledReal::from_f64(1e-300).mul(ScaledReal::from_f64(1e-300));
        assert!(tiny.to_f64_checked().is_none());
        assert!((tiny.log10_abs() + 600.0).abs() < 1e-12);
        assert!(tiny.ratio(sq).abs() < f64::MIN_POSITIVE);
        assert!((sq.add(sq).ratio(sq) - 2.0).abs() < 1e-15);
        assert!(sq.sub(sq).is_zero());
        assert_eq!(format!("{}", sq.scale(2.0)), "2.00000000000e600");
        assert_eq!(format!("{}", ScaledReal::from_f64(0.5)), "5e-1");
    }

    fn norm_at_scales<T: Scalar>() {
        let mut r = rng(3);
        let a: Mat<T> = gaussian(&mut r, 5, 3);
        let n = a.norm_l2();
        for k in [-1070i64, -1000, -500, 0, 500, 1000, 1023] {
            let b = scale_pow2(a.as_ref(), k);
            let got = frob_norm_scaled(b.as_ref());
            let want = ScaledReal::new(n, k);
            let rel = got.sub(want).ratio(want).abs();
            // 2^-1070 pushes entries into the subnormal range: they keep only a few bits.
            let tol = if k < -1022 { 1e-2 } else { 1e-14 };
            assert!(rel < tol, "2^{k}: {rel:e}");
        }
    }
    #[test]
    fn frob_norm_at_scales_real() {
        norm_at_scales::<f64>();
    }
    #[test]
    fn frob_norm_at_scales_complex() {
        norm_at_scales::<c64>();
    }
}
