//! Reference problems for the tests, benchmarks and `cargo xtask verify` of the workspace
//! (feature `reference`, off by default: a library user compiles none of this).
//!
//! - [`RandomStable`]: seeded random stable systems, continuous and discrete time, real or
//!   complex. The one generator behind every random stable model of the tests, benches and
//!   theorem checks.
//! - [`load_system`], [`read_npy`]: the model directories of `testdata/lti` (and of the shared
//!   collection named by `$DLN_SHARED_LTI`, see [`shared_model_dir`]): `A.npy B.npy C.npy
//!   [D.npy] [meta.json]`, float64.
//!
//! This is the one place of the library that reads files. The program's reader of user data
//! (`dln-cli`'s `io.rs`, with its size limits and one-line errors) is a separate, stricter piece;
//! this loader serves data that ships with the repository.
//!
//! # Random stable systems
//! From a Gaussian matrix $G = \mathrm{randn}(n, n)$, optionally normalized to $M = G/\sqrt n$
//! (eigenvalues of order one for every $n$; without it $M = G$), the state matrix is
//! $$A = M - \bigl(\max\operatorname{Re}\lambda(M) + \delta\bigr)I
//! \quad\text{(continuous time: } \max\operatorname{Re}\lambda(A) = -\delta\text{)},\qquad
//! A = \frac{\rho}{\rho(M)}\,M \quad\text{(discrete time: spectral radius } \rho\text{)}.$$
//! The normalized continuous class with $\delta = 1$ is the "shifted randn" class of issue 9
//! (`tests/dense_random_hsv.rs`). The draws are, in this order, $G$, $B = \mathrm{randn}(n,m)$,
//! $C = \mathrm{randn}(p,n)$ and, when a feedthrough scale $d$ is set, $D = d\cdot\mathrm{randn}(p,m)$
//! ($D = 0$ otherwise, nothing drawn): a seed fixes the system.
//!
//! # Model directories
//! `A.npy` ($n\times n$), `B.npy`, `C.npy`, optional `D.npy` (zero if absent): little-endian
//! float64 `.npy` arrays, C or Fortran order, 1-D arrays read as columns and turned to fit $n$
//! ($B$ $n\times m$, $C$ $p\times n$, $D$ $p\times m$). `meta.json` gives the sampling:
//! `"time": "discrete"` with `"dt"` (1 if absent) makes a discrete-time system; anything else,
//! or no `meta.json`, a continuous-time one. Only these two keys are read (the other fields and
//! the result files are the tests' business).

use crate::model::{Sampling, StateSpace};
use crate::{Result, SystemsError};
use dln_linalg::{Scalar, c64, random};
use faer::Mat;
use rand::Rng;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the spectrum of a random stable matrix is placed (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spectrum {
    /// Continuous time: $A = M - (\max\operatorname{Re}\lambda(M) + \delta)I$, so that
    /// $\max\operatorname{Re}\lambda(A) = -\delta$.
    Shifted {
        /// The stability margin $\delta > 0$.
        margin: f64,
    },
    /// Discrete time: $A = (\rho/\rho(M))\,M$, so that the spectral radius of $A$ is $\rho$.
    Scaled {
        /// The spectral radius $\rho\in(0, 1)$.
        radius: f64,
    },
}

/// A class of seeded random stable systems $(A, B, C, D)$ of order $n$ with $m$ inputs and $p$
/// outputs (module docs: the formulas and the order of the draws).
///
/// # Example
/// ```
/// use dln_linalg::random;
/// use dln_systems::gramian::hankel_singular_values;
/// use dln_systems::reference::RandomStable;
/// let class = RandomStable::continuous(40, 2, 3, 1.0).normalized();
/// let sys = class.system(&mut random::rng(7)).unwrap();
/// assert_eq!((sys.order(), sys.inputs(), sys.outputs()), (40, 2, 3));
/// assert!(hankel_singular_values(&sys).unwrap()[0] > 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomStable {
    /// Order $n$.
    pub n: usize,
    /// Inputs $m$ (columns of $B$).
    pub m: usize,
    /// Outputs $p$ (rows of $C$).
    pub p: usize,
    /// Continuous (shifted) or discrete (scaled) time.
    pub spectrum: Spectrum,
    /// $M = G/\sqrt n$ instead of $M = G$.
    pub normalized: bool,
    /// $D = d\cdot\mathrm{randn}(p, m)$ for `Some(d)` (drawn after $C$, also for $d = 0$); $D = 0$
    /// and no draw for `None`.
    pub feedthrough: Option<f64>,
    /// Sampling time of a discrete-time [`system`](Self::system) ($1$ unless set).
    pub dt: f64,
}

