//! `dln moments`: the reported numbers against independent computations, both storage orders,
//! byte orders and compression of the input, and the balanced verdict.

mod common;

use common::*;
use dln::linalg::c64;
use faer::Mat;

fn close(a: f64, b: f64, rtol: f64) -> bool {
    (a - b).abs() <= rtol * b.abs().max(1e-300)
}

#[test]
fn moments_real_rectangular() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(1, &[3, 5, 4, 2], None);
    let input = dir.path().join("w.npz");
    write_weights(&input, &layers);
    let j = run_json(&["moments", input.to_str().unwrap()]);
    assert_eq!(j["dtype"], "float64");
    assert_eq!(j["depth"], 3);
    assert_eq!(j["widths"], serde_json::json!([3, 5, 4, 2]));
    assert!(close(
        j["l2_norm_sq"].as_f64().unwrap(),
        l2_norm_sq(&layers),
        1e-12
    ));
    assert!(close(
        j["moment_norm"].as_f64().unwrap(),
        moment_norm(&layers),
        1e-12
    ));
    assert!(close(
        j["lower_bound"].as_f64().unwrap(),
        lower_bound(&layers),
        1e-12
    ));
    let per: Vec<f64> = j["moment_norms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(per.len(), 2);
    let g1 = (&layers[0] * layers[0].adjoint() - layers[1].adjoint() * &layers[1]).norm_l2();
    assert!(close(per[0], g1, 1e-12));
    assert_eq!(j["balanced"], false);
}

#[test]
fn moments_complex_and_balanced_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<c64>> = random_layers(2, &[4, 4, 4], Some(2));
    let input = dir.path().join("w.npz");
    let out = dir.path().join("b.npz");
    write_weights(&input, &layers);
    let j = run_json(&["moments", input.to_str().unwrap()]);
    assert_eq!(j["dtype"], "complex128");
    assert_eq!(j["rank"], 2);
    assert!(close(
        j["moment_norm"].as_f64().unwrap(),
        moment_norm(&layers),
        1e-12
    ));
    run_json(&[
        "balance",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let j = run_json(&["moments", out.to_str().unwrap()]);
    assert_eq!(j["balanced"], true);
    assert!(j["gap"].as_f64().unwrap().abs() < 1e-8);
    // A tolerance of 0 is never met by a rounded result.
    let j = run_json(&["moments", out.to_str().unwrap(), "--rtol", "0"]);
    assert_eq!(j["rtol"], 0.0);
    // Human-readable form.
    let o = dln()
        .args(["moments", out.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("balanced          yes"), "{text}");
    assert!(text.contains("‖G_k‖_F"), "{text}");
}

#[test]
fn fortran_order_big_endian_and_compressed_inputs_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(3, &[3, 2, 4], None);
    let c_order = dir.path().join("c.npz");
    write_weights(&c_order, &layers);
    // W1 in Fortran order, W2 big-endian C order; compressed archive.
    let w1 = &layers[0];
    let fortran: Vec<f64> = (0..w1.ncols())
        .flat_map(|j| (0..w1.nrows()).map(move |i| w1[(i, j)]))
        .collect();
    let w2 = &layers[1];
    let be: Vec<u8> = (0..w2.nrows())
        .flat_map(|i| (0..w2.ncols()).map(move |j| w2[(i, j)]))
        .flat_map(f64::to_be_bytes)
        .collect();
    let other = dir.path().join("f.npz");
    write_zip(
        &other,
        &[
            ("W1", raw_npy("<f8", true, &[2, 3], &f64_bytes(&fortran))),
            ("W2", raw_npy(">f8", false, &[4, 2], &be)),
        ],
        true,
    );
    let a = run_json(&["moments", c_order.to_str().unwrap()]);
    let b = run_json(&["moments", other.to_str().unwrap()]);
    for key in ["l2_norm_sq", "moment_norm", "lower_bound"] {
        assert!(
            close(a[key].as_f64().unwrap(), b[key].as_f64().unwrap(), 1e-14),
            "{key}"
        );
    }
    assert_eq!(a["widths"], b["widths"]);
}

#[test]
fn depth_one_has_no_moments() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Mat<f64>> = random_layers(4, &[3, 2], None);
    let input = dir.path().join("w.npz");
    write_weights(&input, &layers);
    let j = run_json(&["moments", input.to_str().unwrap()]);
    assert_eq!(j["depth"], 1);
    assert_eq!(j["moment_norms"], serde_json::json!([]));
    assert_eq!(j["balanced"], true);
}

#[test]
fn bad_rtol_is_a_usage_error() {
    let out = dln()
        .args(["moments", "w.npz", "--rtol", "-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
