//! The checks are the tests: the default registry passes, and a deliberately wrong claim fails the
//! same residual machinery.

use crate::checks::Check;
use crate::verify::{VerifyOptions, run_check, run_registry};

#[test]
fn default_registry_passes() {
    let reports = run_registry(&VerifyOptions {
        seed: 1,
        ..Default::default()
    });
    assert!(!reports.is_empty());
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{} ({:?}, worst {} ratio {:.2e})",
                r.id, r.error, r.worst_instance, r.worst_ratio
            )
        })
        .collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}");
}

#[test]
fn erratum_e1_printed_lemma1_formula_fails() {
    use crate::checks::algebra::{Lemma1Formula, lemma1};
    let printed = Check::new(
        "erratum-e1-printed",
        "Lemma 1 (printed)",
        "A_{N-1} = Q_NΛW_N⁻¹",
        |cx| {
            lemma1::<f64>(cx, Lemma1Formula::Printed)?;
            lemma1::<dln_linalg::c64>(cx, Lemma1Formula::Printed)
        },
    );
    let r = run_check(&printed, 1, false);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(!r.passed, "the printed (wrong) formula must fail: {r:?}");
    assert!(r.worst_ratio > 1e6, "and by far: {r:?}");
}

/// Along the Kirwan–Ness field $\dot{\mathbf W} = -\mathbf w_{2\mathbf G}$,
/// $\frac{d}{dt}\tfrac12\|\mathbf G\|^2 = -c\|\mathbf w_{\mathbf G}\|^2$ with the corrected $c = 4$ (E5);
/// the paper prints $c = 2$. The derivative is a Richardson central difference of a quartic
/// polynomial in the step, exact up to rounding.
fn kn_energy_identity<T: dln_linalg::Scalar>(
    cx: &mut crate::checks::Ctx,
    c: f64,
) -> crate::checks::CheckResult {
    use crate::checks::*;
    for (n, d) in cx.square_shapes() {
        let widths = square(n, d);
        for _ in 0..cx.reps() {
            let w: dln_algebra::Network<T> = gaussian_network(cx.rng(), &widths);
            let wg = w.infinitesimal_action(&w.moments());
            let v = tscale(&wg, -2.0);
            let (wn, vn) = (tnorm(w.layers()), tnorm(&v));
            let h = 0.1 * wn / vn;
            let energy = |s: f64| -> Result<f64, CheckError> {
                Ok(0.5 * shifted(&w, &v, s).moment_norm().powi(2))
            };
            let fd = fd_scalar(energy, h)?;
            let want = -c * tnorm(&wg).powi(2);
            let scale = 4.0 * tnorm(&wg).powi(2);
            let rounding = 10.0 * 3.0 * (n * d) as f64 * EPS * (wn + h * vn).powi(4) / h;
            cx.record(
                label::<T>(&widths, ""),
                (fd - want).abs() / scale,
                rounding / scale,
            );
        }
    }
    Ok(())
}

#[test]
fn erratum_e5_kn_energy_factor() {
    let corrected = Check::new(
        "kn-energy-corrected",
        "(2.31), E5",
        "d/dt ½‖G‖² = −4‖w_G‖²",
        |cx| {
            kn_energy_identity::<f64>(cx, 4.0)?;
            kn_energy_identity::<dln_linalg::c64>(cx, 4.0)
        },
    );
    let printed = Check::new(
        "kn-energy-printed",
        "(2.31) as printed",
        "d/dt ½‖G‖² = −2‖w_G‖²",
        |cx| {
            kn_energy_identity::<f64>(cx, 2.0)?;
            kn_energy_identity::<dln_linalg::c64>(cx, 2.0)
        },
    );
    let ok = run_check(&corrected, 3, false);
    assert!(ok.passed, "the corrected identity must pass: {ok:?}");
    let bad = run_check(&printed, 3, false);
    assert!(
        bad.error.is_none() && !bad.passed,
        "the printed factor must fail: {bad:?}"
    );
    assert!(bad.worst_ratio > 1e6, "and by far: {bad:?}");
}
