//! numpy ⇄ faer conversion.
//!
//! Inputs are read through a strided view (`PyReadonlyArray2::as_array`), so C-ordered,
//! Fortran-ordered and strided (sliced, transposed, negative-stride) arrays are all read
//! correctly without an intermediate numpy copy; the one copy is into the owned `faer::Mat` the
//! library API takes. Outputs are fresh C-ordered numpy arrays. Both copies of C-ordered data
//! (row-major) to and from faer's column-major matrices go tile by tile; `dln._copy_layers`
//! times exactly these copies, the floor of a call's overhead (`python -m dln.bench`).

use dln::linalg::{Scalar, c64};
use faer::{Mat, MatRef};
use numpy::{Element, PyArray2, PyArrayMethods, PyReadonlyArray2};
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

/// Edge of the square tiles of the transposing copies: a tile of rows and one of columns both
/// stay in L1 while it is copied.
const TILE: usize = 32;

/// Copies a 2-D numpy array (any strides) into a faer matrix.
///
/// A C-ordered array (the numpy default) is a row-major buffer, faer's matrices are
/// column-major: it is copied tile by tile so that both sides are read and written in cache
/// lines. A Fortran-ordered array is copied column by column; other strides (slices, negative
/// steps) entry by entry.
pub fn to_mat<T: Elem>(a: &PyReadonlyArray2<'_, T>) -> Mat<T> {
    let v = a.as_array();
    let (m, n) = v.dim();
    if let Some(s) = v.as_slice() {
        let mut out = Mat::<T>::zeros(m, n);
        for jb in (0..n).step_by(TILE) {
            for ib in (0..m).step_by(TILE) {
                for j in jb..(jb + TILE).min(n) {
                    let col = out.col_mut(j);
                    for (i, x) in col
                        .subrows_mut(ib, (ib + TILE).min(m) - ib)
                        .iter_mut()
                        .enumerate()
                    {
                        *x = s[(ib + i) * n + j];
                    }
                }
            }
        }
        return out;
    }
    if let Some(s) = v.t().as_slice() {
        return MatRef::from_column_major_slice(s, m, n).to_owned();
    }
    Mat::from_fn(m, n, |i, j| v[[i, j]])
}

/// A new C-ordered numpy array with the entries of `m` (copied tile by tile, as in [`to_mat`]).
pub fn to_numpy<'py, T: Elem>(py: Python<'py>, m: MatRef<'_, T>) -> Bound<'py, PyArray2<T>> {
    let (r, c) = (m.nrows(), m.ncols());
    let out = PyArray2::<T>::zeros(py, [r, c], false);
    {
        let mut w = out.readwrite();
        let s = w
            .as_slice_mut()
            .expect("a freshly created C-ordered array is contiguous");
        for jb in (0..c).step_by(TILE) {
            for ib in (0..r).step_by(TILE) {
                for j in jb..(jb + TILE).min(c) {
                    let col = m.col(j);
                    for (i, x) in col.subrows(ib, (ib + TILE).min(r) - ib).iter().enumerate() {
                        s[(ib + i) * c + j] = *x;
                    }
                }
            }
        }
    }
    out
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
