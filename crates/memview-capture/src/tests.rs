//! Loom models, built only with `--cfg loom` (`cargo xtask loom`).

mod loom_pool;
