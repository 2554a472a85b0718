//! Reading and writing NumPy files: `.npy` arrays, `.npz` archives of weights, and linear systems.
//!
//! # What is read
//! - Arrays of dtype `float64` or `complex128` (either byte order), in C or Fortran order, as
//!   `numpy.save`/`numpy.savez`/`numpy.savez_compressed` write them. Every other dtype is rejected
//!   with its name (e.g. `int64`, `str (<U5)`).
//! - Arrays must be 2-D. The only exceptions are documented where they apply: in a linear system a
//!   1-D `B` is read as a column ($n\times1$), a 1-D `C` as a row ($1\times n$), and a 0-D `D` as a
//!   $1\times1$ matrix.
//! - Every entry must be finite; the first NaN/Inf is reported with its `[row, col]` index.
//!
//! # Weights
//! An `.npz` archive with arrays `W1`, …, `WN`: `W1` is the **input** layer ($d_1\times d_0$), `WN`
//! the output layer; every width must be at least 1 (zero-width layers are refused by every command, as `train --widths` refuses 0). Other arrays are ignored. All `float64` gives a real network; any
//! `complex128` layer makes the whole network complex (real layers are promoted).
//!
//! # Linear systems
//! Either a directory with `A.npy`, `B.npy`, `C.npy`, `D.npy` (optional: a missing `D` is zero)
//! and an optional `meta.json` whose `time` (`"continuous"` or `"discrete"`) and `dt` fields give
//! the time domain (other fields are ignored), or one `.npz` archive with arrays `A,B,C,D` whose
//! time domain comes from the command line (`--discrete [--dt h]`). `--discrete` also overrides a
//! `meta.json`. A discrete system without a sampling time gets `dt = 1`.
//! A system of order 0 (a constant transfer function $G = D$, as `dln minreal` may write) has a
//! 0×0 `A`, a 0×m `B` and a p×0 `C` (2-D `.npy` arrays with a zero dimension), which carry the
//! numbers of inputs and outputs; it is read like any other (`m, p ≥ 1` are still required).
//!
//! # Atomic output
//! Every output is written to a temporary file (or directory) next to its target and renamed into
//! place only when complete: on failure nothing is left behind, not even a partial file.

use crate::error::{CliError, Result};
use crate::staging;
use dln::algebra::Network;
use dln::linalg::{Scalar, c64};
use faer::{Mat, MatRef};
use npyz::npz::NpzArchive;
use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar, WriterBuilder};
use serde::Deserialize;
use std::fs;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};

/// A scalar type that can be read from and written to `.npy` data: `f64` or [`c64`].
pub trait Element: Scalar + npyz::Deserialize + npyz::AutoSerialize {}
impl<T: Scalar + npyz::Deserialize + npyz::AutoSerialize> Element for T {}

/// A matrix read from a file, over the field its dtype names.
#[derive(Debug, Clone)]
pub enum AnyMat {
    /// `float64` data.
    Real(Mat<f64>),
    /// `complex128` data.
    Complex(Mat<c64>),
}

impl AnyMat {
    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Self::Real(m) => m.shape(),
            Self::Complex(m) => m.shape(),
        }
    }

    /// `true` for `complex128` data.
    pub fn is_complex(&self) -> bool {
        matches!(self, Self::Complex(_))
    }

    /// The matrix over $\mathbb C$ (real data is promoted).
    pub fn into_complex(self) -> Mat<c64> {
        match self {
            Self::Real(m) => Mat::from_fn(m.nrows(), m.ncols(), |i, j| c64::new(m[(i, j)], 0.0)),
            Self::Complex(m) => m,
        }
    }
}

/// Weights read from an `.npz` archive, real or complex according to their dtypes.
#[derive(Debug, Clone)]
pub enum AnyNetwork {
    /// All layers `float64`.
    Real(Network<f64>),
    /// At least one layer `complex128`.
    Complex(Network<c64>),
}

/// Runs one generic expression on the network inside an [`AnyNetwork`], whatever its field:
/// `dispatch!(any, net => body)` evaluates `body` with `net: Network<f64>` or `Network<c64>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __dispatch_network {
    ($any:expr, $net:ident => $body:expr) => {
        match $any {
            $crate::io::AnyNetwork::Real($net) => $body,
            $crate::io::AnyNetwork::Complex($net) => $body,
        }
    };
}
pub use crate::__dispatch_network as dispatch;

/// How an array that is not 2-D may stand for a matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dims {
    /// Only 2-D arrays.
    Matrix,
    /// A 1-D array of length $n$ is the column $n\times1$.
    Column,
    /// A 1-D array of length $n$ is the row $1\times n$.
    Row,
    /// A 0-D array is the $1\times1$ matrix.
    Scalar,
}

/// numpy's name of a dtype, for error messages (`float32`, `int64`, `str (<U5)`, …).
fn dtype_name(dt: &DType) -> String {
    match dt {
        DType::Plain(ts) => {
            let n = ts.size_field();
            match ts.type_char() {
                TypeChar::Bool => "bool".to_string(),
                TypeChar::Int => format!("int{}", 8 * n),
                TypeChar::Uint => format!("uint{}", 8 * n),
                TypeChar::Float => format!("float{}", 8 * n),
                TypeChar::Complex => format!("complex{}", 8 * n),
                TypeChar::ByteStr => format!("bytes (S{n})"),
                TypeChar::UnicodeStr => format!("str (<U{n})"),
                TypeChar::TimeDelta => "timedelta64".to_string(),
                TypeChar::DateTime => "datetime64".to_string(),
                _ => ts.to_string(),
            }
        }
        DType::Array(..) => format!("sub-array dtype {}", dt.descr()),
        DType::Record(..) => format!("structured dtype {}", dt.descr()),
    }
}

