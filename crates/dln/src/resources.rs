//! How much memory one call may plan to use, shared by the `dln` program and the Python package.
//!
//! Sizes that come from the user (array shapes in a file, a number of samples) are checked
//! *before* anything is allocated: an allocation that fails aborts the process (Rust's global
//! allocator does not return an error), which in Python kills the interpreter and the user's
//! session with it. The limit is the value of the environment variable `DLN_MEMORY_LIMIT`
//! (bytes, with an optional `K`, `M` or `G` suffix, powers of 1024) or, by default, half of the
//! machine's physical memory (`MemTotal` of `/proc/meminfo`; 8 GiB where that cannot be read).

use std::fmt;

/// Memory assumed when the machine's memory cannot be read.
const FALLBACK_MEMORY: u64 = 8 << 30;

/// Parses `123`, `64K`, `512M`, `2G` (powers of 1024).
fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The machine's physical memory in bytes, if it can be read.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory limit of one call in bytes (see the module documentation).
pub fn memory_limit() -> u64 {
    if let Some(v) = std::env::var_os("DLN_MEMORY_LIMIT") {
        if let Some(b) = v.to_str().and_then(parse_bytes) {
            return b;
        }
    }
    physical_memory().unwrap_or(FALLBACK_MEMORY) / 2
}

/// `1.5 GiB`, `12 MiB`, `300 bytes`.
pub fn human_bytes(b: u128) -> String {
    const UNITS: [(&str, u128); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, size) in UNITS {
        if b >= size {
            return format!("{:.1} {name}", b as f64 / size as f64);
        }
    }
    format!("{b} bytes")
}

/// A planned allocation above [`memory_limit`]: what asked for it and both sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverMemoryLimit {
    /// What needs the memory, as the caller names it (`--samples 100000000`, `samples=10**9`).
    pub what: String,
    /// The estimate, in bytes.
    pub bytes: u128,
    /// The limit, in bytes.
    pub limit: u64,
}

impl fmt::Display for OverMemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} needs about {} of memory, more than the limit of {} \
             (half the machine's memory; set DLN_MEMORY_LIMIT to change it)",
            self.what,
            human_bytes(self.bytes),
            human_bytes(u128::from(self.limit))
        )
    }
}

impl std::error::Error for OverMemoryLimit {}

/// Checks that `bytes` (an estimate of what `what` needs) fits the memory limit.
///
/// # Errors
/// [`OverMemoryLimit`] naming `what` and both sizes.
pub fn check_memory(what: &str, bytes: u128) -> Result<(), OverMemoryLimit> {
    let limit = memory_limit();
    if bytes > u128::from(limit) {
        return Err(OverMemoryLimit {
            what: what.to_owned(),
            bytes,
            limit,
        });
    }
    Ok(())
}

/// Bytes of `count` networks of widths $d_0,\dots,d_N$ stacked along a sample axis, twice (the
/// samples in memory and their copy in the output: an archive being written, or numpy arrays):
/// $2\,\mathrm{count}\sum_k d_kd_{k-1}$ entries of 8 (real) or 16 (complex) bytes. Saturates
/// instead of overflowing.
pub fn stacked_networks_bytes(count: u128, widths: &[usize], complex: bool) -> u128 {
    let per = widths.windows(2).fold(0u128, |acc, w| {
        acc.saturating_add((w[0] as u128).saturating_mul(w[1] as u128))
    });
    let elem: u128 = if complex { 16 } else { 8 };
    count
        .saturating_mul(per)
        .saturating_mul(elem)
        .saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse() {
        assert_eq!(parse_bytes("123"), Some(123));
        assert_eq!(parse_bytes("2K"), Some(2048));
        assert_eq!(parse_bytes("3M"), Some(3 << 20));
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes("99999999999999999999G"), None);
    }

    #[test]
    fn absurd_sizes_are_refused_with_their_name() {
        assert!(check_memory("samples=1", 1).is_ok());
        let e = check_memory("samples=18446744073709551615", u128::MAX).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("samples=18446744073709551615 needs about"),
            "{e}"
        );
        assert_eq!(stacked_networks_bytes(3, &[2, 3, 4], false), 2 * 3 * 18 * 8);
        assert_eq!(
            stacked_networks_bytes(u128::MAX, &[2, usize::MAX, 2], true),
            u128::MAX
        );
    }
}
