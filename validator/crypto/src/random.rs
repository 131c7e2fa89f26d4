//! Fresh randomness from the operating system, for key generation only.

use thiserror::Error;

/// The operating system could not provide randomness.
#[derive(Debug, Error)]
#[error("the operating system random source failed: {0}")]
pub struct RandomError(String);

/// Returns `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| RandomError(error.to_string()))?;
    Ok(bytes)
}