fn shape_str(shape: &[u64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn fmt_entry<T: Scalar>(v: T) -> String {
    if T::IS_COMPLEX {
        format!("{}{:+}j", v.re(), v.im())
    } else {
        format!("{}", v.re())
    }
}

/// Longest `.npy` header accepted (numpy itself refuses headers over 10 000 bytes by default).
pub const MAX_HEADER_BYTES: usize = 1 << 16;

/// The start and length of the header of `.npy` bytes, from the preamble (magic, version,
/// header-length field) alone: `bytes` may be just the first 12 bytes of the file.
///
/// # Errors
/// Missing magic, unknown version, a truncated preamble, a header longer than
/// [`MAX_HEADER_BYTES`].
fn header_span(bytes: &[u8]) -> std::result::Result<(usize, usize), String> {
    if !bytes.starts_with(b"\x93NUMPY") {
        return Err("not a .npy array (missing the \\x93NUMPY magic)".to_string());
    }
    let truncated = || "truncated .npy header".to_string();
    let (len, start) = match bytes.get(6..8) {
        Some([1, 0]) => {
            let b = bytes.get(8..10).ok_or_else(truncated)?;
            (u64::from(u16::from_le_bytes([b[0], b[1]])), 10)
        }
        Some([2 | 3, 0]) => {
            let b = bytes.get(8..12).ok_or_else(truncated)?;
            (u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])), 12)
        }
        Some([major, minor]) => {
            return Err(format!(
                "unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"
            ));
        }
        _ => return Err(truncated()),
    };
    if len > MAX_HEADER_BYTES as u64 {
        return Err(format!(
            "the .npy header claims {len} bytes, more than the {MAX_HEADER_BYTES} accepted"
        ));
    }
    Ok((start, len as usize))
}

/// The offset where the data of the `.npy` bytes start, checked against the bytes present
/// *before* anything is allocated.
///
/// # Errors
/// As [`header_span`]; a header longer than the file.
fn header_end(bytes: &[u8]) -> std::result::Result<usize, String> {
    let (start, len) = header_span(bytes)?;
    if start + len > bytes.len() {
        return Err(format!(
            "truncated .npy header: it claims {len} bytes but only {} follow",
            bytes.len() - start
        ));
    }
    Ok(start + len)
}

/// Parses the bytes of one `.npy` file into a matrix. `file`/`name` only label errors.
///
/// # Errors
/// Bad header, unsupported dtype, wrong number of dimensions, truncated data, non-finite entries.
pub fn parse_matrix(file: &Path, name: &str, bytes: &[u8], dims: Dims) -> Result<AnyMat> {
    let err = |problem: String| CliError::array(file, name, problem);
    let header_end = header_end(bytes).map_err(err)?;
    let mut cursor = Cursor::new(&bytes[..header_end]);
    let header = NpyHeader::from_reader(&mut cursor)
        .map_err(|e| err(format!("unreadable .npy header: {e}")))?;
    if cursor.position() != header_end as u64 {
        return Err(err(
            "unreadable .npy header: the header length field disagrees with the header".into(),
        ));
    }
    let cursor = Cursor::new(&bytes[header_end..]);
    let data_bytes = (bytes.len() - header_end) as u64;
    let dtype = header.dtype();
    let elem_bytes: u64 = match &dtype {
        DType::Plain(ts) if ts.type_char() == TypeChar::Float && ts.size_field() == 8 => 8,
        DType::Plain(ts) if ts.type_char() == TypeChar::Complex && ts.size_field() == 16 => 16,
        other => {
            return Err(err(format!(
                "dtype {} is not supported (expected float64 or complex128)",
                dtype_name(other)
            )));
        }
    };
    let shape = header.shape().to_vec();
    let (rows, cols) = match (shape.as_slice(), dims) {
        ([r, c], _) => (*r, *c),
        ([n], Dims::Column) => (*n, 1),
        ([n], Dims::Row) => (1, *n),
        ([], Dims::Scalar) => (1, 1),
        _ => {
            return Err(err(format!(
                "has {} dimension{} (shape {}); expected a 2-D array",
                shape.len(),
                if shape.len() == 1 { "" } else { "s" },
                shape_str(&shape)
            )));
        }
    };
    let needed = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(elem_bytes));
    if needed.is_none_or(|n| n > data_bytes) {
        return Err(err(format!(
            "truncated: shape {} needs {} bytes of data but the file has {data_bytes}",
            shape_str(&shape),
            needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
        )));
    }
    if let Some(n) = needed.filter(|&n| n < data_bytes) {
        return Err(err(format!(
            "{} trailing bytes after the data (shape {} needs {n} bytes, the file has {data_bytes})",
            data_bytes - n,
            shape_str(&shape)
        )));
    }
    let (rows, cols) = (rows as usize, cols as usize);
    let order = header.order();
    let npy = NpyFile::with_header(header, cursor);
    let m = if elem_bytes == 8 {
        AnyMat::Real(
            to_mat(npy, rows, cols, order).map_err(|e| err(format!("unreadable data: {e}")))?,
        )
    } else {
        AnyMat::Complex(
            to_mat(npy, rows, cols, order).map_err(|e| err(format!("unreadable data: {e}")))?,
        )
    };
    let bad = match &m {
        AnyMat::Real(m) => first_non_finite(m.as_ref()),
        AnyMat::Complex(m) => first_non_finite(m.as_ref()),
    };
    if let Some((i, j, v)) = bad {
        return Err(err(format!(
            "entry [{i}, {j}] is {v} (all entries must be finite)"
        )));
    }
    Ok(m)
}

