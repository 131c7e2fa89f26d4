//! Hex fields of JSON objects: lowercase or uppercase hex, no `0x`, exact lengths.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// The string field `name` of `object`.
pub fn text<'a>(object: &'a Value, name: &str) -> Result<&'a str> {
    object
        .get(name)
        .ok_or_else(|| anyhow!("missing field {name:?}"))?
        .as_str()
        .ok_or_else(|| anyhow!("field {name:?} must be a string"))
}

/// Decodes a hex string of any length.
pub fn decode(field_name: &str, text: &str) -> Result<Vec<u8>> {
    hex::decode(text).with_context(|| format!("field {field_name:?} is not hex"))
}

/// The hex field `name`, any length.
pub fn bytes(object: &Value, name: &str) -> Result<Vec<u8>> {
    decode(name, text(object, name)?)
}

/// The hex field `name`, exactly `N` bytes.
pub fn array<const N: usize>(object: &Value, name: &str) -> Result<[u8; N]> {
    exact(name, bytes(object, name)?)
}

/// Checks a decoded value's length.
pub fn exact<const N: usize>(name: &str, bytes: Vec<u8>) -> Result<[u8; N]> {
    let length = bytes.len();
    match bytes.try_into() {
        Ok(array) => Ok(array),
        Err(_) => bail!("field {name:?} must be {N} bytes, got {length}"),
    }
}

/// The array-of-hex field `name`.
pub fn list(object: &Value, name: &str) -> Result<Vec<Vec<u8>>> {
    object
        .get(name)
        .ok_or_else(|| anyhow!("missing field {name:?}"))?
        .as_array()
        .ok_or_else(|| anyhow!("field {name:?} must be an array"))?
        .iter()
        .map(|entry| {
            let text = entry
                .as_str()
                .ok_or_else(|| anyhow!("{name:?} entries must be strings"))?;
            decode(name, text)
        })
        .collect()
}
