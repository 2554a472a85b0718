//! (module `schur`: under construction)
