//! Shared helpers of the `dln` integration tests: writing `.npy`/`.npz` inputs (including
//! deliberately malformed ones), running the binary, and re-reading its outputs.

#![allow(dead_code)] // Each test binary uses a different subset.

use assert_cmd::Command;
use dln::linalg::{Scalar, c64};
use faer::Mat;
use npyz::WriterBuilder;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

/// The `dln` binary.
pub fn dln() -> Command {
    Command::cargo_bin("dln").expect("the dln binary is built by cargo test")
}

/// Row-major entries.
fn row_major<T: Scalar>(m: &Mat<T>) -> Vec<T> {
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)]))
        .collect()
}

/// The bytes of a C-order `.npy` file holding `m`, as `numpy.save` writes it.
pub fn npy_bytes<T: Scalar + npyz::AutoSerialize>(m: &Mat<T>) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(&[m.nrows() as u64, m.ncols() as u64])
        .writer(&mut buf)
        .begin_nd()
        .unwrap();
    w.extend(row_major(m)).unwrap();
    w.finish().unwrap();
    buf
}

/// The bytes of a `.npy` file with an arbitrary header (`descr`, order, shape) and raw data.
pub fn raw_npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// Little-endian bytes of `f64`s.
pub fn f64_bytes(xs: &[f64]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A zip archive (an `.npz`) with the given `(array name, .npy bytes)` entries.
pub fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)], compressed: bool) {
    let f = std::fs::File::create(path).unwrap();
    let mut zip = npyz::zip::ZipWriter::new(f);
    let method = if compressed {
        npyz::zip::CompressionMethod::Deflated
    } else {
        npyz::zip::CompressionMethod::Stored
    };
    let opts = npyz::zip::write::FileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// Writes weights `W1..WN` (input layer first) as `numpy.savez` would.
pub fn write_weights<T: Scalar + npyz::AutoSerialize>(path: &Path, layers: &[Mat<T>]) {
    let entries: Vec<(String, Vec<u8>)> = layers
        .iter()
        .enumerate()
        .map(|(k, w)| (format!("W{}", k + 1), npy_bytes(w)))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    write_zip(path, &refs, false);
}

/// Reads a 2-D C-order array of `.npy` bytes, checking its dtype is `T`'s.
pub fn parse_npy<T: Scalar + npyz::Deserialize>(bytes: &[u8]) -> Mat<T> {
    let npy = npyz::NpyFile::new(Cursor::new(bytes)).unwrap();
    let descr = npy.dtype().descr();
    let want = if T::IS_COMPLEX { "'<c16'" } else { "'<f8'" };
    assert_eq!(descr, want, "output dtype");
    let shape = npy.shape().to_vec();
    assert_eq!(shape.len(), 2, "output must be 2-D");
    assert_eq!(npy.order(), npyz::Order::C);
    let (r, c) = (shape[0] as usize, shape[1] as usize);
    let data: Vec<T> = npy.into_vec().unwrap();
    Mat::from_fn(r, c, |i, j| data[i * c + j])
}

/// Reads a `.npy` file.
pub fn read_npy<T: Scalar + npyz::Deserialize>(path: &Path) -> Mat<T> {
    parse_npy(&std::fs::read(path).unwrap())
}

/// Reads the weights `W1..WN` of an `.npz` written by `dln`, checking their dtype is `T`'s.
pub fn read_weights<T: Scalar + npyz::Deserialize>(path: &Path) -> Vec<Mat<T>> {
    let mut npz = npyz::npz::NpzArchive::open(path).unwrap();
    let n = npz.array_names().filter(|n| n.starts_with('W')).count();
    (1..=n)
        .map(|k| {
            let mut f = npz.zip_archive().by_name(&format!("W{k}.npy")).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            parse_npy(&bytes)
        })
        .collect()
}

/// Runs `dln` with `args`, expects success, and parses its stdout as one JSON object.
pub fn run_json(args: &[&str]) -> serde_json::Value {
    let out = dln().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "dln {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "JSON output must be one line: {text}"
    );
    serde_json::from_str(&text).unwrap()
}