fn to_mat<T: Element, R: Read>(
    npy: NpyFile<R>,
    rows: usize,
    cols: usize,
    order: Order,
) -> io::Result<Mat<T>> {
    let data: Vec<T> = npy.into_vec()?;
    if data.len() != rows * cols {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "fewer entries than the shape says",
        ));
    }
    Ok(match order {
        Order::C => Mat::from_fn(rows, cols, |i, j| data[i * cols + j]),
        Order::Fortran => Mat::from_fn(rows, cols, |i, j| data[j * rows + i]),
    })
}

/// First non-finite entry in row-major (numpy) order: `(row, col, value)`.
fn first_non_finite<T: Scalar>(m: MatRef<'_, T>) -> Option<(usize, usize, String)> {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            if !m[(i, j)].finite() {
                return Some((i, j, fmt_entry(m[(i, j)])));
            }
        }
    }
    None
}

/// Reads a whole input file, with a one-line error naming it. Only regular files are read
/// (symbolic links are followed): a directory, device, FIFO or socket is refused before reading,
/// and the file may not be larger than the memory limit ([`crate::resources`]).
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let fail = |e: io::Error| CliError::file(path, format!("cannot read: {}", io_reason(&e)));
    let meta = fs::metadata(path).map_err(fail)?;
    if meta.is_dir() {
        return Err(CliError::file(path, "is a directory, expected a file"));
    }
    if !meta.is_file() {
        return Err(CliError::file(
            path,
            format!("is a {}, expected a regular file", file_kind(&meta)),
        ));
    }
    crate::resources::check_memory(&format!("reading {}", path.display()), meta.len().into())
        .map_err(|e| CliError::file(path, e))?;
    let f = fs::File::open(path).map_err(fail)?;
    // The file may grow while it is read: never read more than its size when it was checked.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(meta.len()).read_to_end(&mut bytes).map_err(fail)?;
    Ok(bytes)
}

/// Reads one `.npy` file into a matrix: [`parse_matrix`] on the bytes of a regular file read as
/// [`read_bytes`] does (never a device, FIFO or directory; never more than the memory limit).
///
/// # Errors
/// As [`read_bytes`] and [`parse_matrix`].
pub fn read_matrix(path: &Path, name: &str, dims: Dims) -> Result<AnyMat> {
    parse_matrix(path, name, &read_bytes(path)?, dims)
}

/// What a non-regular file is, for error messages.
fn file_kind(meta: &fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if meta.file_type().is_symlink() {
        return "symbolic link";
    }
    "special file"
}

/// The OS reason of an I/O error without the "(os error N)" suffix.
fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(k) => s[..k].to_string(),
                None => s,
            }
        }
    }
}

/// An `.npz` archive opened for reading.
pub struct Npz {
    path: PathBuf,
    archive: NpzArchive<Cursor<Vec<u8>>>,
}

impl Npz {
    /// Opens the archive at `path`.
    ///
    /// # Errors
    /// Unreadable file, not a zip archive.
    pub fn open(path: &Path) -> Result<Self> {
        Self::from_bytes(path, read_bytes(path)?)
    }

    /// Opens an archive held in memory; `path` only labels errors.
    ///
    /// # Errors
    /// Not a zip archive, duplicate array names.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        if bytes.starts_with(b"\x93NUMPY") {
            return Err(CliError::file(
                path,
                "is a single .npy array, not an .npz archive (use numpy.savez)",
            ));
        }
        let mut archive = NpzArchive::new(Cursor::new(bytes))
            .map_err(|e| CliError::file(path, format!("not an .npz archive: {e}")))?;
        // Two entries with one name: numpy (Python's zipfile) would use the last one, the zip
        // crate another; neither is what the author meant. Refuse.
        let zip = archive.zip_archive();
        if zip.file_names().count() != zip.len() {
            let mut seen = std::collections::HashSet::new();
            for i in 0..zip.len() {
                let name = zip
                    .by_index_raw(i)
                    .map_err(|e| CliError::file(path, format!("corrupt archive: {e}")))?
                    .name()
                    .to_string();
                if !seen.insert(name.clone()) {
                    let array = name.strip_suffix(".npy").unwrap_or(&name);
                    return Err(CliError::array(
                        path,
                        array,
                        "appears twice in the archive (refusing to guess which one is meant)",
                    ));
                }
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            archive,
        })
    }

    /// Names of the arrays in the archive.
    pub fn names(&self) -> Vec<String> {
        self.archive.array_names().map(str::to_string).collect()
    }

    /// Reads array `name`, `None` if the archive has no such array.
    ///
    /// # Errors
    /// As [`parse_matrix`]; corrupt zip entries.
    pub fn matrix(&mut self, name: &str, dims: Dims) -> Result<Option<AnyMat>> {
        let entry = npyz::npz::file_name_from_array_name(name);
        let zip = self.archive.zip_archive();
        let mut file = match zip.by_name(&entry) {
            Ok(f) => f,
            Err(npyz::zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => {
                return Err(CliError::array(
                    &self.path,
                    name,
                    format!("corrupt archive entry: {e}"),
                ));
            }
        };
        let bytes = read_entry(&mut file, (self.path.as_path(), name))?;
        parse_matrix(&self.path, name, &bytes, dims).map(Some)
    }
}

