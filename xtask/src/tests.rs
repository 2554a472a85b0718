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
    let thin: Vec<(&str, usize)> = reports
        .iter()
        .filter(|r| r.instances < 10)
        .map(|r| (r.id.as_str(), r.instances))
        .collect();
    assert!(
        thin.is_empty(),
        "checks with fewer than 10 instances: {thin:?}"
    );
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

/// Erratum E6: the printed stationary density $\propto e^{-\beta\kappa\|\mathbf W\|^2}$ of (4.2) fails the
/// machinery of `claim34-ou-stationary-density`, both the zero-current identity of the density
/// (deterministically) and the statistical tests on its exact samples (by many standard errors).
#[test]
fn erratum_e6_printed_density_fails() {
    use crate::checks::bayes::{ou_stationary, ou_zero_current};
    use dln_bayes::DensityConvention::Printed;
    let current = Check::new(
        "erratum-e6-printed-current",
        "(4.3) printed",
        "grad log rho = -2 beta kappa W",
        |cx| {
            ou_zero_current::<f64>(cx, Printed)?;
            ou_zero_current::<dln_linalg::c64>(cx, Printed)
        },
    );
    let r = run_check(&current, 1, false);
    assert!(r.error.is_none() && !r.passed, "{r:?}");
    assert!(r.worst_ratio > 1e6, "and by far: {r:?}");
    let samples = Check::new(
        "erratum-e6-printed-samples",
        "(4.3) printed",
        "exact samples of exp(-beta kappa |W|^2) are stationary for (4.2)",
        |cx| {
            ou_stationary::<f64>(cx, Printed)?;
            ou_stationary::<dln_linalg::c64>(cx, Printed)
        },
    );
    let r = run_check(&samples, 1, false);
    assert!(r.error.is_none() && !r.passed, "{r:?}");
    assert!(r.worst_ratio > 5.0, "by many standard errors: {r:?}");
}

/// The noisy moment law without its Itô term, $\mathbb E[G_k(t)] = e^{-2\kappa t}G_k(0)$, fails the
/// statistical machinery of `bayes-noisy-moment-law` (on rectangular widths, where the term is
/// non-zero), while the full law passes it.
#[test]
fn moment_law_without_ito_term_fails() {
    use crate::checks::bayes::noisy_moment_law;
    let no_ito = Check::new(
        "noisy-moment-law-no-ito",
        "(4.4) without Itô",
        "E[G_k(t)] = exp(-2 kappa t) G_k(0)",
        |cx| {
            noisy_moment_law::<f64>(cx, false)?;
            noisy_moment_law::<dln_linalg::c64>(cx, false)
        },
    );
    let r = run_check(&no_ito, 1, false);
    assert!(r.error.is_none() && !r.passed, "{r:?}");
    assert!(r.worst_ratio > 2.0, "by a wide margin: {r:?}");
}

/// Samplers of the fiber-quadrature machinery, as const parameters of [`fiber_quadrature_case`]
/// (a check's `run` is a plain `fn`, so the sampler and the target are type-level).
const RWM: usize = 0;
const HMC: usize = 1;
const GRAPH: usize = 2;
const BLOCK_GIBBS: usize = 3;

/// The machinery of the `bayes-fiber-*-quadrature` checks for sampler `S` (an index into
/// `[Rwm, Hmc, Graph]`, or [`BLOCK_GIBBS`] for the block-Gibbs check's d = 1, N = 3 machinery),
/// real and complex, each chain compared with its own measure's quadrature or, with `SWAPPED`,
/// with the other measure's.
fn fiber_quadrature_both_fields<const S: usize, const SWAPPED: bool>(
    cx: &mut crate::checks::Ctx,
) -> crate::checks::CheckResult {
    use crate::checks::bayes_fiber::{
        Sampler, Target, block_gibbs_quadrature, fiber_quadrature_with,
    };
    let target = if SWAPPED {
        Target::Swapped
    } else {
        Target::Same
    };
    if S == BLOCK_GIBBS {
        block_gibbs_quadrature::<f64>(cx, target)?;
        return block_gibbs_quadrature::<dln_linalg::c64>(cx, target);
    }
    let sampler = [Sampler::Rwm, Sampler::Hmc, Sampler::Graph][S];
    fiber_quadrature_with::<f64>(cx, target, sampler)?;
    fiber_quadrature_with::<dln_linalg::c64>(cx, target, sampler)
}

