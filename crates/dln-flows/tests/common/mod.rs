//! Shared helpers for the integration tests.
#![allow(dead_code)]

use dln_algebra::Network;
use dln_linalg::{Scalar, random};
use faer::Mat;

/// A seeded Gaussian network with the given widths $d_0..d_N$, scaled by `scale`.
pub fn net<T: Scalar>(seed: u64, widths: &[usize], scale: f64) -> Network<T> {
    let mut rng = random::rng(seed);
    let layers = (1..widths.len())
        .map(|k| {
            random::scaled(
                random::gaussian::<T, _>(&mut rng, widths[k], widths[k - 1]).as_ref(),
                scale,
            )
        })
        .collect();
    Network::new(layers).unwrap()
}

/// A 1x1 real network (W_2, W_1) = (w2, w1), input layer first.
pub fn scalar_net(w2: f64, w1: f64) -> Network<f64> {
    Network::new(vec![
        Mat::from_fn(1, 1, |_, _| w1),
        Mat::from_fn(1, 1, |_, _| w2),
    ])
    .unwrap()
}

pub fn tuple_dist<T: Scalar>(a: &[Mat<T>], b: &[Mat<T>]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| dln_linalg::frob_sq((x - y).as_ref()))
        .sum::<f64>()
        .sqrt()
}

pub fn tuple_norm<T: Scalar>(a: &[Mat<T>]) -> f64 {
    dln_algebra::tuple_norm_sq(a).sqrt()
}

pub fn tight() -> dln_flows::FlowOptions {
    dln_flows::FlowBuilder::new()
        .rtol(1e-12)
        .atol(1e-14)
        .build()
        .unwrap()
}