/// Reads one `.npy` entry of an archive in bounded pieces: first the preamble and header, then
/// exactly the data bytes the header's shape and dtype call for, plus one byte to detect trailing
/// data. A compressed entry that inflates to far more than its header declares (a "zip bomb") is
/// therefore refused after reading one byte past the declared data, and the declared data must fit
/// the memory limit before it is read.
///
/// # Errors
/// Corrupt entries, headers as in [`parse_matrix`], data larger than the memory limit. Shapes and
/// trailing bytes are judged by [`parse_matrix`] on the bytes returned.
pub fn read_entry(entry: &mut impl Read, (file, name): (&Path, &str)) -> Result<Vec<u8>> {
    let err = |problem: String| CliError::array(file, name, problem);
    let corrupt = |e: io::Error| err(format!("corrupt archive entry: {e}"));
    let mut bytes = Vec::new();
    // Preamble: magic (6), version (2), header length (2 for version 1, else 4).
    entry
        .by_ref()
        .take(10)
        .read_to_end(&mut bytes)
        .map_err(corrupt)?;
    if matches!(bytes.get(6), Some(2 | 3)) {
        entry
            .by_ref()
            .take(2)
            .read_to_end(&mut bytes)
            .map_err(corrupt)?;
    }
    let (start, len) = header_span(&bytes).map_err(err)?;
    entry
        .by_ref()
        .take((start + len - bytes.len()) as u64)
        .read_to_end(&mut bytes)
        .map_err(corrupt)?;
    let end = header_end(&bytes).map_err(err)?;
    let header = NpyHeader::from_reader(&mut Cursor::new(&bytes[..end]))
        .map_err(|e| err(format!("unreadable .npy header: {e}")))?;
    let elem: u128 = match header.dtype() {
        DType::Plain(ts) => u128::from(ts.size_field()),
        _ => 0,
    };
    let count: u128 = header
        .shape()
        .iter()
        .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)))
        .unwrap_or(u128::MAX);
    let data = count.saturating_mul(elem);
    crate::resources::check_memory(&format!("array {name} of {}", file.display()), data)
        .map_err(|e| err(e.to_string()))?;
    let present = bytes.len() - end;
    let want = (data as u64)
        .saturating_sub(present as u64)
        .saturating_add(1);
    entry.take(want).read_to_end(&mut bytes).map_err(corrupt)?;
    Ok(bytes)
}

/// The index $k$ of a weight array named `Wk` ($k\ge1$, no leading zeros).
fn weight_index(name: &str) -> Option<usize> {
    let digits = name.strip_prefix('W')?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads the weights `W1..WN` of an `.npz` archive (see the module documentation).
///
/// # Errors
/// Unreadable file or archive, no `W1`, a gap in `W1..WN`, unsupported dtypes or shapes,
/// layers that do not compose, non-finite entries.
pub fn read_weights(path: &Path) -> Result<AnyNetwork> {
    weights_from(path, Npz::open(path)?)
}

/// [`read_weights`] on the bytes of an archive held in memory (the body of the fuzz target);
/// `path` only labels errors.
///
/// # Errors
/// As [`read_weights`].
pub fn weights_from_bytes(path: &Path, bytes: Vec<u8>) -> Result<AnyNetwork> {
    weights_from(path, Npz::from_bytes(path, bytes)?)
}

/// [`read_weights`] on an archive already opened (e.g. with [`Npz::from_bytes`]); `path` only
/// labels errors.
///
/// # Errors
/// As [`read_weights`].
pub fn weights_from(path: &Path, mut npz: Npz) -> Result<AnyNetwork> {
    let names = npz.names();
    let mut indices: Vec<usize> = names.iter().filter_map(|n| weight_index(n)).collect();
    indices.sort_unstable();
    let Some(&depth) = indices.last() else {
        let found = if names.is_empty() {
            "it is empty".to_string()
        } else {
            format!("it has {}", names.join(", "))
        };
        return Err(CliError::array(
            path,
            "W1",
            format!("missing: expected weights W1..WN (W1 = input layer), {found}"),
        ));
    };
    if let Some(k) = (1..=depth).find(|k| indices.binary_search(k).is_err()) {
        return Err(CliError::array(
            path,
            &format!("W{k}"),
            format!("missing while W{depth} is present (expected W1..W{depth})"),
        ));
    }
    let mut layers = Vec::with_capacity(depth);
    for k in 1..=depth {
        let name = format!("W{k}");
        let m = npz
            .matrix(&name, Dims::Matrix)?
            .ok_or_else(|| CliError::array(path, &name, "missing"))?;
        // One rule for every command (train refuses width 0 as well): a layer with no rows
        // or no columns is refused; it would make X = 0 by shape alone and leave the moments'
        // gap undefined.
        let (r, c) = m.shape();
        if r == 0 || c == 0 {
            return Err(CliError::array(
                path,
                &name,
                format!(
                    "has shape {r}×{c}: zero-width layers are not supported (every width must be ≥ 1)"
                ),
            ));
        }
        layers.push(m);
    }
    if layers.iter().any(AnyMat::is_complex) {
        let layers = layers.into_iter().map(AnyMat::into_complex).collect();
        Network::new(layers)
            .map(AnyNetwork::Complex)
            .map_err(|e| CliError::from_algebra(path, e))
    } else {
        let layers = layers
            .into_iter()
            .map(|m| match m {
                AnyMat::Real(m) => m,
                AnyMat::Complex(_) => unreachable!("complex layers were promoted above"),
            })
            .collect();
        Network::new(layers)
            .map(AnyNetwork::Real)
            .map_err(|e| CliError::from_algebra(path, e))
    }
}

/// Continuous or discrete time of a linear system read from disk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeDomain {
    /// $\dot x = Ax + Bu$.
    Continuous,
    /// $x_{k+1} = Ax_k + Bu_k$ with sampling time `dt`.
    Discrete {
        /// Sampling time $h>0$.
        dt: f64,
    },
}

impl TimeDomain {
    /// `"continuous"` or `"discrete"`, as in `meta.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Continuous => "continuous",
            Self::Discrete { .. } => "discrete",
        }
    }

    /// The sampling time of a discrete system.
    pub fn dt(self) -> Option<f64> {
        match self {
            Self::Continuous => None,
            Self::Discrete { dt } => Some(dt),
        }
    }
}

