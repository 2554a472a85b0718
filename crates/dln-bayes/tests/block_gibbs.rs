//! The blocked Gibbs fiber sampler (`FiberPosterior::sample_block_gibbs`): d = 1 against
//! quadrature (N = 2 on the hyperbola, N = 3 on the surface $w_3w_2w_1 = x$, where the blocks
//! really alternate), failing against the Hausdorff quadrature; agreement with graph-chart and
//! constrained HMC at d = 3, N = 3; products preserved, errors, seeded reproducibility, real and
//! complex; and (opt-in) the d = 16, N = 4 speed measurement against the other samplers.

use dln_algebra::Network;
use dln_bayes::posterior::{batch_means, scalar_fiber_mean_l2_norm_sq};
use dln_bayes::{
    BaseMeasure, BlockGibbsOptions, FiberChain, FiberMcmcOptions, FiberPosterior, FiberSampler,
    GraphHmcOptions, HmcOptions,
};
use dln_linalg::{Scalar, c64, random};
use faer::Mat;

fn net<T: Scalar>(layers: Vec<Mat<T>>) -> Network<T> {
    Network::new(layers).unwrap()
}

fn random_net<T: Scalar>(rng: &mut rand::rngs::StdRng, widths: &[usize]) -> Network<T> {
    net(widths
        .windows(2)
        .map(|p| random::gaussian(rng, p[1], p[0]))
        .collect())
}

fn scalar_net<T: Scalar>(ws: &[T]) -> Network<T> {
    net(ws.iter().map(|&w| Mat::from_fn(1, 1, |_, _| w)).collect())
}

/// $\mathbb E\|\mathbf W\|^2$ on $w_2w_1 = x$ by quadrature ([`scalar_fiber_mean_l2_norm_sq`], depth 2).
fn reference2(a: f64, x_abs: f64, complex: bool, measure: BaseMeasure) -> f64 {
    scalar_fiber_mean_l2_norm_sq(2, a, x_abs, complex, measure)
}

/// $\mathbb E\|\mathbf W\|^2$ on $w_3w_2w_1 = x$ by 2-D quadrature ([`scalar_fiber_mean_l2_norm_sq`], depth 3).
fn reference3(a: f64, x_abs: f64, complex: bool, measure: BaseMeasure) -> f64 {
    scalar_fiber_mean_l2_norm_sq(3, a, x_abs, complex, measure)
}

fn run_block<T: Scalar>(
    w0: &Network<T>,
    a_split: (f64, f64),
    samples: usize,
    seed: u64,
) -> FiberChain<T> {
    let post = FiberPosterior::new(a_split.0, a_split.1, BaseMeasure::Conditional).unwrap();
    let opts = BlockGibbsOptions {
        samples,
        burn_in: 1000,
        ..Default::default()
    };
    post.sample_block_gibbs(w0, &opts, seed, &mut ()).unwrap()
}

/// z-scores `[hausdorff, conditional]` of a block-Gibbs chain against `reference`.
fn z_scores<T: Scalar>(
    w0: &Network<T>,
    x_abs: f64,
    samples: usize,
    reference: fn(f64, f64, bool, BaseMeasure) -> f64,
) -> [f64; 2] {
    let chain = run_block(w0, (2.0, 0.5), samples, 23);
    let d = chain.diagnostics;
    eprintln!("{d:?}");
    assert!(d.max_constraint_residual <= 1e-13, "{d:?}");
    assert!(d.acceptance_rate > 0.5, "{d:?}");
    assert!(d.ess > 2000.0, "{d:?}");
    [BaseMeasure::Hausdorff, BaseMeasure::Conditional]
        .map(|m| (d.mean_l2_norm_sq - reference(1.0, x_abs, T::IS_COMPLEX, m)) / d.standard_error)
}

/// The chain agrees with the conditional quadrature within 5 SE and fails against the Hausdorff
/// one (the other measure).
fn own_passes_swapped_fails(what: &str, [zh, zc]: [f64; 2]) {
    eprintln!("{what}: z(conditional) = {zc:.2}, z(Hausdorff) = {zh:.2}");
    assert!(
        zc.abs() <= 5.0,
        "{what} vs conditional quadrature: z = {zc}"
    );
    assert!(zh.abs() > 5.0, "{what} vs Hausdorff quadrature: z = {zh}");
}