/// Runs [`fiber_quadrature_both_fields`] at seed 1 (the default, not thorough, sample counts):
/// with `SWAPPED` the check must fail, and clearly (worst ratio above 2); without, it must pass.
fn fiber_quadrature_case<const S: usize, const SWAPPED: bool>(id: &'static str) {
    let check = Check::new(
        id,
        "(4.5), chain against quadrature",
        "E‖W‖² of each measure's chain = the quadrature of the compared measure",
        fiber_quadrature_both_fields::<S, SWAPPED>,
    );
    let r = run_check(&check, 1, false);
    if SWAPPED {
        assert!(
            r.error.is_none() && !r.passed,
            "{id}: the swapped base measure must fail: {r:?}"
        );
        assert!(r.worst_ratio > 2.0, "{id}: and clearly: {r:?}");
    } else {
        assert!(r.error.is_none() && r.passed, "{id}: {r:?}");
    }
}

/// The random-walk fiber check compares each chain with the quadrature of the *other* base
/// measure (Hausdorff vs conditional): the same machinery must fail.
#[test]
fn fiber_posterior_swapped_measure_fails() {
    fiber_quadrature_case::<RWM, true>("bayes-fiber-swapped");
}

/// The HMC fiber check fails when each chain is compared with the other measure's quadrature.
#[test]
fn fiber_hmc_swapped_measure_fails() {
    fiber_quadrature_case::<HMC, true>("bayes-fiber-hmc-swapped");
}

/// The graph-chart HMC check passes against its own (conditional) quadrature (it is also in
/// `cargo xtask verify`; this runs it in the test suite, 8000 samples per case, a few seconds).
#[test]
fn fiber_graph_hmc_own_measure_passes() {
    fiber_quadrature_case::<GRAPH, false>("bayes-fiber-graph-hmc-same");
}

/// The graph-chart HMC check fails when its (conditional) chain is compared with the Hausdorff
/// quadrature.
#[test]
fn fiber_graph_hmc_swapped_measure_fails() {
    fiber_quadrature_case::<GRAPH, true>("bayes-fiber-graph-hmc-swapped");
}

/// The block-Gibbs check passes against its own (conditional) 2-D quadrature at N = 3 (it is also
/// in `cargo xtask verify`).
#[test]
fn fiber_block_gibbs_own_measure_passes() {
    fiber_quadrature_case::<BLOCK_GIBBS, false>("bayes-fiber-block-gibbs-same");
}

/// The block-Gibbs check fails when its (conditional) chain is compared with the Hausdorff 2-D
/// quadrature.
#[test]
fn fiber_block_gibbs_swapped_measure_fails() {
    fiber_quadrature_case::<BLOCK_GIBBS, true>("bayes-fiber-block-gibbs-swapped");
}

/// Every check names at least one API item, and every named item resolves to a public item of the
/// workspace (a renamed or removed item fails here, not silently in the guide).
#[test]
fn registry_api_paths_resolve() {
    let registry = crate::checks::registry();
    let missing: Vec<&str> = registry
        .iter()
        .filter(|c| c.api.is_empty())
        .map(|c| c.id)
        .collect();
    assert!(
        missing.is_empty(),
        "checks without .api(&[...]): {missing:?}"
    );
    let paths: Vec<&str> = registry
        .iter()
        .flat_map(|c| c.api.iter().copied())
        .collect();
    let bad = crate::api_paths::unresolved(&crate::project_root(), &paths);
    assert!(bad.is_empty(), "API paths that do not resolve: {bad:#?}");
}

/// The resolver rejects what does not exist: a private module, a missing method, a missing item,
/// an unknown crate; and follows re-exports and public modules.
#[test]
fn api_resolver_can_fail() {
    let root = crate::project_root();
    let mut r = crate::api_paths::Resolver::new(&root);
    for good in [
        "dln_algebra::Network::act",
        "dln_algebra::fiber::FiberOperator::solve",
        "dln_algebra::FiberOperator::apply",
        "dln_algebra::kempf_ness::BalanceMethod::Orbit",
        "dln_linalg::c64",
        "dln::algebra::Network::product",
        "dln_systems::lyapunov::lyapunov",
    ] {
        assert!(r.resolve(good).is_ok(), "{good}: {:?}", r.resolve(good));
    }
    for bad in [
        "dln_algebra::network::Network",
        "dln_algebra::Network::no_such_method",
        "dln_algebra::NoSuchItem",
        "dln_algebra::fiber::no_such_fn",
        "dln_nonexistent::Network",
        "dln_algebra::Network::act::deeper",
    ] {
        assert!(r.resolve(bad).is_err(), "{bad} must not resolve");
    }
}

