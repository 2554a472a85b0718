//! (module `gramian`: under construction)
