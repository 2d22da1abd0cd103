//! Unit tests of the doctor checks.
