//! Y4M tests (below).