impl RandomStable {
    /// The continuous-time class with $\max\operatorname{Re}\lambda(A) = -\delta$, $M = G$,
    /// $D = 0$.
    pub fn continuous(n: usize, m: usize, p: usize, margin: f64) -> Self {
        Self {
            n,
            m,
            p,
            spectrum: Spectrum::Shifted { margin },
            normalized: false,
            feedthrough: None,
            dt: 1.0,
        }
    }

    /// The discrete-time class with spectral radius $\rho$, $M = G$, $D = 0$, sampling time 1.
    pub fn discrete(n: usize, m: usize, p: usize, radius: f64) -> Self {
        Self {
            spectrum: Spectrum::Scaled { radius },
            ..Self::continuous(n, m, p, 0.0)
        }
    }

    /// The same class with $M = G/\sqrt n$.
    pub fn normalized(self) -> Self {
        Self {
            normalized: true,
            ..self
        }
    }

    /// The same class with $D = d\cdot\mathrm{randn}(p, m)$.
    pub fn with_feedthrough(self, d: f64) -> Self {
        Self {
            feedthrough: Some(d),
            ..self
        }
    }

    /// The same class with sampling time $h$ (discrete time).
    pub fn with_dt(self, dt: f64) -> Self {
        Self { dt, ..self }
    }

    /// Draws the state matrix $A$ only (one Gaussian $n\times n$ draw), real or complex.
    ///
    /// # Errors
    /// [`SystemsError::NoConvergence`] if the eigenvalues of $M$ cannot be computed.
    pub fn matrix<T: Scalar, R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Mat<T>> {
        let n = self.n;
        let g: Mat<T> = random::gaussian(rng, n, n);
        let m = if self.normalized {
            let s = T::from_f64((n as f64).sqrt());
            Mat::from_fn(n, n, |i, j| g[(i, j)] / s)
        } else {
            g
        };
        if n == 0 {
            return Ok(m);
        }
        let ev: Vec<c64> = m.eigenvalues().map_err(|_| SystemsError::NoConvergence {
            what: "eigenvalues (QR algorithm)",
            iterations: 0,
        })?;
        Ok(match self.spectrum {
            Spectrum::Shifted { margin } => {
                let mr = ev.iter().map(|l| l.re).fold(f64::NEG_INFINITY, f64::max);
                let shift = T::from_f64(mr + margin);
                Mat::from_fn(
                    n,
                    n,
                    |i, j| {
                        if i == j { m[(i, j)] - shift } else { m[(i, j)] }
                    },
                )
            }
            Spectrum::Scaled { radius } => {
                let rho = ev.iter().map(|l| l.norm()).fold(0.0, f64::max);
                let f = T::from_f64(radius / rho);
                Mat::from_fn(n, n, |i, j| m[(i, j)] * f)
            }
        })
    }

    /// Draws $(A, B, C)$, real or complex.
    ///
    /// # Errors
    /// As [`matrix`](Self::matrix).
    pub fn triple<T: Scalar, R: Rng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<(Mat<T>, Mat<T>, Mat<T>)> {
        let a = self.matrix(rng)?;
        let b = random::gaussian(rng, self.n, self.m);
        let c = random::gaussian(rng, self.p, self.n);
        Ok((a, b, c))
    }