/// Runs `dln` with `args`, expects failure with one stderr line `dln: error: ...` containing
/// every string of `needles`, and returns that line.
pub fn run_fail(args: &[&str], needles: &[&str]) -> String {
    let out = dln().args(args).output().unwrap();
    assert!(!out.status.success(), "dln {args:?} should fail");
    assert_eq!(out.status.code(), Some(1), "dln {args:?}: exit status");
    assert!(
        out.stdout.is_empty(),
        "dln {args:?}: nothing on stdout on failure"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.lines().count(),
        1,
        "dln {args:?}: stderr must be one line: {err}"
    );
    assert!(err.starts_with("dln: error: "), "dln {args:?}: {err}");
    for n in needles {
        assert!(
            err.contains(n),
            "dln {args:?}: stderr {err:?} should mention {n:?}"
        );
    }
    err
}

/// Names of the entries of `dir` (to check that nothing, not even a temporary file, was left).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// $W_N\cdots W_1$.
pub fn product<T: Scalar>(layers: &[Mat<T>]) -> Mat<T> {
    let mut x = layers[0].clone();
    for w in &layers[1..] {
        x = w * &x;
    }
    x
}

/// $\|\mu(\mathbf W)\| = (\sum_k\|W_kW_k^*-W_{k+1}^*W_{k+1}\|_F^2)^{1/2}$, computed here independently.
pub fn moment_norm<T: Scalar>(layers: &[Mat<T>]) -> f64 {
    let mut s = 0.0;
    for k in 0..layers.len() - 1 {
        let g = &layers[k] * layers[k].adjoint() - layers[k + 1].adjoint() * &layers[k + 1];
        s += g.norm_l2().powi(2);
    }
    s.sqrt()
}

/// $\|\mathbf W\|_2^2$.
pub fn l2_norm_sq<T: Scalar>(layers: &[Mat<T>]) -> f64 {
    layers.iter().map(|w| w.norm_l2().powi(2)).sum()
}

/// $N\sum_i\sigma_i(X)^{2/N}$ over the numerically non-zero singular values.
pub fn lower_bound<T: Scalar>(layers: &[Mat<T>]) -> f64 {
    let x = product(layers);
    let s = dln::linalg::singular_values(x.as_ref()).unwrap();
    let top = s.first().copied().unwrap_or(0.0);
    let tol = x.nrows().max(x.ncols()) as f64 * f64::EPSILON * top;
    let n = layers.len() as f64;
    n * s
        .iter()
        .filter(|&&x| x > tol)
        .map(|x| x.powf(2.0 / n))
        .sum::<f64>()
}

/// A seeded random network with the given widths $d_0,\dots,d_N$; with `rank = Some(r)` the
/// second layer has rank $r$ (so $X$ is rank-deficient).
pub fn random_layers<T: Scalar>(seed: u64, widths: &[usize], rank: Option<usize>) -> Vec<Mat<T>> {
    let mut rng = dln::linalg::random::rng(seed);
    (1..widths.len())
        .map(|k| {
            let (r, c) = (widths[k], widths[k - 1]);
            match rank {
                Some(q) if k == 2 || widths.len() == 2 => {
                    let a: Mat<T> = dln::linalg::random::gaussian(&mut rng, r, q);
                    let b: Mat<T> = dln::linalg::random::gaussian(&mut rng, q, c);
                    a * b
                }
                _ => dln::linalg::random::gaussian(&mut rng, r, c),
            }
        })
        .collect()
}

/// Complex unit, for building complex test data.
pub fn ci(re: f64, im: f64) -> c64 {
    c64::new(re, im)
}

/// Reads the stacked array `name` (shape S × r × c) of an `.npz` written by `dln sample`.
pub fn read_stacked<T: Scalar + npyz::Deserialize>(path: &Path, name: &str) -> Vec<Mat<T>> {
    let mut npz = npyz::npz::NpzArchive::open(path).unwrap();
    let mut f = npz.zip_archive().by_name(&format!("{name}.npy")).unwrap();
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).unwrap();
    let npy = npyz::NpyFile::new(std::io::Cursor::new(bytes)).unwrap();
    let want = if T::IS_COMPLEX { "'<c16'" } else { "'<f8'" };
    assert_eq!(npy.dtype().descr(), want);
    let shape: Vec<usize> = npy.shape().iter().map(|&x| x as usize).collect();
    assert_eq!(shape.len(), 3, "stacked output must be 3-D");
    let (s, r, c) = (shape[0], shape[1], shape[2]);
    let data: Vec<T> = npy.into_vec().unwrap();
    (0..s)
        .map(|k| Mat::from_fn(r, c, |i, j| data[k * r * c + i * c + j]))
        .collect()
}

/// The directory of the reference system `name` in the repository's `testdata/lti`.
pub fn lti(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/lti")
        .join(name)
}

/// The numbers of a JSON array.
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}
