//! Losses $E(X)$ on the end-to-end matrix $X\in\mathbb F^{d_N\times d_0}$, with their Euclidean gradients
//! $E'(X)$ for the pairing $\langle A,B\rangle = \operatorname{Re}\operatorname{Tr}(A^*B)$:
//! $$E(X+\varepsilon Z) = E(X) + \varepsilon\\,\operatorname{Re}\operatorname{Tr}\big(E'(X)^*Z\big) + O(\varepsilon^2).$$
//!
//! Provided: least-squares regression ([`LeastSquares`]), a Frobenius target ([`Frobenius`]),
//! matrix sensing ([`MatrixSensing`]) and matrix completion ([`MatrixCompletion`]).

use crate::{FlowError, Result};
use dln_linalg::{Scalar, frob_sq, re_inner};
use faer::{Mat, MatRef};

/// A differentiable loss $E:\mathbb F^{d_N\times d_0}\to\mathbb R$.
pub trait Loss<T: Scalar> {
    /// The shape $(d_N, d_0)$ of $X$.
    fn shape(&self) -> (usize, usize);
    /// $E(X)$.
    fn value(&self, x: MatRef<'_, T>) -> f64 {
        self.value_and_gradient(x).0
    }
    /// $E'(X)$.
    fn gradient(&self, x: MatRef<'_, T>) -> Mat<T> {
        self.value_and_gradient(x).1
    }
    /// $(E(X), E'(X))$, sharing work.
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>);
}

impl<T: Scalar, L: Loss<T> + ?Sized> Loss<T> for &L {
    fn shape(&self) -> (usize, usize) {
        (**self).shape()
    }
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        (**self).value_and_gradient(x)
    }
}

fn check_shape(what: &'static str, m: (usize, usize), expected: (usize, usize)) -> Result<()> {
    if m == expected {
        Ok(())
    } else {
        Err(FlowError::ShapeMismatch {
            what,
            expected_rows: expected.0,
            expected_cols: expected.1,
            rows: m.0,
            cols: m.1,
        })
    }
}

/// Least-squares regression on $n$ samples, inputs $U\in\mathbb F^{d_0\times n}$, targets $Y\in\mathbb F^{d_N\times n}$:
/// $$E(X) = \frac1{2n}\\|XU - Y\\|_F^2,\qquad E'(X) = \frac1n(XU - Y)U^*.$$
///
/// # Algorithm
/// Two products per evaluation, $XU$ and $RU^*$ with $R = XU-Y$ ($2d_Nd_0n$ multiply-adds each).
#[derive(Debug, Clone)]
pub struct LeastSquares<T: Scalar> {
    inputs: Mat<T>,
    targets: Mat<T>,
}

impl<T: Scalar> LeastSquares<T> {
    /// From inputs ($d_0\times n$) and targets ($d_N\times n$), one sample per column.
    ///
    /// # Errors
    /// [`FlowError::ShapeMismatch`] if the sample counts differ or there are none;
    /// [`FlowError::Linalg`] for non-finite entries.
    pub fn new(inputs: Mat<T>, targets: Mat<T>) -> Result<Self> {
        if inputs.ncols() == 0 {
            return Err(FlowError::ShapeMismatch {
                what: "inputs (need at least one sample)",
                expected_rows: inputs.nrows(),
                expected_cols: 1,
                rows: inputs.nrows(),
                cols: 0,
            });
        }
        check_shape(
            "targets",
            targets.shape(),
            (targets.nrows(), inputs.ncols()),
        )?;
        dln_linalg::check_finite(inputs.as_ref())?;
        dln_linalg::check_finite(targets.as_ref())?;
        Ok(Self { inputs, targets })
    }
    /// Number of samples $n$.
    pub fn samples(&self) -> usize {
        self.inputs.ncols()
    }
    /// The inputs $U$.
    pub fn inputs(&self) -> MatRef<'_, T> {
        self.inputs.as_ref()
    }
    /// The targets $Y$.
    pub fn targets(&self) -> MatRef<'_, T> {
        self.targets.as_ref()
    }
}

impl<T: Scalar> Loss<T> for LeastSquares<T> {
    fn shape(&self) -> (usize, usize) {
        (self.targets.nrows(), self.inputs.nrows())
    }
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        let inv_n = 1.0 / self.samples() as f64;
        let mut r = x * &self.inputs;
        r -= &self.targets;
        let e = 0.5 * inv_n * frob_sq(r.as_ref());
        let g = faer::Scale(T::from_f64(inv_n)) * (&r * self.inputs.adjoint());
        (e, g)
    }
}

