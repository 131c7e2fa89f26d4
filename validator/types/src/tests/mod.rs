//! Property tests over every type: round trips, truncation, and decoding arbitrary and
//! mutated bytes (never panics; whatever decodes re-encodes to exactly the bytes consumed).

mod properties;
mod strategies;
mod transaction;
