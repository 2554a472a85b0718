//! Model validation, frequency responses against the benchmark files, and H-infinity norms
//! against SLICOT AB13DD (reference.json).
mod common;

use common::{f64s, load, rel};
use dln_systems::SystemsError;
use dln_systems::model::{Sampling, StateSpace};
use dln_systems::norms::{HinfOptions, hinf_norm, linf_norm};
use faer::{Mat, c64};

#[test]
fn validation_rejects_bad_shapes_and_nonfinite() {
    let a = Mat::<f64>::identity(3, 3);
    let b = Mat::<f64>::zeros(3, 2);
    let c = Mat::<f64>::zeros(1, 3);
    let d = Mat::<f64>::zeros(1, 2);
    assert!(StateSpace::continuous(a.clone(), b.clone(), c.clone(), d.clone()).is_ok());
    let e = StateSpace::continuous(a.clone(), Mat::zeros(2, 2), c.clone(), d.clone()).unwrap_err();
    assert!(matches!(e, SystemsError::Dimension { .. }), "{e}");
    let e = StateSpace::continuous(a.clone(), b.clone(), c.clone(), Mat::zeros(2, 2)).unwrap_err();
    assert!(matches!(e, SystemsError::Dimension { .. }), "{e}");
    let mut bad = b.clone();
    bad[(1, 1)] = f64::NAN;
    let e = StateSpace::continuous(a.clone(), bad, c.clone(), d.clone()).unwrap_err();
    assert_eq!(
        e,
        SystemsError::NonFinite {
            name: "B",
            row: 1,
            col: 1
        }
    );
    let e = StateSpace::discrete(a.clone(), b.clone(), c.clone(), d.clone(), 0.0).unwrap_err();
    assert!(matches!(e, SystemsError::InvalidArgument(_)), "{e}");
    // unstable: eigenvalue 1 named
    let s = StateSpace::continuous(a, b, c, d).unwrap();
    match s.require_stable().unwrap_err() {
        SystemsError::Unstable { re, im, region } => {
            assert!(
                (re - 1.0).abs() < 1e-12 && im.abs() < 1e-12 && region == "open left half-plane"
            )
        }
        e => panic!("{e}"),
    }
}

#[test]
fn frequency_response_matches_benchmark_files() {
    for name in ["build", "CDplayer", "heat-cont", "iss", "beam"] {
        let m = load(name);
        let exp = m.expected.as_ref().unwrap();
        let w = f64s(&exp["freq_w_rad_per_s"]);
        let fr = &exp["freq_response"];
        let g = m.sys.frequency_response(&w).unwrap();
        let p = m.sys.outputs();
        let mut worst = 0.0f64;
        // deviations relative to the peak over the grid (entries far below it carry rounding)
        let peak = (0..w.len())
            .flat_map(|k| f64s(&fr["abs"][k]))
            .fold(0.0, f64::max);
        for (k, gk) in g.iter().enumerate() {
            let row = f64s(&fr["abs"][k]);
            for (col, &v) in row.iter().enumerate() {
                let (i, j) = (col % p, col / p);
                worst = worst.max((gk[(i, j)].norm() - v).abs() / peak.max(f64::MIN_POSITIVE));
            }
        }
        assert!(
            worst < 1e-8,
            "{name}: worst relative frequency-response deviation {worst:e}"
        );
    }
}

#[test]
fn frequency_response_random_is_complex_exact() {
    let m = load("random");
    let exp = m.expected.as_ref().unwrap();
    let w = f64s(&exp["freq_w_rad_per_s"]);
    let (re, im) = (
        f64s(&exp["freq_response"]["re"]),
        f64s(&exp["freq_response"]["im"]),
    );
    let g = m.sys.frequency_response(&w).unwrap();
    for k in 0..w.len() {
        let z = c64::new(re[k], im[k]);
        assert!(
            (g[k][(0, 0)] - z).norm() <= 1e-8 * z.norm().max(1.0),
            "k={k}: {:?} vs {z:?}",
            g[k][(0, 0)]
        );
    }
}

#[test]
fn eval_matches_dense_solve() {
    let m = load("slicot_ab09ad");
    let s = c64::new(0.3, 2.0);
    let g = m.sys.eval(s).unwrap();
    // dense complex solve for comparison
    let n = m.sys.order();
    let a = m.sys.a();
    let si = Mat::<c64>::from_fn(n, n, |i, j| {
        if i == j {
            s - c64::new(a[(i, j)], 0.0)
        } else {
            c64::new(-a[(i, j)], 0.0)
        }
    });
    let bc = Mat::<c64>::from_fn(n, m.sys.inputs(), |i, j| c64::new(m.sys.b()[(i, j)], 0.0));
    let cc = Mat::<c64>::from_fn(m.sys.outputs(), n, |i, j| c64::new(m.sys.c()[(i, j)], 0.0));
    use faer::linalg::solvers::Solve;
    let x = si.partial_piv_lu().solve(&bc);
    let g2 = &cc * &x;
    assert!(dln_linalg::rel_diff(g.as_ref(), g2.as_ref()) < 1e-13);
    // a pole is rejected
    let pole = m.sys.poles().unwrap()[0];
    assert!(m.sys.eval(pole).is_err());
}

