//! Losses $E(X)$ on the end-to-end matrix $X\in\mathbb F^{d_N\times d_0}$, with their Euclidean gradients
//! $E'(X)$ for the pairing $\langle A,B\rangle = \operatorname{Re}\operatorname{Tr}(A^*B)$:
//! $$E(X+\varepsilon Z) = E(X) + \varepsilon\\,\operatorname{Re}\operatorname{Tr}\big(E'(X)^*Z\big) + O(\varepsilon^2).$$
//!
//! Provided: least-squares regression ([`LeastSquares`]), a Frobenius target ([`Frobenius`]),
//! matrix sensing ([`MatrixSensing`]) and matrix completion ([`MatrixCompletion`]).
//!
//! The training loop calls [`Loss::value_and_gradient_into`], which writes $E'(X)$ into a buffer the
//! caller owns; [`Frobenius`], [`MatrixSensing`] and [`MatrixCompletion`] implement it without
//! allocating, so a gradient-descent step on them allocates nothing.

use crate::{FlowError, Result};
use dln_linalg::{Scalar, frob_sq, re_inner};
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Mat, MatMut, MatRef, unzip, zip};

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
    /// $E(X)$, with $E'(X)$ written into `grad` (shape $(d_N, d_0)$, every entry overwritten).
    ///
    /// The default calls [`Loss::value_and_gradient`] and copies; losses used in long training
    /// runs override it to work in place.
    ///
    /// # Panics
    /// If `grad` or `x` does not have the loss's shape.
    fn value_and_gradient_into(&self, x: MatRef<'_, T>, mut grad: MatMut<'_, T>) -> f64 {
        let (e, g) = self.value_and_gradient(x);
        grad.copy_from(&g);
        e
    }
}

impl<T: Scalar, L: Loss<T> + ?Sized> Loss<T> for &L {
    fn shape(&self) -> (usize, usize) {
        (**self).shape()
    }
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        (**self).value_and_gradient(x)
    }
    fn value_and_gradient_into(&self, x: MatRef<'_, T>, grad: MatMut<'_, T>) -> f64 {
        (**self).value_and_gradient_into(x, grad)
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
    fn value_and_gradient_into(&self, x: MatRef<'_, T>, mut grad: MatMut<'_, T>) -> f64 {
        zip!(grad.rb_mut(), x, self.target.as_ref()).for_each(|unzip!(g, x, y)| *g = *x - *y);
        0.5 * frob_sq(grad.rb())
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
        let mut g = Mat::<T>::zeros(x.nrows(), x.ncols());
        let e = self.value_and_gradient_into(x, g.as_mut());
        (e, g)
    }
    fn value_and_gradient_into(&self, x: MatRef<'_, T>, mut grad: MatMut<'_, T>) -> f64 {
        let m = self.sensors.len() as f64;
        grad.fill(T::from_f64(0.0));
        let mut e = 0.0;
        for (a, yi) in self.sensors.iter().zip(&self.y) {
            let r = re_inner(a.as_ref(), x) - yi;
            e += r * r;
            let c = T::from_f64(r / m);
            zip!(grad.rb_mut(), a.as_ref()).for_each(|unzip!(g, a)| *g += c * *a);
        }
        0.5 * e / m
    }
}

/// Matrix completion: observed entries $\Omega$ of a target $M$,
/// $$E(X) = \tfrac12\\|P_\Omega(X - M)\\|_F^2,\qquad E'(X) = P_\Omega(X - M),$$
/// with $P_\Omega$ zeroing the unobserved entries.
///
/// # Algorithm
/// One fused pass $E'(X)_{ij} = \mathbb 1_\Omega(i,j)\,(X_{ij} - M_{ij})$ over the $d_Nd_0$ entries
/// (no allocation in [`Loss::value_and_gradient_into`]), then $E = \tfrac12\|E'(X)\|_F^2$.
#[derive(Debug, Clone)]
pub struct MatrixCompletion<T: Scalar> {
    target: Mat<T>,
    /// The 0/1 mask as elements of the field, so the pass is one multiply per entry.
    mask: Mat<T>,
    observed: usize,
}

impl<T: Scalar> MatrixCompletion<T> {
    /// From the target and a 0/1 mask of the same shape (non-zero = observed).
    ///
    /// # Errors
    /// [`FlowError::ShapeMismatch`] if the shapes differ.
    pub fn new(target: Mat<T>, mask: Mat<f64>) -> Result<Self> {
        check_shape("mask", mask.shape(), target.shape())?;
        let mut observed = 0;
        let mask = Mat::from_fn(mask.nrows(), mask.ncols(), |i, j| {
            if mask[(i, j)] != 0.0 {
                observed += 1;
                T::from_f64(1.0)
            } else {
                T::from_f64(0.0)
            }
        });
        Ok(Self {
            target,
            mask,
            observed,
        })
    }
    /// The number of observed entries $|\Omega|$.
    pub fn observed(&self) -> usize {
        self.observed
    }
    /// The target $M$ (its unobserved entries are never read by the loss).
    pub fn target(&self) -> MatRef<'_, T> {
        self.target.as_ref()
    }
    /// $\mathbb 1_\Omega(i, j)$: is entry $(i, j)$ observed?
    pub fn is_observed(&self, i: usize, j: usize) -> bool {
        self.mask[(i, j)].re() > 0.5
    }
}

impl<T: Scalar> Loss<T> for MatrixCompletion<T> {
    fn shape(&self) -> (usize, usize) {
        self.target.shape()
    }
    fn value_and_gradient(&self, x: MatRef<'_, T>) -> (f64, Mat<T>) {
        let mut g = Mat::<T>::zeros(x.nrows(), x.ncols());
        let e = self.value_and_gradient_into(x, g.as_mut());
        (e, g)
    }
    fn value_and_gradient_into(&self, x: MatRef<'_, T>, mut grad: MatMut<'_, T>) -> f64 {
        zip!(grad.rb_mut(), x, self.target.as_ref(), self.mask.as_ref())
            .for_each(|unzip!(g, x, m, p)| *g = (*x - *m) * *p);
        0.5 * frob_sq(grad.rb())
    }
}
