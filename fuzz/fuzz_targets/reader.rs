//! Fuzz target: the `.npz`/`.npy` reader of `dln` on arbitrary bytes must return a clean error or
//! a network, never panic, abort or allocate beyond the memory limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(
    init: {
        // The reader's memory limit (crates/dln-cli/src/resources.rs), well below libFuzzer's
        // default -rss_limit_mb=2048: a declared array may not need more than 64 MiB, so an
        // out-of-memory report is a reader bug, not a legitimately large input.
        // SAFETY: set once, before any other thread of the target runs.
        unsafe { std::env::set_var("DLN_MEMORY_LIMIT", "64M") };
    },
    |data: &[u8]| {
        let label = Path::new("fuzz.npz");
        // As an archive of weights …
        let _ = dln_cli::io::weights_from_bytes(label, data.to_vec());
        // … and as one `.npy` array.
        let _ = dln_cli::io::parse_matrix(label, "A", data, dln_cli::io::Dims::Matrix);
    }
);