#[test]
fn scalar_n2_real_and_complex_match_quadrature_and_swap_fails() {
    own_passes_swapped_fails(
        "real N = 2",
        z_scores(&scalar_net(&[1.0, 0.5]), 0.5, 20_000, reference2),
    );
    let x = c64::new(0.3, -0.4);
    let w1 = c64::new(0.6, 0.8);
    own_passes_swapped_fails(
        "complex N = 2",
        z_scores(&scalar_net(&[w1, x / w1]), 0.5, 20_000, reference2),
    );
}

/// d = 1, N = 3: two blocks that alternate; against the 2-D quadrature on $w_3w_2w_1 = x$.
#[test]
fn scalar_n3_real_and_complex_match_quadrature_and_swap_fails() {
    own_passes_swapped_fails(
        "real N = 3",
        z_scores(&scalar_net(&[-1.0, 0.5, 1.0]), 0.5, 20_000, reference3),
    );
    let x = c64::new(0.3, -0.4);
    let (w1, w2) = (c64::new(0.6, 0.8), c64::new(-0.9, 0.2));
    own_passes_swapped_fails(
        "complex N = 3",
        z_scores(
            &scalar_net(&[w1, w2, x / (w1 * w2)]),
            0.5,
            20_000,
            reference3,
        ),
    );
}

#[test]
fn scalar_real_chain_visits_all_sign_patterns() {
    let w0 = scalar_net(&[1.0, 0.5, 2.0]);
    let chain = run_block(&w0, (2.0, 0.5), 4000, 3);
    let mut seen = [0usize; 4];
    for w in &chain.samples {
        let i = usize::from(w.w(1)[(0, 0)] > 0.0) + 2 * usize::from(w.w(2)[(0, 0)] > 0.0);
        seen[i] += 1;
    }
    for (i, &s) in seen.iter().enumerate() {
        let f = s as f64 / chain.samples.len() as f64;
        assert!(
            (f - 0.25).abs() < 0.07,
            "pattern {i}: fraction {f} ({seen:?})"
        );
    }
}

/// Mean and batch-means standard error of the moment norm over a chain's samples.
fn moment_mean_se<T: Scalar>(chain: &FiberChain<T>) -> (f64, f64) {
    let y: Vec<f64> = chain.samples.iter().map(|w| w.moment_norm()).collect();
    let (m, _, se) = batch_means(&y);
    (m, se)
}

/// `‖W‖²` and `‖G‖` of two chains agree within 5 combined standard errors.
fn agree<T: Scalar>(what: &str, a: &FiberChain<T>, b: &FiberChain<T>) {
    let (ad, bd) = (a.diagnostics, b.diagnostics);
    let z = (ad.mean_l2_norm_sq - bd.mean_l2_norm_sq) / ad.standard_error.hypot(bd.standard_error);
    let ((am, as_), (bm, bs)) = (moment_mean_se(a), moment_mean_se(b));
    let zm = (am - bm) / as_.hypot(bs);
    eprintln!(
        "{what}: block {:.3}±{:.3} (ESS {:.0}) vs {:.3}±{:.3} (ESS {:.0}): z(|W|^2) = {z:.2}, z(|G|) = {zm:.2}",
        ad.mean_l2_norm_sq,
        ad.standard_error,
        ad.ess,
        bd.mean_l2_norm_sq,
        bd.standard_error,
        bd.ess
    );
    assert!(z.abs() <= 5.0, "{what}: ‖W‖² z = {z}");
    assert!(zm.abs() <= 5.0, "{what}: ‖G‖ z = {zm}");
}

