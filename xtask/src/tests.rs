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
