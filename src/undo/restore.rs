//! Putting a snapshot back.