/// d = 3, N = 3: block Gibbs agrees with graph-chart HMC (real and complex) and with constrained
/// HMC (real) on the conditional posterior.
#[test]
fn agrees_with_graph_and_constrained_hmc_d3_n3() {
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    let block_opts = BlockGibbsOptions {
        samples: 6000,
        burn_in: 400,
        ..Default::default()
    };
    let graph_opts = GraphHmcOptions {
        samples: 6000,
        burn_in: 400,
        ..Default::default()
    };
    let mut rng = random::rng(31);
    let w0: Network<f64> = random_net(&mut rng, &[3, 3, 3, 3]);
    let b = post
        .sample_block_gibbs(&w0, &block_opts, 1, &mut ())
        .unwrap();
    assert!(
        b.diagnostics.max_constraint_residual <= 1e-12,
        "{:?}",
        b.diagnostics
    );
    assert!(b.diagnostics.acceptance_rate > 0.5, "{:?}", b.diagnostics);
    let g = post.sample_graph_hmc(&w0, &graph_opts, 2, &mut ()).unwrap();
    agree("real, graph HMC", &b, &g);
    let h = post
        .sample_hmc(
            &w0,
            &HmcOptions {
                samples: 1500,
                burn_in: 300,
                ..Default::default()
            },
            3,
            &mut (),
        )
        .unwrap();
    agree("real, constrained HMC", &b, &h);
    let w0: Network<c64> = random_net(&mut rng, &[3, 3, 3, 3]);
    let b = post
        .sample_block_gibbs(&w0, &block_opts, 4, &mut ())
        .unwrap();
    assert!(
        b.diagnostics.max_constraint_residual <= 1e-12,
        "{:?}",
        b.diagnostics
    );
    let g = post.sample_graph_hmc(&w0, &graph_opts, 5, &mut ()).unwrap();
    agree("complex, graph HMC", &b, &g);
}

fn general<T: Scalar>(widths: &[usize], seed: u64) {
    let mut rng = random::rng(seed);
    let w0: Network<T> = random_net(&mut rng, widths);
    let x = w0.product();
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    let opts = BlockGibbsOptions {
        samples: 100,
        burn_in: 100,
        thin: 2,
        trajectories_per_block: 2,
        ..Default::default()
    };
    let chain = post.sample_block_gibbs(&w0, &opts, seed, &mut ()).unwrap();
    let d = chain.diagnostics;
    assert_eq!(chain.samples.len(), 100);
    assert_eq!(d.steps, 200);
    assert!(d.acceptance_rate > 0.3, "{widths:?}: {d:?}");
    assert!(d.max_constraint_residual <= 1e-12, "{widths:?}: {d:?}");
    let xn = x.norm_l2();
    for s in &chain.samples {
        assert_eq!(s.widths(), widths);
        let err = (s.product() - &x).norm_l2();
        assert!(err <= 1e-12 * xn, "product not preserved: {err}");
    }
    for k in 1..widths.len() {
        let moved = (chain.samples.last().unwrap().w(k) - w0.w(k)).norm_l2();
        assert!(moved > 1e-3, "layer {k} did not move");
    }
    let expected_dim = dln_bayes::real_dimension::<T>(widths)
        - dln_bayes::c_f::<T>() * widths[0] * widths[widths.len() - 1];
    assert_eq!(d.fiber_dimension, expected_dim);
}

