//! dln
