//! (module `model`: under construction)