#[test]
fn real_and_complex_preserve_products_and_reject_other_inputs() {
    general::<f64>(&[3, 3, 3], 1);
    general::<f64>(&[2, 2, 2, 2, 2], 2);
    general::<c64>(&[2, 2, 2, 2], 3);
    general::<c64>(&[3, 3, 3], 4);
    let opts = BlockGibbsOptions::default();
    let haus = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    let e = haus
        .sample_block_gibbs(&scalar_net(&[1.0, 1.0]), &opts, 0, &mut ())
        .unwrap_err();
    assert!(e.to_string().contains("conditional measure only"), "{e}");
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    let mut rng = random::rng(5);
    let w: Network<f64> = random_net(&mut rng, &[2, 3, 2]);
    let e = post.sample_block_gibbs(&w, &opts, 0, &mut ()).unwrap_err();
    assert!(e.to_string().contains("square layers"), "{e}");
    let u: Mat<f64> = random::gaussian(&mut rng, 2, 1);
    let v: Mat<f64> = random::gaussian(&mut rng, 1, 2);
    let w = net(vec![&u * &v, random::gaussian(&mut rng, 2, 2)]);
    let e = post.sample_block_gibbs(&w, &opts, 0, &mut ()).unwrap_err();
    assert!(e.to_string().contains("invertible"), "{e}");
    let e = post
        .sample_block_gibbs(&scalar_net(&[2.0]), &opts, 0, &mut ())
        .unwrap_err();
    assert!(e.to_string().contains("two layers"), "{e}");
    for bad in [
        BlockGibbsOptions {
            samples: 0,
            ..Default::default()
        },
        BlockGibbsOptions {
            trajectories_per_block: 0,
            ..Default::default()
        },
        BlockGibbsOptions {
            step: Some(-1.0),
            ..Default::default()
        },
        BlockGibbsOptions {
            target_acceptance: 1.5,
            ..Default::default()
        },
    ] {
        let e = post
            .sample_block_gibbs(&scalar_net(&[1.0, 1.0]), &bad, 0, &mut ())
            .unwrap_err();
        assert!(
            matches!(e, dln_bayes::BayesError::InvalidParameter { .. }),
            "{e}"
        );
    }
}

#[test]
fn seeded_runs_reproduce_and_dispatch_by_name() {
    let mut rng = random::rng(9);
    let w0: Network<c64> = random_net(&mut rng, &[2, 2, 2, 2]);
    let post = FiberPosterior::new(1.0, 2.0, BaseMeasure::Conditional).unwrap();
    let opts = BlockGibbsOptions {
        samples: 30,
        burn_in: 60,
        ..Default::default()
    };
    let a = post.sample_block_gibbs(&w0, &opts, 5, &mut ()).unwrap();
    let b = post.sample_block_gibbs(&w0, &opts, 5, &mut ()).unwrap();
    let sampler = FiberSampler::from_name("block-gibbs").unwrap();
    assert_eq!(sampler, FiberSampler::BlockGibbs);
    assert_eq!(sampler.name(), "block-gibbs");
    let c = post
        .sample_with(sampler, &w0, 30, Some(60), 1, 5, &mut ())
        .unwrap();
    for ((p, q), r) in a.samples.iter().zip(&b.samples).zip(&c.samples) {
        for k in 1..=3 {
            assert!((p.w(k) - q.w(k)).norm_l2() <= 0.0);
            assert!((p.w(k) - r.w(k)).norm_l2() <= 0.0);
        }
    }
    let other = post.sample_block_gibbs(&w0, &opts, 6, &mut ()).unwrap();
    assert!((other.samples[29].w(2) - a.samples[29].w(2)).norm_l2() > 1e-6);
}