/// The fields of `meta.json` that matter here; all others are ignored.
#[derive(Debug, Deserialize)]
struct Meta {
    time: Option<String>,
    dt: Option<f64>,
}

/// A linear system $(A,B,C,D)$ as read from disk, before validation by `dln-systems`.
#[derive(Debug, Clone)]
pub struct RawSystem {
    /// Where it came from (directory or `.npz`).
    pub source: PathBuf,
    /// Path to name in errors about array `name` (`DIR/A.npy` or the `.npz`).
    files: [PathBuf; 4],
    /// $A$, $B$, $C$, $D$ (all real or all complex).
    pub a: AnyMat,
    /// $B$.
    pub b: AnyMat,
    /// $C$.
    pub c: AnyMat,
    /// $D$ (zero when the input had none).
    pub d: AnyMat,
    /// Continuous or discrete time.
    pub time: TimeDomain,
    /// The first array stored as `complex128`.
    complex_in_file: Option<&'static str>,
}

impl RawSystem {
    /// The file that holds array `name` (`"A"`, `"B"`, `"C"` or `"D"`), for error messages.
    pub fn file_of(&self, name: &str) -> &Path {
        match name {
            "A" => &self.files[0],
            "B" => &self.files[1],
            "C" => &self.files[2],
            "D" => &self.files[3],
            _ => &self.source,
        }
    }

    /// An error about array `name` of this system.
    pub fn error(&self, name: &str, problem: impl std::fmt::Display) -> CliError {
        CliError::array(self.file_of(name), name, problem)
    }

    /// `true` when any matrix is complex.
    pub fn is_complex(&self) -> bool {
        [&self.a, &self.b, &self.c, &self.d]
            .iter()
            .any(|m| m.is_complex())
    }

    /// The first array that was stored as `complex128` (before promotion), if any.
    pub fn complex_array(&self) -> Option<&'static str> {
        self.complex_in_file
    }
}

fn check_dt(file: &Path, what: &str, dt: f64) -> Result<f64> {
    if dt.is_finite() && dt > 0.0 {
        Ok(dt)
    } else {
        Err(CliError::array(
            file,
            what,
            format!("sampling time must be finite and positive, got {dt}"),
        ))
    }
}

/// Reads a linear system from a directory or an `.npz` archive (see the module documentation).
/// `discrete` is `Some(dt)` when the command line says `--discrete [--dt h]` (`dt` defaulting to 1).
///
/// # Errors
/// Missing `A`, `B` or `C`, unreadable files, unsupported dtypes, a bad `meta.json`, empty
/// systems, inconsistent shapes, non-finite entries.
pub fn read_system(path: &Path, discrete: Option<f64>) -> Result<RawSystem> {
    let (files, mats, mut time) = if path.is_dir() {
        let files = ["A", "B", "C", "D"].map(|n| path.join(format!("{n}.npy")));
        let mut mats = Vec::with_capacity(4);
        for (name, (file, dims)) in ["A", "B", "C", "D"].iter().zip(files.iter().zip([
            Dims::Matrix,
            Dims::Column,
            Dims::Row,
            Dims::Scalar,
        ])) {
            if !file.exists() {
                if *name == "D" {
                    mats.push(None);
                    continue;
                }
                return Err(CliError::array(
                    file,
                    name,
                    "missing (a system directory needs A.npy, B.npy, C.npy and D.npy)",
                ));
            }
            mats.push(Some(parse_matrix(file, name, &read_bytes(file)?, dims)?));
        }
        let meta_path = path.join("meta.json");
        let time = if meta_path.exists() {
            let text = String::from_utf8(read_bytes(&meta_path)?)
                .map_err(|_| CliError::file(&meta_path, "invalid JSON: not UTF-8 text"))?;
            let meta: Meta = serde_json::from_str(&text)
                .map_err(|e| CliError::file(&meta_path, format!("invalid JSON: {e}")))?;
            match meta.time.as_deref() {
                None | Some("continuous") => TimeDomain::Continuous,
                Some("discrete") => TimeDomain::Discrete {
                    dt: check_dt(&meta_path, "dt", meta.dt.unwrap_or(1.0))?,
                },
                Some(other) => {
                    return Err(CliError::array(
                        &meta_path,
                        "time",
                        format!("must be \"continuous\" or \"discrete\", got {other:?}"),
                    ));
                }
            }
        } else {
            TimeDomain::Continuous
        };
        (files, mats, time)
    } else {
        let mut npz = Npz::open(path)?;
        let mut mats = Vec::with_capacity(4);
        for (name, dims) in
            ["A", "B", "C", "D"]
                .iter()
                .zip([Dims::Matrix, Dims::Column, Dims::Row, Dims::Scalar])
        {
            let m = npz.matrix(name, dims)?;
            if m.is_none() && *name != "D" {
                return Err(CliError::array(
                    path,
                    name,
                    format!(
                        "missing (a system archive needs arrays A, B, C, D; it has {})",
                        npz.names().join(", ")
                    ),
                ));
            }
            mats.push(m);
        }
        (
            std::array::from_fn(|_| path.to_path_buf()),
            mats,
            TimeDomain::Continuous,
        )
    };
    if let Some(dt) = discrete {
        time = TimeDomain::Discrete {
            dt: check_dt(path, "--dt", dt)?,
        };
    }
    let mut it = mats.into_iter();
    let (Some(Some(a)), Some(Some(b)), Some(Some(c)), Some(d)) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        unreachable!("A, B and C were checked to be present")
    };
    let (n, n2) = a.shape();
    if n != n2 {
        return Err(CliError::array(
            &files[0],
            "A",
            format!("must be square, is {n}×{n2}"),
        ));
    }
    // n = 0 is a valid system (a constant transfer function G = D, e.g. what `dln minreal`
    // writes): A is 0×0, B 0×m and C p×0 carry m and p (checked below like any other shape).
    let (bn, m) = b.shape();
    if bn != n {
        return Err(CliError::array(
            &files[1],
            "B",
            format!("has {bn} rows but A is {n}×{n} (B must be n×m)"),
        ));
    }
    if m == 0 {
        return Err(CliError::array(
            &files[1],
            "B",
            format!("has no columns (shape {n}×0): the system has no inputs"),
        ));
    }
    let (p, cn) = c.shape();
    if cn != n {
        return Err(CliError::array(
            &files[2],
            "C",
            format!("has {cn} columns but A is {n}×{n} (C must be p×n)"),
        ));
    }
    if p == 0 {
        return Err(CliError::array(
            &files[2],
            "C",
            format!("has no rows (shape 0×{n}): the system has no outputs"),
        ));
    }
    let d = match d {
        Some(d) => {
            if d.shape() != (p, m) {
                let (r, k) = d.shape();
                return Err(CliError::array(
                    &files[3],
                    "D",
                    format!("is {r}×{k} but C has {p} rows and B {m} columns (D must be p×m)"),
                ));
            }
            d
        }
        None => AnyMat::Real(Mat::zeros(p, m)),
    };
    let complex_in_file = ["A", "B", "C", "D"]
        .into_iter()
        .zip([&a, &b, &c, &d])
        .find(|(_, m)| m.is_complex())
        .map(|(n, _)| n);
    let mut sys = RawSystem {
        source: path.to_path_buf(),
        files,
        a,
        b,
        c,
        d,
        time,
        complex_in_file,
    };
    if sys.is_complex() {
        sys.a = AnyMat::Complex(sys.a.into_complex());
        sys.b = AnyMat::Complex(sys.b.into_complex());
        sys.c = AnyMat::Complex(sys.c.into_complex());
        sys.d = AnyMat::Complex(sys.d.into_complex());
    }
    Ok(sys)
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// The directory that will hold `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Why an existing `path` may not be replaced by an output file, if it may not: `--out` writes
/// only regular files. A symbolic link is refused rather than replaced or written through (a
/// link loop included), so that neither the link nor whatever it points to is changed behind the
/// user's back; devices, FIFOs and sockets are refused so that e.g. `--out /dev/null` never
/// replaces a special file.
fn refuse_target(path: &Path, want_dir: bool) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    let t = meta.file_type();
    if t.is_symlink() {
        return Some(
            "cannot write: is a symbolic link (refusing to replace it; name its target instead)"
                .to_string(),
        );
    }
    if want_dir {
        return (!t.is_dir()).then(|| "cannot write: exists and is not a directory".to_string());
    }
    if t.is_dir() {
        return Some("cannot write: is a directory".to_string());
    }
    if !t.is_file() {
        return Some(format!(
            "cannot write: is a {} (--out writes only regular files)",
            file_kind(&meta)
        ));
    }
    None
}

