//! Shared helpers for chatwire's cross-crate test suites (the suites live in `tests/tests/`).
