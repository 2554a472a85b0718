//! numpy ⇄ faer conversion.
//!
//! Inputs are read through a strided view (`PyReadonlyArray2::as_array`), so C-ordered,
//! Fortran-ordered and strided (sliced, transposed, negative-stride) arrays are all read
//! correctly without an intermediate numpy copy; the one copy is into the owned `faer::Mat` the
//! library API takes. Outputs are fresh C-ordered numpy arrays.

use dln::linalg::{Scalar, c64};
use faer::{Mat, MatRef};
use numpy::ndarray::Array2;
use numpy::{Element, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A scalar both numpy and the library know: `float64` or `complex128`.
pub trait Elem: Scalar + Element + Copy {
    /// numpy's name of the dtype, as in the program's reports.
    const DTYPE: &'static str;
}

impl Elem for f64 {
    const DTYPE: &'static str = "float64";
}

impl Elem for c64 {
    const DTYPE: &'static str = "complex128";
}

/// Copies a 2-D numpy array (any strides) into a faer matrix.
pub fn to_mat<T: Elem>(a: &PyReadonlyArray2<'_, T>) -> Mat<T> {
    let v = a.as_array();
    Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[[i, j]])
}

/// A new C-ordered numpy array with the entries of `m`.
pub fn to_numpy<'py, T: Elem>(py: Python<'py>, m: MatRef<'_, T>) -> Bound<'py, PyArray2<T>> {
    let a = Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]);
    PyArray2::from_owned_array(py, a)
}

/// A list of layers of one dtype.
pub enum AnyLayers {
    /// float64 layers.
    Real(Vec<Mat<f64>>),
    /// complex128 layers.
    Complex(Vec<Mat<c64>>),
}

/// Reads a list of 2-D arrays that are all float64 or all complex128 (the Python wrapper
/// promotes them to one dtype first).
pub fn layers(ws: &Bound<'_, PyAny>, what: &str) -> PyResult<AnyLayers> {
    if let Ok(v) = ws.extract::<Vec<PyReadonlyArray2<'_, f64>>>() {
        return Ok(AnyLayers::Real(v.iter().map(to_mat).collect()));
    }
    if let Ok(v) = ws.extract::<Vec<PyReadonlyArray2<'_, c64>>>() {
        return Ok(AnyLayers::Complex(v.iter().map(to_mat).collect()));
    }
    Err(PyValueError::new_err(format!(
        "{what}: expected a list of 2-D float64 arrays or a list of 2-D complex128 arrays"
    )))
}

/// A single matrix, float64 or complex128.
pub enum AnyMat {
    /// float64.
    Real(Mat<f64>),
    /// complex128.
    Complex(Mat<c64>),
}

/// Reads one 2-D float64 or complex128 array named `name` (for the error message).
pub fn any_mat(a: &Bound<'_, PyAny>, name: &str) -> PyResult<AnyMat> {
    if let Ok(v) = a.extract::<PyReadonlyArray2<'_, f64>>() {
        return Ok(AnyMat::Real(to_mat(&v)));
    }
    if let Ok(v) = a.extract::<PyReadonlyArray2<'_, c64>>() {
        return Ok(AnyMat::Complex(to_mat(&v)));
    }
    Err(PyValueError::new_err(format!(
        "{name}: expected a 2-D float64 or complex128 array"
    )))
}

/// Reads one 2-D float64 array named `name`.
pub fn real_mat(a: &Bound<'_, PyAny>, name: &str) -> PyResult<Mat<f64>> {
    match any_mat(a, name)? {
        AnyMat::Real(m) => Ok(m),
        AnyMat::Complex(_) => Err(PyValueError::new_err(format!(
            "{name}: dtype complex128 is not supported for linear systems (the systems functions are real)"
        ))),
    }
}