/// Checks, before any work is done, that an output file can be created at `path`: its
/// directory exists, and `path` is absent or a regular file (see [`refuse_target`]).
///
/// # Errors
/// Missing parent directory; `path` is a directory, a symbolic link or a special file.
pub fn check_output_file(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(CliError::file(
            path,
            format!("cannot write: directory {} does not exist", dir.display()),
        ));
    }
    if let Some(why) = refuse_target(path, false) {
        return Err(CliError::file(path, why));
    }
    Ok(())
}

/// Files that a system directory written by [`write_system_dir`] holds.
const SYSTEM_FILES: [&str; 5] = ["A.npy", "B.npy", "C.npy", "D.npy", "meta.json"];

/// Checks, before any work is done, that an output system directory can be created at `path`:
/// its parent exists, and `path` is absent, empty, or a system directory (which is replaced).
///
/// # Errors
/// Missing parent; `path` is a file or a directory holding other files.
pub fn check_output_dir(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(CliError::file(
            path,
            format!("cannot write: directory {} does not exist", dir.display()),
        ));
    }
    if let Some(why) = refuse_target(path, true) {
        return Err(CliError::file(path, why));
    }
    if path.exists() {
        let entries = fs::read_dir(path)
            .map_err(|e| CliError::file(path, format!("cannot read: {}", io_reason(&e))))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| CliError::file(path, format!("cannot read: {}", io_reason(&e))))?;
            let name = entry.file_name();
            if !SYSTEM_FILES.iter().any(|f| name == *f) {
                return Err(CliError::file(
                    path,
                    format!(
                        "cannot write: directory exists and holds {} (refusing to replace it)",
                        name.to_string_lossy()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}
#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Writes `path` atomically: `write` fills a temporary file in the same directory, which is
/// staged and renamed to `path` by [`commit_outputs`] once the whole command has succeeded (see
/// [`crate::staging`]). On any error the temporary file is removed and `path` is untouched.
///
/// # Errors
/// Whatever `write` returns, and I/O failures (reported against `path`).
pub fn write_file_atomic(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> io::Result<()>,
) -> Result<()> {
    check_output_file(path)?;
    let fail = |e: io::Error| CliError::file(path, format!("cannot write: {}", io_reason(&e)));
    let mut tmp = staging::temp_file(&parent_dir(path)).map_err(fail)?;
    let tmp_path = tmp.path().to_path_buf();
    let written = write(tmp.as_file_mut())
        .and_then(|()| tmp.as_file_mut().flush())
        .and_then(|()| tmp.as_file_mut().sync_all())
        .and_then(|()| set_mode(&tmp_path, 0o644));
    if let Err(e) = written {
        drop(tmp);
        staging::forget(&tmp_path);
        return Err(fail(e));
    }
    let kept = tmp.into_temp_path().keep().map_err(|e| fail(e.error))?;
    staging::stage(kept, path.to_path_buf());
    Ok(())
}

/// Writes a directory atomically: `write` fills a temporary directory next to `path`, which is
/// staged and renamed to `path` by [`commit_outputs`] (replacing an existing system directory,
/// see [`check_output_dir`]).
///
/// # Errors
/// Whatever `write` returns, and I/O failures (reported against `path`).
pub fn write_dir_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    check_output_dir(path)?;
    let fail = |e: io::Error| CliError::file(path, format!("cannot write: {}", io_reason(&e)));
    let tmp = staging::temp_dir(&parent_dir(path)).map_err(fail)?;
    let written = write(&tmp).and_then(|()| set_mode(&tmp, 0o755).map_err(fail));
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&tmp);
        staging::forget(&tmp);
        return Err(e);
    }
    staging::stage(tmp, path.to_path_buf());
    Ok(())
}

