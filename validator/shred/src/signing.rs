//! The bytes the leader signs for one FEC set.
//!
//! `ROOT_SIGNING_DOMAIN ‖ slot (u64 LE) ‖ fec_set_index (u32 LE) ‖ root (32)`, 72 bytes.
//! The slot and set index are in the message (and not only in the leaves the root
//! covers), so a signed root can never be replayed as another slot's or set's root, and
//! the domain keeps it apart from every other Ed25519 message a leader key signs.

use aether_crypto::ed25519::{Ed25519SecretKey, Ed25519Signature};
use aether_types::Hash;

/// Domain tag at the front of every signed set root.
pub const ROOT_SIGNING_DOMAIN: &[u8; 28] = b"aether.shred.fec-set-root.v1";
/// Length of the signed message.
pub const ROOT_SIGNING_MESSAGE_BYTES: usize = ROOT_SIGNING_DOMAIN.len() + 8 + 4 + Hash::LEN;

const _: () = assert!(ROOT_SIGNING_MESSAGE_BYTES == 72);

/// The message the leader signs for the set `fec_set_index` of `slot` with Merkle `root`.
pub fn root_signing_message(
    slot: u64,
    fec_set_index: u32,
    root: &Hash,
) -> [u8; ROOT_SIGNING_MESSAGE_BYTES] {
    let mut message = [0u8; ROOT_SIGNING_MESSAGE_BYTES];
    let (domain, rest) = message.split_at_mut(ROOT_SIGNING_DOMAIN.len());
    domain.copy_from_slice(ROOT_SIGNING_DOMAIN);
    let (slot_bytes, rest) = rest.split_at_mut(8);
    slot_bytes.copy_from_slice(&slot.to_le_bytes());
    let (set_bytes, root_bytes) = rest.split_at_mut(4);
    set_bytes.copy_from_slice(&fec_set_index.to_le_bytes());
    root_bytes.copy_from_slice(root.as_bytes());
    message
}

/// The leader's signature over a set root.
pub fn sign_root(
    leader: &Ed25519SecretKey,
    slot: u64,
    fec_set_index: u32,
    root: &Hash,
) -> Ed25519Signature {
    leader.sign(&root_signing_message(slot, fec_set_index, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        let message = root_signing_message(0x0102, 0x0304, &Hash([9; 32]));
        assert_eq!(&message[..28], ROOT_SIGNING_DOMAIN);
        assert_eq!(&message[28..36], &0x0102u64.to_le_bytes());
        assert_eq!(&message[36..40], &0x0304u32.to_le_bytes());
        assert_eq!(&message[40..], &[9; 32]);
    }
}
