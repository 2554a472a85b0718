//! proptest strategies for real and complex matrices (feature `proptest-support`).
//!
//! faer ships none; the workspace's property tests draw their matrices from here. Matrices are
//! built from a seed drawn by proptest, so a failing case shrinks to a reproducible seed.

use crate::{Scalar, random};
use ::proptest::prelude::*;
use faer::Mat;

/// An $m\times n$ Gaussian matrix, generated from a proptest-drawn seed.
pub fn gaussian_mat<T: Scalar>(m: usize, n: usize) -> impl Strategy<Value = Mat<T>> {
    any::<u64>().prop_map(move |seed| random::gaussian(&mut random::rng(seed), m, n))
}

/// Random widths $d_0,\dots,d_N$ with depth in `depth` and each width in `width`.
pub fn widths(
    depth: std::ops::RangeInclusive<usize>,
    width: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<usize>> {
    depth.prop_flat_map(move |n| proptest::collection::vec(width.clone(), n + 1))
}