/// Renames every output staged by this run into place (called by `main` after the command and
/// its report succeeded). Each target is checked again right before its rename.
///
/// # Errors
/// A target that became a symbolic link, special file or non-system directory during the run,
/// or a failed rename; nothing further is committed and all temporaries are removed.
pub fn commit_outputs() -> Result<()> {
    staging::commit(|target, dir| {
        if dir {
            check_output_dir(target).map_err(|e| e.problem().to_string())
        } else {
            refuse_target(target, false).map_or(Ok(()), Err)
        }
    })
    .map_err(|(target, e)| CliError::file(&target, e))
}

/// Row-major entries of `m`, as `.npy` stores a C-order array.
fn row_major<T: Scalar>(m: MatRef<'_, T>) -> impl Iterator<Item = T> + '_ {
    (0..m.nrows()).flat_map(move |i| (0..m.ncols()).map(move |j| m[(i, j)]))
}

fn write_npy_to<T: Element, W: Write>(w: W, m: MatRef<'_, T>) -> io::Result<()> {
    let mut out = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(&[m.nrows() as u64, m.ncols() as u64])
        .writer(w)
        .begin_nd()?;
    out.extend(row_major(m))?;
    out.finish()
}

/// Writes `m` to the `.npy` file `path` (C order, dtype `float64` or `complex128`), atomically.
///
/// # Errors
/// I/O failures.
pub fn write_npy<T: Element>(path: &Path, m: MatRef<'_, T>) -> Result<()> {
    write_file_atomic(path, |f| {
        let mut w = io::BufWriter::new(f);
        write_npy_to(&mut w, m)?;
        w.flush()
    })
}

/// Writes named matrices to an `.npz` archive (uncompressed, as `numpy.savez`), atomically.
///
/// # Errors
/// I/O failures.
pub fn write_npz<T: Element>(path: &Path, arrays: &[(String, MatRef<'_, T>)]) -> Result<()> {
    write_file_atomic(path, |f| {
        let mut npz = npyz::npz::NpzWriter::new(io::BufWriter::new(f));
        let options = npyz::zip::write::FileOptions::default()
            .compression_method(npyz::zip::CompressionMethod::Stored);
        for (name, m) in arrays {
            let mut out = npz
                .array::<T>(name, options)?
                .default_dtype()
                .shape(&[m.nrows() as u64, m.ncols() as u64])
                .begin_nd()?;
            out.extend(row_major(*m))?;
            out.finish()?;
        }
        let mut w = npz.zip_writer().finish().map_err(io::Error::other)?;
        w.flush()
    })
}

/// Writes the weights of `net` as arrays `W1..WN` of an `.npz` archive, atomically.
///
/// # Errors
/// I/O failures.
pub fn write_weights<T: Element>(path: &Path, net: &Network<T>) -> Result<()> {
    let arrays: Vec<(String, MatRef<'_, T>)> = net
        .layers()
        .iter()
        .enumerate()
        .map(|(k, w)| (format!("W{}", k + 1), w.as_ref()))
        .collect();
    write_npz(path, &arrays)
}

/// Writes a system directory `A.npy, B.npy, C.npy, D.npy, meta.json` atomically. `meta` is
/// extended with `time`, `dt` (discrete only), `n`, `m`, `p`.
///
/// # Errors
/// I/O failures.
pub fn write_system_dir<T: Element>(
    path: &Path,
    [a, b, c, d]: [MatRef<'_, T>; 4],
    time: TimeDomain,
    mut meta: serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    meta.insert("kind".into(), "system".into());
    meta.insert("n".into(), a.nrows().into());
    meta.insert("m".into(), b.ncols().into());
    meta.insert("p".into(), c.nrows().into());
    meta.insert("time".into(), time.name().into());
    if let Some(dt) = time.dt() {
        meta.insert("dt".into(), dt.into());
    }
    write_dir_atomic(path, |dir| {
        let fail = |e: io::Error| CliError::file(path, format!("cannot write: {}", io_reason(&e)));
        for (name, m) in ["A", "B", "C", "D"].iter().zip([a, b, c, d]) {
            let f = fs::File::create(dir.join(format!("{name}.npy"))).map_err(fail)?;
            let mut w = io::BufWriter::new(f);
            write_npy_to(&mut w, m).map_err(fail)?;
            w.flush().map_err(fail)?;
        }
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(meta))
            .map_err(|e| fail(io::Error::other(e)))?;
        fs::write(dir.join("meta.json"), text + "\n").map_err(fail)
    })
}

#[cfg(test)]
mod tests {
    //! The reader driven in-process on mutated `.npy`/`.npz` bytes: every mutation must give a
    //! clean error or the right answer, never a panic, and never an allocation beyond what the
    //! bytes can justify.

    use super::*;
    use proptest::prelude::*;

    fn npy(m: MatRef<'_, f64>) -> Vec<u8> {
        let mut v = Vec::new();
        write_npy_to(&mut v, m).unwrap();
        v
    }

    fn npz(arrays: &[(&str, Vec<u8>)], compressed: bool) -> Vec<u8> {
        let mut zip = npyz::zip::ZipWriter::new(Cursor::new(Vec::new()));
        let method = if compressed {
            npyz::zip::CompressionMethod::Deflated
        } else {
            npyz::zip::CompressionMethod::Stored
        };
        let opts = npyz::zip::write::FileOptions::default().compression_method(method);
        for (name, bytes) in arrays {
            zip.start_file(format!("{name}.npy"), opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn sample() -> (Mat<f64>, Mat<f64>) {
        (
            Mat::from_fn(3, 2, |i, j| (i as f64) - 0.5 * (j as f64) + 0.25),
            Mat::from_fn(2, 3, |i, j| (i * 3 + j) as f64 - 2.0),
        )
    }

    /// The same matrix, entry for entry (the reader must not change a single bit).
    fn same(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> bool {
        a.shape() == b.shape()
            && (0..a.nrows())
                .all(|i| (0..a.ncols()).all(|j| a[(i, j)].to_bits() == b[(i, j)].to_bits()))
    }

    /// One mutation: overwrite, insert, delete or truncate.
    #[derive(Debug, Clone)]
    enum Mutation {
        Set(usize, u8),
        Insert(usize, Vec<u8>),
        Delete(usize, usize),
        Truncate(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
            1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
                .prop_map(|(i, v)| Mutation::Insert(i, v)),
            1 => (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
            1 => any::<usize>().prop_map(Mutation::Truncate),
        ]
    }

    fn apply(bytes: &mut Vec<u8>, ms: &[Mutation]) {
        for m in ms {
            let n = bytes.len().max(1);
            match m {
                Mutation::Set(i, b) => {
                    if let Some(x) = bytes.get_mut(i % n) {
                        *x = *b;
                    }
                }
                Mutation::Insert(i, v) => {
                    let at = i % (bytes.len() + 1);
                    bytes.splice(at..at, v.iter().copied());
                }
                Mutation::Delete(i, k) => {
                    let at = i % n;
                    let end = (at + k).min(bytes.len());
                    if at < end {
                        bytes.drain(at..end);
                    }
                }
                Mutation::Truncate(i) => bytes.truncate(i % n),
            }
        }
    }

    fn read_archive(bytes: Vec<u8>) -> Result<AnyNetwork> {
        weights_from_bytes(Path::new("fuzz.npz"), bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("DLN_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512)
        ))]

        /// Mutated `.npy` bytes: a clean error, or the original matrix when the mutation kept
        /// the array's meaning (e.g. a changed padding space).
        #[test]
        fn mutated_npy_never_panics(ms in proptest::collection::vec(mutation(), 1..4)) {
            let (a, _) = sample();
            let mut bytes = npy(a.as_ref());
            apply(&mut bytes, &ms);
            match parse_matrix(Path::new("m.npy"), "A", &bytes, Dims::Matrix) {
                Err(e) => prop_assert!(!e.to_string().contains('\n')),
                Ok(AnyMat::Real(m)) => {
                    // Accepted: the shape must account for every data byte.
                    let end = header_end(&bytes).unwrap();
                    prop_assert_eq!(bytes.len() - end, 8 * m.nrows() * m.ncols());
                }
                Ok(AnyMat::Complex(m)) => {
                    let end = header_end(&bytes).unwrap();
                    prop_assert_eq!(bytes.len() - end, 16 * m.nrows() * m.ncols());
                }
            }
        }

        /// Mutated `.npz` bytes (stored and deflated): a clean error or the original weights.
        #[test]
        fn mutated_npz_never_panics(
            ms in proptest::collection::vec(mutation(), 1..4),
            compressed in any::<bool>(),
        ) {
            let (a, b) = sample();
            let mut bytes = npz(&[("W1", npy(a.as_ref())), ("W2", npy(b.as_ref()))], compressed);
            apply(&mut bytes, &ms);
            if let Ok(AnyNetwork::Real(net)) = read_archive(bytes) {
                // Only mutations the zip CRC and the .npy header cannot see survive. A mutated
                // entry name may drop `W2` (a valid one-layer archive remains), but every layer
                // read must be the original one of its index: the CRC guards the data.
                let l = net.layers();
                prop_assert!(!l.is_empty() && l.len() <= 2);
                prop_assert!(same(l[0].as_ref(), a.as_ref()));
                if l.len() == 2 {
                    prop_assert!(same(l[1].as_ref(), b.as_ref()));
                }
            }
        }
    }

    #[test]
    fn valid_bytes_read_back_exactly() {
        let (a, b) = sample();
        for compressed in [false, true] {
            let bytes = npz(
                &[("W1", npy(a.as_ref())), ("W2", npy(b.as_ref()))],
                compressed,
            );
            match read_archive(bytes) {
                Ok(AnyNetwork::Real(net)) => {
                    assert!(same(net.layers()[0].as_ref(), a.as_ref()));
                    assert!(same(net.layers()[1].as_ref(), b.as_ref()));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn header_length_fields_are_checked_before_allocating() {
        let (a, _) = sample();
        let v1 = npy(a.as_ref());
        let mut v2 = b"\x93NUMPY\x02\x00\xff\xff\xff\xff".to_vec();
        v2.extend_from_slice(&v1[10..]);
        let e = parse_matrix(Path::new("m.npy"), "A", &v2, Dims::Matrix).unwrap_err();
        assert!(e.to_string().contains("4294967295"), "{e}");
        let bytes = npz(&[("W1", v2)], true);
        let e = read_archive(bytes).unwrap_err();
        assert!(e.to_string().contains("W1"), "{e}");
    }
}
