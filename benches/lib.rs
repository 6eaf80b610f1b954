//! Shared helpers for the memview benchmarks (none yet).
