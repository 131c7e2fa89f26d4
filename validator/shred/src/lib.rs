//! Signed Merkle shreds with Reed-Solomon FEC (work in progress).