    /// Draws the real system $(A, B, C, D)$ with its sampling.
    ///
    /// # Errors
    /// As [`matrix`](Self::matrix); [`StateSpace::new`]'s errors for a non-positive `dt`.
    pub fn system<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<StateSpace> {
        let (a, b, c) = self.triple::<f64, R>(rng)?;
        let d = match self.feedthrough {
            Some(s) => {
                let g: Mat<f64> = random::gaussian(rng, self.p, self.m);
                Mat::from_fn(self.p, self.m, |i, j| g[(i, j)] * s)
            }
            None => Mat::zeros(self.p, self.m),
        };
        let sampling = match self.spectrum {
            Spectrum::Shifted { .. } => Sampling::Continuous,
            Spectrum::Scaled { .. } => Sampling::Discrete { dt: self.dt },
        };
        StateSpace::new(a, b, c, d, sampling)
    }
}

/// A file of a model directory that cannot be read: the path and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file (or directory).
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

fn load_error(path: &Path, reason: impl Into<String>) -> LoadError {
    LoadError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// `testdata/lti` of this workspace (the small models that ship with the repository).
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/lti")
}

/// The directory of model `name` in `testdata/lti`.
pub fn testdata_model(name: &str) -> PathBuf {
    testdata_dir().join(name)
}

/// The directory of a large model (`rail_1357`, `iss12a`) of the shared collection named by the
/// environment variable `DLN_SHARED_LTI`; `Err` with the reason to print when skipping (the
/// variable is unset, or the model's `A.npy` is absent). Tests and benches that need these models
/// skip with that message; nothing else reads the variable.
pub fn shared_model_dir(name: &str) -> std::result::Result<PathBuf, String> {
    let base = std::env::var_os("DLN_SHARED_LTI").ok_or_else(|| {
        "DLN_SHARED_LTI is not set (it names the directory of the shared LTI models)".to_string()
    })?;
    let dir = Path::new(&base).join(name);
    if dir.join("A.npy").is_file() {
        Ok(dir)
    } else {
        Err(format!("{} not found", dir.join("A.npy").display()))
    }
}

/// Reads a little-endian float64 `.npy` file (format versions 1–3, C or Fortran order; a 0-D
/// array as $1\times1$, a 1-D array as a column).
///
/// The header is parsed here rather than by a `.npy` crate: `npyz` is a program-only dependency
/// (ARCHITECTURE.md), and faer's reader neither reports the number of dimensions nor checks the
/// data length.
///
/// # Errors
/// [`LoadError`] naming the file: unreadable, not a `.npy` file, another dtype, more than two
/// dimensions, or a data length that does not match the shape.
pub fn read_npy(path: &Path) -> std::result::Result<Mat<f64>, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| load_error(path, e.to_string()))?;
    parse_npy(&bytes).map_err(|why| load_error(path, why))
}

