//! The library half of the `dln` program: the error type, the `.npy`/`.npz` reader and the
//! atomic writers, and the resource limits that every command shares.
//!
//! It exists so that the reader can be driven in-process by property tests and by the fuzz
//! target in `fuzz/` (outside the workspace); the commands themselves live in the binary
//! (`src/main.rs`, `src/cmd/`). It is not meant as a public API.

pub mod error;
pub mod io;
pub mod resources;
pub mod staging;