/// Measurement, not a test (opt-in: `cargo test -p dln-bayes --test block_gibbs -- --ignored
/// --nocapture fiber_speed`): effective samples of ‖W‖² per second for the conditional posterior
/// at d = 16, N = 4, βκ = 1, from the prior sample of tests/posterior.rs `fiber_speed`: random
/// walk, graph-chart HMC and block Gibbs in one process. Each timed run includes its own burn-in
/// (block Gibbs adapts one step per junction, which a fixed `step` cannot carry over).
#[test]
#[ignore]
fn fiber_speed_d16_n4_block_gibbs() {
    use std::time::Instant;
    let mut rng = random::rng(1);
    let w0: Network<f64> = random_net(&mut rng, &[16, 16, 16, 16, 16]);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    let sweeps: usize = std::env::var("DLN_BLOCK_SWEEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000);
    let report = |what: &str, secs: f64, d: &dln_bayes::FiberDiagnostics| {
        eprintln!(
            "{what}: {} transitions x {} steps (h {:.2e}) {secs:.1} s acc {:.3} pf {} ESS {:.1} -> {:.2}/s mean {:.1}±{:.1}",
            d.steps,
            d.leapfrog_steps,
            d.step,
            d.acceptance_rate,
            d.projection_failures,
            d.ess,
            d.ess / secs,
            d.mean_l2_norm_sq,
            d.standard_error
        );
    };
    for tpb in [1usize, 2, 3] {
        let t = Instant::now();
        let c = post
            .sample_block_gibbs(
                &w0,
                &BlockGibbsOptions {
                    samples: sweeps,
                    burn_in: 300,
                    trajectories_per_block: tpb,
                    ..Default::default()
                },
                2,
                &mut (),
            )
            .unwrap();
        report(
            &format!("block-gibbs ({tpb} trajectories/block, incl. 300 burn-in sweeps)"),
            t.elapsed().as_secs_f64(),
            &c.diagnostics,
        );
    }
    // Independent chains on the machine's cores, pooled (same total of retained sweeps, one
    // burn-in of 300 sweeps per chain).
    for chains in [2usize, 4] {
        let t = Instant::now();
        let c = post
            .sample_chains(
                dln_bayes::FiberSampler::BlockGibbs,
                &w0,
                chains,
                sweeps,
                Some(300),
                1,
                2,
                &mut (),
            )
            .unwrap();
        report(
            &format!("block-gibbs, {chains} chains in parallel (incl. 300 burn-in sweeps each)"),
            t.elapsed().as_secs_f64(),
            &c.diagnostics,
        );
    }
    let t = Instant::now();
    let c = post
        .sample_graph_hmc(
            &w0,
            &GraphHmcOptions {
                samples: 1000,
                burn_in: 300,
                adapt_mass: false,
                ..Default::default()
            },
            2,
            &mut (),
        )
        .unwrap();
    report(
        "graph-hmc (incl. 300 burn-in trajectories)",
        t.elapsed().as_secs_f64(),
        &c.diagnostics,
    );
    let t = Instant::now();
    let c = post
        .sample(
            &w0,
            &FiberMcmcOptions {
                samples: 4000,
                burn_in: 1000,
                ..Default::default()
            },
            2,
            &mut (),
        )
        .unwrap();
    report(
        "rwm (incl. 1000 burn-in steps)",
        t.elapsed().as_secs_f64(),
        &c.diagnostics,
    );
}

/// `sample_chains`: one chain is `sample_with` bit for bit; C chains are the single chains of their
/// seeds concatenated, with pooled diagnostics (ESS adds up, the pooled mean is the weighted mean,
/// the standard error that of independent chains).
#[test]
fn pooled_chains_are_the_single_chains() {
    use dln_bayes::FiberSampler;
    let mut rng = random::rng(7);
    let w0: Network<f64> = random_net(&mut rng, &[3, 3, 3]);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    let s = FiberSampler::BlockGibbs;
    let one = post
        .sample_chains(s, &w0, 1, 200, Some(50), 1, 11, &mut ())
        .unwrap();
    let direct = post
        .sample_with(s, &w0, 200, Some(50), 1, 11, &mut ())
        .unwrap();
    assert_eq!(one.diagnostics, direct.diagnostics);
    assert_eq!(one.samples.len(), 200);
    let three = post
        .sample_chains(s, &w0, 3, 200, Some(50), 1, 11, &mut ())
        .unwrap();
    assert_eq!(three.samples.len(), 200);
    // Chain 0 is the seed's own chain of 67 samples, and comes first.
    let first = post
        .sample_with(s, &w0, 67, Some(50), 1, 11, &mut ())
        .unwrap();
    for (a, b) in first.samples.iter().zip(&three.samples) {
        for (x, y) in a.layers().iter().zip(b.layers()) {
            assert_eq!(x, y);
        }
    }
    let d = three.diagnostics;
    assert_eq!(d.steps, 200);
    assert!(
        d.ess > first.diagnostics.ess,
        "pooled ESS {} ≤ one chain's",
        d.ess
    );
    assert!(d.standard_error < first.diagnostics.standard_error);
    for net in &three.samples {
        let r = (&net.product() - &w0.product()).norm_l2() / w0.product().norm_l2();
        assert!(r <= 1e-12, "product drift {r:e}");
    }
}

/// The split-R̂ of pooled chains: about 1 for converged seeded chains (with one chain there is
/// none), above 1.1 for chains that start far apart on the fiber and cannot have mixed (no
/// burn-in, a tiny fixed random-walk step).
#[test]
fn pooled_chains_report_split_rhat() {
    use dln_bayes::posterior::split_rhat;
    let mut rng = random::rng(8);
    let w0: Network<f64> = random_net(&mut rng, &[3, 3, 3]);
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Conditional).unwrap();
    let s = FiberSampler::BlockGibbs;
    let one = post
        .sample_chains(s, &w0, 1, 400, Some(50), 1, 3, &mut ())
        .unwrap();
    assert_eq!(one.diagnostics.rhat, None);
    let four = post
        .sample_chains(s, &w0, 4, 2000, Some(50), 1, 3, &mut ())
        .unwrap();
    let r = four.diagnostics.rhat.expect("R̂ of four chains of 500");
    // For chains that have mixed R̂² − 1 is about (τF − 1)/L (τ the autocorrelation time, F an
    // F-distributed ratio of mean 1, L = 250 draws per half chain): seeds 0–11 of this run gave
    // 1.0006–1.0077, and 1.0275 for this seed (3, the smallest ESS, 621 of 2000).
    assert!((r - 1.0).abs() < 0.05, "converged chains: R̂ = {r}");
    // The pooled value is split_rhat of the chains' own traces.
    let traces: Vec<Vec<f64>> = four
        .samples
        .chunks(500)
        .map(|c| c.iter().map(Network::l2_norm_sq).collect())
        .collect();
    let refs: Vec<&[f64]> = traces.iter().map(Vec::as_slice).collect();
    assert_eq!(split_rhat(&refs), Some(r));

    // d = 1, N = 2: w2 w1 = 1 from (1, 1) (the balanced point, ‖W‖² = 2) and from (10, 0.1)
    // (‖W‖² ≈ 100), random walk with a fixed step 1e-3 and no burn-in: the chains stay near
    // their starts.
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    let opts = FiberMcmcOptions {
        samples: 400,
        burn_in: 0,
        step: Some(1e-3),
        ..Default::default()
    };
    let traces: Vec<Vec<f64>> = [[1.0, 1.0], [10.0, 0.1]]
        .iter()
        .map(|w| {
            post.sample(&scalar_net(w), &opts, 5, &mut ())
                .unwrap()
                .samples
                .iter()
                .map(Network::l2_norm_sq)
                .collect()
        })
        .collect();
    let refs: Vec<&[f64]> = traces.iter().map(Vec::as_slice).collect();
    let r = split_rhat(&refs).unwrap();
    assert!(r > 1.1, "unmixed chains: R̂ = {r}");
}