/// The matrix of the bytes of a float64 `.npy` file; `Err` says why not.
fn parse_npy(bytes: &[u8]) -> std::result::Result<Mat<f64>, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (hlen, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let header = bytes
        .get(start..start + hlen)
        .ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not UTF-8")?;
    let field = |key: &str| {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("the .npy header has no '{key}'"))?;
        let rest = header[at + key.len() + 2..].trim_start();
        Ok::<_, String>(rest.strip_prefix(':').unwrap_or(rest).trim_start())
    };
    let descr = field("descr")?;
    if !descr.starts_with("'<f8'") {
        let d = descr.split(',').next().unwrap_or(descr);
        return Err(format!("dtype {d} is not little-endian float64 ('<f8')"));
    }
    let fortran = field("fortran_order")?.starts_with("True");
    let shape = field("shape")?;
    let dims_text = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("unreadable shape in the .npy header")?;
    let dims: Vec<usize> = dims_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| format!("unreadable shape ({dims_text})"))
        })
        .collect::<std::result::Result<_, _>>()?;
    let (r, c) = match dims[..] {
        [] => (1, 1),
        [r] => (r, 1),
        [r, c] => (r, c),
        _ => {
            return Err(format!(
                "{}-dimensional array (expected at most 2 dimensions)",
                dims.len()
            ));
        }
    };
    let data = &bytes[start + hlen..];
    let len = r.checked_mul(c).and_then(|k| k.checked_mul(8));
    if len != Some(data.len()) {
        return Err(format!(
            "{} data bytes for shape ({dims_text}) of float64",
            data.len()
        ));
    }
    let at = |k: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&data[8 * k..8 * k + 8]);
        f64::from_le_bytes(w)
    };
    Ok(Mat::from_fn(r, c, |i, j| {
        if fortran {
            at(i + j * r)
        } else {
            at(i * c + j)
        }
    }))
}

/// The sampling of a model directory from its `meta.json`: `"time": "discrete"` with `"dt"` (1 if
/// absent) is discrete, anything else continuous (module docs).
fn read_sampling(dir: &Path) -> std::result::Result<Sampling, LoadError> {
    let path = dir.join("meta.json");
    if !path.exists() {
        return Ok(Sampling::Continuous);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| load_error(&path, e.to_string()))?;
    match json_value(&text, "time") {
        Some(v) if v.starts_with("\"discrete\"") => {
            let dt = match json_value(&text, "dt") {
                None => 1.0,
                Some(v) => {
                    let num = v
                        .split(|ch: char| ch == ',' || ch == '}' || ch.is_whitespace())
                        .next()
                        .unwrap_or(v);
                    num.parse::<f64>()
                        .map_err(|_| load_error(&path, format!("\"dt\" is not a number: {num}")))?
                }
            };
            Ok(Sampling::Discrete { dt })
        }
        _ => Ok(Sampling::Continuous),
    }
}

/// The text after `"key":` of a flat JSON object (the first occurrence of the key followed by a
/// colon), or `None`.
fn json_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let mut from = 0;
    while let Some(k) = text[from..].find(&quoted) {
        let after = text[from + k + quoted.len()..].trim_start();
        if let Some(v) = after.strip_prefix(':') {
            return Some(v.trim_start());
        }
        from += k + quoted.len();
    }
    None
}

/// Loads the model directory `dir` (module docs: files, orientation of 1-D arrays, sampling).
///
/// # Errors
/// [`LoadError`] naming the file that cannot be read, or the directory when the matrices do not
/// form a valid system (shapes, non-finite entries: [`StateSpace::new`]'s message).
pub fn load_system(dir: &Path) -> std::result::Result<StateSpace, LoadError> {
    let a = read_npy(&dir.join("A.npy"))?;
    let n = a.nrows();
    let b = read_npy(&dir.join("B.npy"))?;
    let c = read_npy(&dir.join("C.npy"))?;
    // A 1-D B or C is read as a column: turn it to fit n.
    let b = if b.nrows() != n && b.ncols() == n {
        b.transpose().to_owned()
    } else {
        b
    };
    let c = if c.ncols() != n && c.nrows() == n {
        c.transpose().to_owned()
    } else {
        c
    };
    let d = if dir.join("D.npy").exists() {
        let d = read_npy(&dir.join("D.npy"))?;
        if d.nrows() != c.nrows() && d.ncols() == c.nrows() {
            d.transpose().to_owned()
        } else {
            d
        }
    } else {
        Mat::zeros(c.nrows(), b.ncols())
    };
    let sampling = read_sampling(dir)?;
    StateSpace::new(a, b, c, d, sampling).map_err(|e| load_error(dir, e.to_string()))
}