/// A Frobenius target: $E(X) = \tfrac12\\|X - Y\\|_F^2$, $E'(X) = X - Y$.
#[derive(Debug, Clone)]
pub struct Frobenius<T: Scalar> {
    target: Mat<T>,
}

impl<T: Scalar> Frobenius<T> {
    /// With target $Y$.
    pub fn new(target: Mat<T>) -> Self {
        Self { target }
    }
}

impl<T: Scalar> Loss<T> for Frobenius<T> {
    fn shape(&self) -> (usize, usize) {
        self.target.shape()
    }
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        let r = x - &self.target;
        (0.5 * frob_sq(r.as_ref()), r)
    }
}

/// Matrix sensing with a real-linear measurement operator
/// $\mathcal M(X)_i = \langle A_i, X\rangle = \operatorname{Re}\operatorname{Tr}(A_i^*X)$, $i=1..m$, and measurements $y$:
/// $$E(X) = \frac1{2m}\sum_{i=1}^m\big(\langle A_i,X\rangle - y_i\big)^2,\qquad E'(X) = \frac1m\sum_i\big(\langle A_i,X\rangle-y_i\big)A_i.$$
#[derive(Debug, Clone)]
pub struct MatrixSensing<T: Scalar> {
    sensors: Vec<Mat<T>>,
    y: Vec<f64>,
}

impl<T: Scalar> MatrixSensing<T> {
    /// From the sensing matrices $A_i$ and the measurements $y_i$.
    ///
    /// # Errors
    /// [`FlowError::ShapeMismatch`] if there are no sensors, their shapes differ, or the counts differ.
    pub fn new(sensors: Vec<Mat<T>>, y: Vec<f64>) -> Result<Self> {
        let shape = sensors.first().map(|a| a.shape()).unwrap_or((0, 0));
        check_shape(
            "measurements (length x 1)",
            (y.len(), 1),
            (sensors.len().max(1), 1),
        )?;
        for a in &sensors {
            check_shape("sensing matrix", a.shape(), shape)?;
        }
        Ok(Self { sensors, y })
    }
    /// $\mathcal M(X)$.
    pub fn measure(&self, x: MatRef<'_, T>) -> Vec<f64> {
        self.sensors
            .iter()
            .map(|a| re_inner(a.as_ref(), x))
            .collect()
    }
}

impl<T: Scalar> Loss<T> for MatrixSensing<T> {
    fn shape(&self) -> (usize, usize) {
        self.sensors[0].shape()
    }
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        let m = self.sensors.len() as f64;
        let mut g = Mat::<T>::zeros(x.nrows(), x.ncols());
        let mut e = 0.0;
        for (a, yi) in self.sensors.iter().zip(&self.y) {
            let r = re_inner(a.as_ref(), x) - yi;
            e += r * r;
            g += faer::Scale(T::from_f64(r / m)) * a;
        }
        (0.5 * e / m, g)
    }
}

/// Matrix completion: observed entries $\Omega$ of a target $M$,
/// $$E(X) = \tfrac12\\|P_\Omega(X - M)\\|_F^2,\qquad E'(X) = P_\Omega(X - M),$$
/// with $P_\Omega$ zeroing the unobserved entries.
#[derive(Debug, Clone)]
pub struct MatrixCompletion<T: Scalar> {
    target: Mat<T>,
    mask: Mat<f64>,
}

impl<T: Scalar> MatrixCompletion<T> {
    /// From the target and a 0/1 mask of the same shape (non-zero = observed).
    ///
    /// # Errors
    /// [`FlowError::ShapeMismatch`] if the shapes differ.
    pub fn new(target: Mat<T>, mask: Mat<f64>) -> Result<Self> {
        check_shape("mask", mask.shape(), target.shape())?;
        let mask = Mat::from_fn(mask.nrows(), mask.ncols(), |i, j| {
            if mask[(i, j)] != 0.0 { 1.0 } else { 0.0 }
        });
        Ok(Self { target, mask })
    }
}

impl<T: Scalar> Loss<T> for MatrixCompletion<T> {
    fn shape(&self) -> (usize, usize) {
        self.target.shape()
    }
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        let g = Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
            (x[(i, j)] - self.target[(i, j)]).scale(self.mask[(i, j)])
        });
        (0.5 * frob_sq(g.as_ref()), g)
    }
}
