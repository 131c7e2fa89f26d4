//! Aether's cryptographic primitives.
//!
//! Every decision made here is a consensus decision: two validators that disagree on
//! whether a signature is valid split the chain. So each primitive implements exactly
//! one documented rule and is checked against public vectors (`../shared/vectors`).
//!
//! | module | primitive | rule / standard |
//! |---|---|---|
//! | [`ed25519`] | transaction and identity signatures | RFC 8032 signing; ZIP-215 verification, single and batched |
//! | [`bls`] | votes, quorum and timeout certificates | BLS12-381 min-pubkey-size, proof-of-possession ciphersuite (as Ethereum) |
//! | [`vrf`] | leader election | ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381) |
//! | [`kes`] | block-header signatures | sum-composition key-evolving signatures over Ed25519 |
//! | [`kzg`] | AI-compute receipts | EIP-4844 KZG commitments with the Ethereum ceremony setup |
//! | [`operational_certificate`] | cold key authorising a KES key | Ed25519 over a domain-separated message |
//!
//! Invariants:
//! - This crate does no I/O, starts no threads and reads no clock. Randomness is taken
//!   only where a caller asks for a fresh key.
//! - Secret key types zeroize their bytes on drop, and their `Debug` never prints them.
//! - Bytes from outside (public keys, signatures, proofs) are parsed by functions that
//!   return errors; nothing here panics on input.

pub mod bls;
pub mod ed25519;
pub mod kes;
pub mod kzg;
pub mod leader_keys;
pub mod operational_certificate;
pub mod random;
pub mod vrf;
