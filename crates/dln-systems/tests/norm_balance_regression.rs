//! Regression: Helmke norm balancing used to stall at ‖μ_LS‖ ≈ 1e-9 of the scale, where the
//! Armijo test on the potential can no longer see a decrease (it is O(‖μ‖²), below rounding), and
//! then accepted anything up to 1000× the documented tolerance. The N = 2 DLN special case
//! (A = 0, B = W1, C = W2) has the closed-form minimum ½‖W‖² = Σ σ_i(W2 W1).

use dln_systems::realization::{NormBalanceOptions, moment_map, norm_balance};
use faer::Mat;

fn m(rows: &[[f64; 4]]) -> Mat<f64> {
    Mat::from_fn(rows.len(), 4, |i, j| rows[i][j])
}

#[test]
fn dln_special_case_reaches_the_documented_tolerance() {
    let a = Mat::<f64>::zeros(4, 4);
    let b = m(&[
        [
            2.3759142620403177,
            0.5808797805965602,
            1.3104955907018594,
            -0.27738224098164965,
        ],
        [
            -0.4945273773509877,
            -1.9628406845197228,
            1.230525718703523,
            1.0657578982672895,
        ],
        [
            -0.7740759600995166,
            0.5388683300773808,
            -1.3029586381602125,
            2.8660079691721934,
        ],
        [
            -0.14164371986391114,
            0.2017095334253449,
            0.4562911219279783,
            0.38884928065876845,
        ],
    ]);
    let c = m(&[
        [
            0.29515751917819755,
            -0.2794925225047994,
            -1.1892380179356454,
            0.16484228288394176,
        ],
        [
            0.6531560815876392,
            0.3408391011702328,
            0.41598263298019555,
            -1.0595047406318612,
        ],
        [
            -1.2964628292158182,
            1.582517660539814,
            -1.1369315975599368,
            0.049957837779703154,
        ],
        [
            0.3929995726954063,
            -0.5600069120517585,
            0.5533172004130754,
            -0.8150866633069939,
        ],
    ]);
    let scale = b.norm_l2().powi(2) + c.norm_l2().powi(2);
    for tol in [1e-9, 1e-12, 1e-14] {
        let r = norm_balance(
            a.as_ref(),
            b.as_ref(),
            c.as_ref(),
            NormBalanceOptions {
                tol,
                max_iterations: 100,
            },
        )
        .expect("norm balancing must converge on a closed orbit");
        let mu = moment_map(r.a.as_ref(), r.b.as_ref(), r.c.as_ref()).norm_l2();
        assert!(
            mu <= tol * scale,
            "tol {tol:e}: ‖μ‖/scale = {:e}",
            mu / scale
        );
        // The minimum of ½(‖B‖² + ‖C‖²) on the orbit is Σ σ_i(CB).
        let x = &c * &b;
        let s: f64 = x.singular_values().unwrap().iter().sum();
        assert!(
            (r.potential - s).abs() <= 1e-12 * s,
            "potential {} vs Σσ {}",
            r.potential,
            s
        );
        let xr = &r.c * &r.b;
        assert!(dln_linalg::rel_diff(xr.as_ref(), x.as_ref()) < 1e-12);
    }
}
