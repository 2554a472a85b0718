//! (module `split`: under construction)