#[cfg(test)]
mod tests {
    //! The generator's spectrum and draws, the `.npy` parser on good and bad bytes, and the
    //! loader on a discrete-time model of `testdata/lti`.
    use super::*;

    fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[f64]) -> Vec<u8> {
        let mut header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        for x in data {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    #[test]
    fn spectrum_is_placed_as_documented() {
        for normalized in [false, true] {
            let ct = RandomStable::continuous(30, 2, 3, 0.25);
            let ct = if normalized { ct.normalized() } else { ct };
            let a: Mat<f64> = ct.matrix(&mut random::rng(3)).unwrap();
            let ev = a.eigenvalues().unwrap();
            let mr = ev.iter().map(|l| l.re).fold(f64::NEG_INFINITY, f64::max);
            assert!((mr + 0.25).abs() < 1e-10 * a.norm_l2(), "max Re = {mr}");
            let dt = RandomStable::discrete(30, 2, 3, 0.8);
            let dt = if normalized { dt.normalized() } else { dt };
            let a: Mat<c64> = dt.matrix(&mut random::rng(4)).unwrap();
            let rho = a
                .eigenvalues()
                .unwrap()
                .iter()
                .map(|l| l.norm())
                .fold(0.0, f64::max);
            assert!((rho - 0.8).abs() < 1e-10, "rho = {rho}");
        }
    }

    #[test]
    fn a_seed_fixes_the_system_and_d_is_drawn_last() {
        let class = RandomStable::discrete(8, 2, 3, 0.7).with_dt(0.1);
        let s1 = class.system(&mut random::rng(9)).unwrap();
        let s2 = class
            .with_feedthrough(0.5)
            .system(&mut random::rng(9))
            .unwrap();
        assert_eq!(s1.sampling(), Sampling::Discrete { dt: 0.1 });
        assert!((s1.a() - s2.a()).norm_l2() == 0.0 && (s1.c() - s2.c()).norm_l2() == 0.0);
        assert!(s1.d().norm_l2() == 0.0 && s2.d().norm_l2() > 0.0);
    }

    #[test]
    fn npy_parser_reads_both_orders_and_refuses_bad_files() {
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let c = parse_npy(&npy_bytes("<f8", false, "(2, 3)", &data)).unwrap();
        let f = parse_npy(&npy_bytes("<f8", true, "(2, 3)", &data)).unwrap();
        let same = |x: f64, y: f64| x.to_bits() == y.to_bits();
        assert!(same(c[(0, 1)], 2.0) && same(c[(1, 0)], 4.0));
        assert!(same(f[(0, 1)], 3.0) && same(f[(1, 0)], 2.0));
        let col = parse_npy(&npy_bytes("<f8", false, "(6,)", &data)).unwrap();
        assert_eq!((col.nrows(), col.ncols()), (6, 1));
        let bad = |b: Vec<u8>| parse_npy(&b).unwrap_err();
        assert!(bad(b"PK\x03\x04 not npy".to_vec()).contains("magic"));
        assert!(bad(npy_bytes("<f4", false, "(2, 3)", &data)).contains("float64"));
        assert!(bad(npy_bytes("<f8", false, "(1, 2, 3)", &data)).contains("3-dimensional"));
        assert!(bad(npy_bytes("<f8", false, "(2, 4)", &data)).contains("data bytes"));
    }

    #[test]
    fn loader_reads_the_sampling_from_meta_json() {
        let sys = load_system(&testdata_model("build_dt")).unwrap();
        assert_eq!(sys.sampling(), Sampling::Discrete { dt: 0.2 });
        assert_eq!((sys.order(), sys.inputs(), sys.outputs()), (48, 1, 1));
        let ct = load_system(&testdata_model("build")).unwrap();
        assert_eq!(ct.sampling(), Sampling::Continuous);
        let missing = load_system(&testdata_model("no_such_model")).unwrap_err();
        assert!(missing.path.ends_with("A.npy"), "{missing}");
    }
}
