//! Identity core.