/// Every check id named in `docs/theory.md` exists in the registry, and every registered check is
/// named there.
#[test]
fn theory_guide_names_existing_checks() {
    let text = std::fs::read_to_string(crate::guide::path()).expect("docs/theory.md");
    let ids: std::collections::BTreeSet<&str> =
        crate::checks::registry().iter().map(|c| c.id).collect();
    let named: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            (s.starts_with("claim")
                || s.starts_with("sys-")
                || s.starts_with("kn-")
                || s.starts_with("bayes-"))
                && s.len() > 6
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .collect();
    let unknown: Vec<&&str> = named.iter().filter(|s| !ids.contains(**s)).collect();
    assert!(
        unknown.is_empty(),
        "docs/theory.md names unknown checks: {unknown:?}"
    );
    let absent: Vec<&&str> = ids.iter().filter(|id| !named.contains(id)).collect();
    assert!(
        absent.is_empty(),
        "checks missing from docs/theory.md: {absent:?}"
    );
}

/// The committed guide's generated table equals the registry (run `cargo xtask guide`).
#[test]
fn theory_guide_table_up_to_date() {
    let text = std::fs::read_to_string(crate::guide::path()).expect("docs/theory.md");
    let regenerated = crate::guide::regenerate(&text).expect("markers present");
    assert!(
        regenerated == text,
        "docs/theory.md is out of date: run `cargo xtask guide`"
    );
}

#[test]
fn claim_coverage_parsing() {
    use crate::verify::{claims_of, coverage_line};
    assert_eq!(claims_of("claim05-lemma1-orbit"), vec![5]);
    assert_eq!(claims_of("claim26-27-training"), vec![26, 27]);
    assert!(claims_of("sys-additive-split").is_empty());
    assert!(claims_of("claim99-x").is_empty());
    let line = coverage_line(["claim01-a", "claim02-b", "claim02-c"]);
    assert!(line.contains("2/36"), "{line}");
    assert!(line.contains("missing: 3, 4,"), "{line}");
}

/// Every API path written in `docs/theory.md` (a backticked `dln…::…` path) resolves.
#[test]
fn theory_guide_api_paths_resolve() {
    let text = std::fs::read_to_string(crate::guide::path()).expect("docs/theory.md");
    let paths: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with("dln")
                && s.contains("::")
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        })
        .collect();
    assert!(paths.len() > 40, "too few API paths found: {}", paths.len());
    let bad = crate::api_paths::unresolved(&crate::project_root(), &paths);
    assert!(
        bad.is_empty(),
        "docs/theory.md names API paths that do not resolve: {bad:#?}"
    );
}

/// The workspace as committed passes tidy (the same as `cargo xtask tidy`).
#[test]
fn tidy_passes_on_the_workspace() {
    let root = crate::project_root();
    let packages = crate::tidy::workspace_packages(&root).expect("cargo metadata");
    let files = crate::tidy::tracked_files(&root).expect("git ls-files");
    let v = crate::tidy::violations(&root, &packages, &files).expect("ARCHITECTURE.md");
    assert!(v.is_empty(), "tidy violations: {v:#?}");
}