/// An observer that stops the pooled run stops every chain, not only the one that polled it:
/// with a burn-in of 10⁹ transitions per chain the call could not return otherwise.
#[test]
fn stopping_pooled_chains_stops_every_chain() {
    use dln_flows::{Observer, Progress};
    use std::ops::ControlFlow;
    struct StopAfter {
        calls: usize,
        seen: f64,
    }
    impl<T: Scalar> Observer<Progress<'_, T>> for StopAfter {
        fn on_step(&mut self, p: &Progress<'_, T>) -> ControlFlow<()> {
            self.calls += 1;
            self.seen = self.seen.max(p.t);
            if self.calls >= 2000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let post = FiberPosterior::new(1.0, 1.0, BaseMeasure::Hausdorff).unwrap();
    let w0 = scalar_net(&[2.0, 0.5]);
    for s in [FiberSampler::RandomWalk, FiberSampler::Hmc] {
        let mut obs = StopAfter {
            calls: 0,
            seen: 0.0,
        };
        let clock = std::time::Instant::now();
        let run = post.sample_chains(s, &w0, 3, 3, Some(1_000_000_000), 1, 1, &mut obs);
        let err = run.expect_err("stopped").to_string();
        assert!(err.contains("stopped"), "{err}");
        assert_eq!(obs.calls, 2000);
        // The pooled progress counts the transitions of every chain.
        assert!(obs.seen >= 2000.0, "{}", obs.seen);
        assert!(
            clock.elapsed().as_secs() < 60,
            "{}: chains ran on for {:?}",
            s.name(),
            clock.elapsed()
        );
    }
}
