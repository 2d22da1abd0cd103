//! Unit tests of why.