#[test]
fn hinf_matches_slicot_ab13dd() {
    for name in ["slicot_ab09ad", "build", "CDplayer"] {
        let m = load(name);
        let r = m.reference.as_ref().unwrap();
        let want = r["hinf_G_ab13dd"]["value"].as_f64().unwrap();
        let at = r["hinf_G_ab13dd"]["at"].as_f64().unwrap();
        let got = hinf_norm(&m.sys).unwrap();
        assert!(
            rel(got.value, want) < 1e-8,
            "{name}: {} vs {want}",
            got.value
        );
        assert!(got.upper >= got.lower && got.upper <= got.lower * (1.0 + 3e-9));
        assert!(
            rel(got.frequency, at) < 1e-3 || (got.frequency - at).abs() < 1e-6,
            "{name}: at {} vs {at}",
            got.frequency
        );
    }
}

#[test]
fn hinf_discrete_tustin_images_agree() {
    for name in ["slicot_ab09ad", "build"] {
        let ct = load(name);
        let dt = load(&format!("{name}_dt"));
        let h1 = hinf_norm(&ct.sys).unwrap();
        let h2 = hinf_norm(&dt.sys).unwrap();
        assert!(
            rel(h2.value, h1.value) < 1e-8,
            "{name}: CT {} DT {}",
            h1.value,
            h2.value
        );
        // the DT peak frequency maps to the CT one under s = (2/h) tan(theta/2)
        let Sampling::Discrete { dt: h } = dt.sys.sampling() else {
            panic!()
        };
        let w_ct = 2.0 / h * (h2.frequency * h / 2.0).tan();
        assert!(
            rel(w_ct, h1.frequency) < 1e-3,
            "{name}: {w_ct} vs {}",
            h1.frequency
        );
    }
}

#[test]
fn hinf_with_feedthrough_and_unstable_linf() {
    // G(s) = 1/(s+1) + d: the norm is 1 + d (at omega = 0) for d > 0.
    let s = StateSpace::continuous(
        Mat::from_fn(1, 1, |_, _| -1.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::from_fn(1, 1, |_, _| 0.5),
    )
    .unwrap();
    assert!(rel(hinf_norm(&s).unwrap().value, 1.5) < 1e-9);
    // Unstable 1/(s-1): H-infinity refused, L-infinity = 1.
    let u = StateSpace::continuous(
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::zeros(1, 1),
    )
    .unwrap();
    assert!(matches!(hinf_norm(&u), Err(SystemsError::Unstable { .. })));
    assert!(rel(linf_norm(&u, HinfOptions::default()).unwrap().value, 1.0) < 1e-9);
}

#[test]
fn dc_gain_and_markov() {
    let m = load("slicot_ab09ad");
    let g0 = m.sys.dc_gain().unwrap();
    let e = m.sys.eval(c64::new(0.0, 0.0)).unwrap();
    for i in 0..g0.nrows() {
        for j in 0..g0.ncols() {
            assert!((e[(i, j)].re - g0[(i, j)]).abs() < 1e-12 && e[(i, j)].im.abs() < 1e-12);
        }
    }
    let mk = m.sys.markov_parameters(3);
    let cab = m.sys.c() * m.sys.a() * m.sys.b();
    assert!(dln_linalg::rel_diff(mk[1].as_ref(), cab.as_ref()) < 1e-15);
}

#[test]
fn h2_and_l2_norms() {
    use dln_systems::norms::{h2_norm, l2_norm};
    // H2 of 1/(s+a) is 1/sqrt(2a)
    let s = StateSpace::continuous(
        Mat::from_fn(1, 1, |_, _| -2.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::zeros(1, 1),
    )
    .unwrap();
    assert!(rel(h2_norm(&s).unwrap(), 0.5) < 1e-14);
    // H2 equals the sum of squared impulse response samples in DT; check against Markov sums
    let m = load("slicot_ab09ad_dt");
    let h = h2_norm(&m.sys).unwrap();
    let sum: f64 = m
        .sys
        .markov_parameters(4000)
        .iter()
        .map(|x| x.norm_l2().powi(2))
        .sum::<f64>()
        + m.sys.d().norm_l2().powi(2);
    assert!(rel(h, sum.sqrt()) < 1e-10, "{h} vs {}", sum.sqrt());
    // L2 of a stable model is its H2 norm; of the unstable AB13BD example: 7.93948 (printed, 6 digits)
    let m = load("slicot_ab09ad");
    assert!(rel(l2_norm(&m.sys).unwrap(), h2_norm(&m.sys).unwrap()) < 1e-12);
    let m = load("slicot_ab13bd");
    let want = m.expected.as_ref().unwrap()["l2_norm"].as_f64().unwrap();
    let got = l2_norm(&m.sys).unwrap();
    assert!((got - want).abs() <= 5e-5, "{got} vs AB13BD {want}");
    assert!(matches!(
        h2_norm(&m.sys),
        Err(SystemsError::Unstable { .. })
    ));
    // DT unstable: L2 of 1/(z-2) = sum_k 2^{-2k-2} ... = 1/3 (squared): anticausal 1/(z-2) = -sum z^k / 2^{k+1}
    let u = StateSpace::discrete(
        Mat::from_fn(1, 1, |_, _| 2.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::from_fn(1, 1, |_, _| 1.0),
        Mat::zeros(1, 1),
        1.0,
    )
    .unwrap();
    assert!(rel(l2_norm(&u).unwrap(), (1.0f64 / 3.0).sqrt()) < 1e-13);
}