/// Each tidy rule fails on a planted violation, in a scratch copy of the relevant files.
#[test]
fn tidy_fails_on_planted_violations() {
    use crate::tidy::{Package, violations};
    use std::collections::BTreeSet;
    let root = crate::project_root();
    let dir = std::env::temp_dir().join(format!("dln-tidy-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let set = |xs: &[&str]| -> BTreeSet<String> { xs.iter().map(|s| s.to_string()).collect() };
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let arch = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let layers = crate::tidy::parse_layers(&arch).unwrap();
    write("ARCHITECTURE.md", &arch);
    let header = std::fs::read_to_string(root.join("crates/dln/katex-header.html")).unwrap();
    let good_lib = "//! A crate.\n#![deny(clippy::print_stdout, clippy::print_stderr)]\n";
    let mut files = vec!["ARCHITECTURE.md".to_string()];
    let mut packages = Vec::new();
    for l in &layers {
        if l.library {
            write(&format!("crates/{}/katex-header.html", l.name), &header);
            write(&format!("crates/{}/src/lib.rs", l.name), good_lib);
            files.push(format!("crates/{}/src/lib.rs", l.name));
        }
        packages.push(Package {
            name: l.name.clone(),
            deps: l.allowed.clone(),
            dev_deps: BTreeSet::new(),
        });
    }
    // The clean copy passes.
    let clean = violations(&dir, &packages, &files).unwrap();
    assert!(clean.is_empty(), "{clean:#?}");

    // 1. An upward dependency and a program-only dependency of a library crate.
    let mut bad = packages.clone();
    let alg = bad.iter_mut().find(|p| p.name == "dln-algebra").unwrap();
    alg.deps.extend(set(&["dln-flows", "clap"]));
    let v = violations(&dir, &bad, &files).unwrap();
    assert!(
        v.iter()
            .any(|s| s.contains("dln-algebra depends on dln-flows")),
        "{v:#?}"
    );
    assert!(
        v.iter().any(|s| s.contains("program-only crate clap")),
        "{v:#?}"
    );
    // A workspace crate missing from the table.
    let mut bad = packages.clone();
    bad.push(Package {
        name: "dln-new".into(),
        deps: set(&[]),
        dev_deps: set(&[]),
    });
    let v = violations(&dir, &bad, &files).unwrap();
    assert!(v.iter().any(|s| s.contains("dln-new has no row")), "{v:#?}");

    // 2. A library crate that does not deny printing.
    write("crates/dln-flows/src/lib.rs", "//! A crate.\n");
    let v = violations(&dir, &packages, &files).unwrap();
    assert!(
        v.iter()
            .any(|s| s.contains("dln-flows/src/lib.rs does not deny clippy::print_stdout")),
        "{v:#?}"
    );
    write("crates/dln-flows/src/lib.rs", good_lib);

    // 3. A module without `//!`.
    write("crates/dln-flows/src/undocumented.rs", "pub fn f() {}\n");
    let mut f3 = files.clone();
    f3.push("crates/dln-flows/src/undocumented.rs".into());
    let v = violations(&dir, &packages, &f3).unwrap();
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(
        v[0].contains("undocumented.rs does not open with"),
        "{v:#?}"
    );

    // 4. A KaTeX header that differs.
    write(
        "crates/dln-systems/katex-header.html",
        &format!("{header}<!-- x -->"),
    );
    let v = violations(&dir, &packages, &files).unwrap();
    assert!(
        v.iter()
            .any(|s| s.starts_with("katex:") && s.contains("dln-systems")),
        "{v:#?}"
    );
    write("crates/dln-systems/katex-header.html", &header);

    // 5. A machine path in a tracked file.
    let planted = format!(
        "see {}shared/data\n",
        crate::tidy::machine_path_patterns()[0]
    );
    write("docs/notes.md", &planted);
    let mut f5 = files.clone();
    f5.push("docs/notes.md".into());
    let v = violations(&dir, &packages, &f5).unwrap();
    assert!(
        v.iter()
            .any(|s| s.starts_with("machine path: docs/notes.md:1")),
        "{v:#?}"
    );

    let _ = std::fs::remove_dir_all(&dir);
}

/// `cargo xtask figures`: the data of every figure is finite and has the invariants the figure
/// claims (kept small: the whole module runs in a few seconds).
mod figures_data {
    use crate::figures::{
        FIG1_STARTS, FIG2_KAPPA, FIG6_G_RANGE, fig1_data, fig2_data, fig3_data, fig4_data,
        fig5_data, fig6_data,
    };
    use dln_algebra::Network;
    use faer::Mat;

    fn finite(points: &[(f64, f64)]) -> bool {
        points.iter().all(|p| p.0.is_finite() && p.1.is_finite())
    }

    fn net2(p: (f64, f64)) -> Network<f64> {
        let m = |v: f64| Mat::from_fn(1, 1, |_, _| v);
        Network::new(vec![m(p.0), m(p.1)]).unwrap()
    }

    #[test]
    fn fig1_fibers_levels_and_flows() {
        let g = fig1_data().unwrap();
        // Fibers (traced by the group action) keep the product; levels have the stated moment.
        for (x, branches) in &g.fibers {
            for b in branches {
                assert!(b.len() > 10 && finite(b));
                for &p in b {
                    let prod = net2(p).product()[(0, 0)];
                    assert!(
                        (prod - x).abs() <= 1e-12 * (1.0 + x.abs()),
                        "{p:?} not on x = {x}"
                    );
                }
            }
        }
        for (gv, branches) in &g.levels {
            for b in branches {
                for &p in b {
                    let m = net2(p).moment(1)[(0, 0)];
                    assert!((m - gv).abs() <= 1e-12 * (1.0 + p.0 * p.0 + p.1 * p.1));
                }
            }
        }
        // Both balancing flows stay in the fiber; the L² flow's moment is G(0) e^{-2t}.
        assert_eq!(g.l2.len(), FIG1_STARTS.len());
        for (l2, kn) in g.l2.iter().zip(&g.kirwan_ness) {
            assert!(finite(l2) && finite(kn));
            let x0 = l2[0].0 * l2[0].1;
            let g0 = l2[0].0 * l2[0].0 - l2[0].1 * l2[0].1;
            for (&t, (&p, &q)) in g.times.iter().zip(l2.iter().zip(kn)) {
                assert!((p.0 * p.1 - x0).abs() <= 1e-12 * x0.abs());
                assert!((q.0 * q.1 - x0).abs() <= 1e-12 * x0.abs());
                let expected = g0 * (-2.0 * t).exp();
                let got = p.0 * p.0 - p.1 * p.1;
                assert!(
                    (got - expected).abs() <= 1e-7 * g0.abs(),
                    "t = {t}: {got} vs {expected}"
                );
            }
        }
        // The non-closed orbit: w2 stays 0, w1 decreases to 0 like (1 + 4 w1(0)^2 t)^{-1/2}.
        let nc = &g.kirwan_ness_non_closed;
        for (&t, &p) in g.times.iter().zip(nc) {
            let exact = 2.0 / (1.0 + 16.0 * t).sqrt();
            assert!(
                p.1.abs() < 1e-14 && (p.0 - exact).abs() <= 1e-7 * exact,
                "t = {t}"
            );
        }
        assert!(finite(&g.training));
    }

    #[test]
    fn fig2_moment_decay_rates() {
        let curves = fig2_data().unwrap();
        let find = |s: &str| curves.iter().find(|c| c.label.starts_with(s)).unwrap();
        for c in &curves {
            assert!(finite(&c.points) && c.points.len() > 50, "{}", c.label);
        }
        for &(t, v) in &find("L² flow").points {
            assert!(
                (v / (-2.0 * t).exp() - 1.0).abs() < 1e-6,
                "L2 at t = {t}: {v}"
            );
        }
        for &(t, v) in &find("training").points {
            let r = (-2.0 * FIG2_KAPPA * t).exp();
            assert!((v / r - 1.0).abs() < 1e-6, "training at t = {t}: {v}");
        }
        // Kirwan–Ness is the gradient flow of ||mu||^2: the moment norm never increases.
        for c in curves.iter().filter(|c| c.label.starts_with("Kirwan")) {
            for w in c.points.windows(2) {
                assert!(w[1].1 <= w[0].1 * (1.0 + 1e-9), "{}: {w:?}", c.label);
            }
        }
    }

    #[test]
    fn fig3_learning_flow_is_training_from_the_balanced_point() {
        for run in fig3_data(1.0, 11).unwrap() {
            for c in [&run.full, &run.balanced_start, &run.learning_flow] {
                assert!(finite(c) && c.len() == 11);
            }
            // Same X(0); training from the balanced point follows the learning flow.
            assert!(run.deviation[0].1 < 1e-12);
            for &(t, d) in &run.balanced_deviation {
                assert!(d < 1e-7, "kappa {}: t = {t}: {d}", run.kappa);
            }
        }
    }

    #[test]
    fn fig4_newton_gaps() {
        for c in fig4_data().unwrap() {
            assert!(finite(&c.points), "{}", c.label);
            // The Kempf–Ness bound: ||W||^2 >= N sum sigma^(2/N) along the orbit.
            assert!(c.points.iter().all(|p| p.1 >= -1e-12), "{}", c.label);
            if c.label.starts_with("closed") {
                assert!(c.points.last().unwrap().1 < 1e-12, "{}", c.label);
                assert!(
                    c.points.len() <= 15,
                    "{}: {} iterations",
                    c.label,
                    c.points.len()
                );
            }
        }
    }

    #[test]
    fn fig5_truncation_error_between_its_bounds() {
        let (hsv, red) = fig5_data(&["build"], &[("build", 6)]).unwrap();
        let s = &hsv[0].points;
        assert_eq!(s.len(), 48);
        assert!(s.windows(2).all(|w| w[1].1 <= w[0].1) && (s[0].1 - 1.0).abs() < 1e-15);
        let r = &red[0];
        assert_eq!(r.orders, vec![1, 2, 3, 4, 5, 6]);
        for k in 0..r.orders.len() {
            assert!(
                r.lower[k] <= r.error[k] * (1.0 + 1e-8),
                "r = {}",
                r.orders[k]
            );
            assert!(
                r.error[k] <= r.upper[k] * (1.0 + 1e-8),
                "r = {}",
                r.orders[k]
            );
        }
    }

    /// Figure 6: every sample lies on the fiber, both branches are visited, the spread of the
    /// moment shrinks as β grows (concentration on the balanced points), the histograms and the
    /// exact densities are probability densities; the drawing writes an SVG with one panel per β.
    #[test]
    fn fig6_posterior_concentrates_on_balanced_points() {
        let p = fig6_data(&[1.0, 16.0], 400, 2).unwrap();
        let mut spread = Vec::new();
        for run in &p.runs {
            assert_eq!(run.samples.len(), 400);
            assert!(finite(&run.samples) && finite(&run.histogram) && finite(&run.exact));
            for &(a, b) in &run.samples {
                assert!(
                    (a * b - p.x).abs() <= 1e-10 * p.x,
                    "({a}, {b}) off the fiber"
                );
            }
            assert!(run.diagnostics.max_constraint_residual <= 1e-10);
            let plus = run.samples.iter().filter(|q| q.0 > 0.0).count();
            assert!(plus > 0 && plus < 400, "beta {}: one branch only", run.beta);
            // Mass of the histogram = fraction of samples with |G| < range; exact density's
            // mass on the same range is at most 1.
            let width = run.histogram[1].0 - run.histogram[0].0;
            let inside = run
                .samples
                .iter()
                .filter(|q| (q.0 * q.0 - q.1 * q.1).abs() < FIG6_G_RANGE)
                .count() as f64
                / 400.0;
            let mass: f64 = run.histogram.iter().map(|h| h.1 * width).sum();
            assert!((mass - inside).abs() < 1e-12, "{mass} vs {inside}");
            let h = run.exact[1].0 - run.exact[0].0;
            let exact_mass: f64 = run.exact.iter().map(|q| q.1 * h).sum();
            assert!(exact_mass > 0.5 && exact_mass < 1.0 + 1e-2, "{exact_mass}");
            let mean_abs_g = run
                .samples
                .iter()
                .map(|q| (q.0 * q.0 - q.1 * q.1).abs())
                .sum::<f64>()
                / 400.0;
            spread.push(mean_abs_g);
        }
        assert!(spread[1] < 0.5 * spread[0], "no concentration: {spread:?}");
        let dir = std::env::temp_dir().join(format!("dln-fig6-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("fig6.svg");
        crate::figures_plot::fig6(&p, &svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("βκ = 16"));
        assert!(text.matches("<circle").count() >= 400);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `cargo xtask doc --offline-katex` rewrites the CDN URLs of a generated page relative to its depth
/// and leaves pages without KaTeX alone.
#[test]
fn offline_katex_rewrites_generated_pages() {
    use crate::doc::{cdn_prefix, localize_page};
    let header =
        std::fs::read_to_string(crate::project_root().join("crates/dln/katex-header.html"))
            .expect("katex header");
    assert!(
        header.contains(&cdn_prefix()),
        "KATEX_VERSION does not match the header"
    );
    let page = format!("<head>{header}</head><body>$x$</body>");
    let local = localize_page(&page, 2).expect("page with KaTeX");
    assert!(!local.contains("cdn.jsdelivr.net") && !local.contains("crossorigin"));
    assert!(local.contains("href=\"../../katex/katex.min.css\""));
    assert!(local.contains("src=\"../../katex/contrib/auto-render.min.js\""));
    assert!(localize_page(&local, 2).is_none());
    assert!(localize_page("<head></head>", 0).is_none());
}
