//! Signed contact infos and the gossip wire messages (pure data and codec, no I/O).
//!
//! ```text
//! ContactInfo   = identity (32) ‖ gossip_address ‖ tpu_address ‖ rpc_address
//!                 ‖ shred_version (u16 LE) ‖ wallclock_ms (u64 LE)
//! address       = 4 ‖ IPv4 (4) ‖ port (u16 LE)  |  6 ‖ IPv6 (16) ‖ port (u16 LE)
//! Signed        = ContactInfo ‖ Ed25519 signature (64) over
//!                 CONTACT_INFO_SIGNING_DOMAIN ‖ encode(ContactInfo)
//! GossipMessage = 0 ‖ seq<Signed> (at most GOSSIP_RECORDS_PER_MESSAGE_MAX)   push
//!               | 1 ‖ Signed (the sender's own record)                        pull request
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use aether_crypto::ed25519::{self, Ed25519PublicKey, Ed25519SecretKey, Ed25519Signature};
use aether_types::codec::{Decode, DecodeError, Encode, Reader, decode_seq, encode, encode_seq};

use crate::frame::GOSSIP_BYTES_MAX;

/// Domain tag at the start of every contact-info signing message.
pub const CONTACT_INFO_SIGNING_DOMAIN: &[u8] = b"aether.network.contact-info.v1";
/// Largest encoded socket address (IPv6).
pub const ADDRESS_BYTES_MAX: usize = 1 + 16 + 2;
/// Largest encoded signed contact info.
pub const SIGNED_CONTACT_INFO_BYTES_MAX: usize = 32 + 3 * ADDRESS_BYTES_MAX + 2 + 8 + 64;
/// Most records in one push.
pub const GOSSIP_RECORDS_PER_MESSAGE_MAX: usize = 256;

const _: () = assert!(
    1 + 3 + GOSSIP_RECORDS_PER_MESSAGE_MAX * SIGNED_CONTACT_INFO_BYTES_MAX <= GOSSIP_BYTES_MAX
);

const PUSH_TAG: u8 = 0;
const PULL_REQUEST_TAG: u8 = 1;

/// Where a validator can be reached, as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInfo {
    /// Identity key (also the key that signs this record).
    pub identity: Ed25519PublicKey,
    /// Gossip and consensus (this crate's QUIC endpoint) address.
    pub gossip_address: SocketAddr,
    /// TPU (transaction ingress) address.
    pub tpu_address: SocketAddr,
    /// RPC address.
    pub rpc_address: SocketAddr,
    /// Ledger/shred version; nodes only admit records of their own version.
    pub shred_version: u16,
    /// When the record was made, in milliseconds since the Unix epoch; newer replaces older.
    pub wallclock_ms: u64,
}

/// A contact info with its identity's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedContactInfo {
    /// The record.
    pub info: ContactInfo,
    /// Signature by `info.identity` over [`ContactInfo::signing_message`].
    pub signature: Ed25519Signature,
}

impl ContactInfo {
    /// The bytes the identity signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut message = CONTACT_INFO_SIGNING_DOMAIN.to_vec();
        self.encode_to(&mut message);
        message
    }

    /// Signs the record. `key` must be the record's identity.
    pub fn sign(self, key: &Ed25519SecretKey) -> SignedContactInfo {
        assert_eq!(
            key.public_key(),
            self.identity,
            "a record is signed by its identity"
        );
        let signature = key.sign(&self.signing_message());
        SignedContactInfo {
            info: self,
            signature,
        }
    }
}

impl SignedContactInfo {
    /// Whether the signature verifies under the record's identity.
    pub fn verify(&self) -> bool {
        ed25519::verify(
            &self.info.identity,
            &self.info.signing_message(),
            &self.signature,
        )
        .is_ok()
    }
}

fn encode_address(address: &SocketAddr, out: &mut Vec<u8>) {
    match address.ip() {
        IpAddr::V4(ip) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.push(6);
            out.extend_from_slice(&ip.octets());
        }
    }
    address.port().encode_to(out);
}

fn decode_address(reader: &mut Reader<'_>) -> Result<SocketAddr, DecodeError> {
    let offset = reader.offset();
    let ip = match reader.read_u8()? {
        4 => IpAddr::V4(Ipv4Addr::from(reader.read_array::<4>()?)),
        6 => IpAddr::V6(Ipv6Addr::from(reader.read_array::<16>()?)),
        tag => {
            return Err(DecodeError::UnknownTag {
                offset,
                what: "socket address",
                tag,
            });
        }
    };
    Ok(SocketAddr::new(ip, reader.read_u16()?))
}

impl Encode for ContactInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.identity.0.encode_to(out);
        encode_address(&self.gossip_address, out);
        encode_address(&self.tpu_address, out);
        encode_address(&self.rpc_address, out);
        self.shred_version.encode_to(out);
        self.wallclock_ms.encode_to(out);
    }
}

impl Decode for ContactInfo {
    const MIN_ENCODED_LEN: usize = 32 + 3 * (1 + 4 + 2) + 2 + 8;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ContactInfo {
            identity: Ed25519PublicKey(reader.read_array()?),
            gossip_address: decode_address(reader)?,
            tpu_address: decode_address(reader)?,
            rpc_address: decode_address(reader)?,
            shred_version: reader.read_u16()?,
            wallclock_ms: reader.read_u64()?,
        })
    }
}

impl Encode for SignedContactInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.info.encode_to(out);
        self.signature.0.encode_to(out);
    }
}

impl Decode for SignedContactInfo {
    const MIN_ENCODED_LEN: usize = ContactInfo::MIN_ENCODED_LEN + 64;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SignedContactInfo {
            info: ContactInfo::decode_from(reader)?,
            signature: Ed25519Signature(reader.read_array()?),
        })
    }
}

/// A gossip message (the payload of a `MessageKind::Gossip` frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipMessage {
    /// Records the sender thinks the receiver may not have.
    Push(Vec<SignedContactInfo>),
    /// The sender's own record; the receiver answers with pushes of its whole table.
    PullRequest(SignedContactInfo),
}

impl Encode for GossipMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            GossipMessage::Push(records) => {
                out.push(PUSH_TAG);
                encode_seq(out, records, GOSSIP_RECORDS_PER_MESSAGE_MAX);
            }
            GossipMessage::PullRequest(record) => {
                out.push(PULL_REQUEST_TAG);
                record.encode_to(out);
            }
        }
    }
}

impl Decode for GossipMessage {
    const MIN_ENCODED_LEN: usize = 2;

    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        match reader.read_u8()? {
            PUSH_TAG => Ok(GossipMessage::Push(decode_seq(
                reader,
                "gossip.push",
                GOSSIP_RECORDS_PER_MESSAGE_MAX,
            )?)),
            PULL_REQUEST_TAG => Ok(GossipMessage::PullRequest(SignedContactInfo::decode_from(
                reader,
            )?)),
            tag => Err(DecodeError::UnknownTag {
                offset,
                what: "gossip message",
                tag,
            }),
        }
    }
}

/// Encodes pushes carrying `records`, at most [`GOSSIP_RECORDS_PER_MESSAGE_MAX`] each.
pub fn encode_pushes(records: &[SignedContactInfo]) -> Vec<Vec<u8>> {
    records
        .chunks(GOSSIP_RECORDS_PER_MESSAGE_MAX)
        .map(|chunk| encode(&GossipMessage::Push(chunk.to_vec())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_types::codec::decode_exact;

    fn record(seed: u8, v6: bool) -> SignedContactInfo {
        let key = Ed25519SecretKey::from_seed(&[seed; 32]);
        let ip: IpAddr = if v6 {
            "::1".parse().unwrap()
        } else {
            "127.0.0.1".parse().unwrap()
        };
        ContactInfo {
            identity: key.public_key(),
            gossip_address: SocketAddr::new(ip, 8000),
            tpu_address: SocketAddr::new(ip, 8001),
            rpc_address: "10.0.0.1:8899".parse().unwrap(),
            shred_version: 3,
            wallclock_ms: 1_700_000_000_000,
        }
        .sign(&key)
    }

    #[test]
    fn messages_round_trip_and_records_verify() {
        let records = vec![record(1, false), record(2, true)];
        for message in [
            GossipMessage::Push(records.clone()),
            GossipMessage::PullRequest(records[1].clone()),
            GossipMessage::Push(Vec::new()),
        ] {
            assert_eq!(
                decode_exact::<GossipMessage>(&encode(&message)),
                Ok(message)
            );
        }
        assert!(records.iter().all(SignedContactInfo::verify));
        let mut tampered = records[0].clone();
        tampered.info.wallclock_ms += 1;
        assert!(!tampered.verify(), "a changed field breaks the signature");
        assert!(encode(&records[1]).len() <= SIGNED_CONTACT_INFO_BYTES_MAX);
    }

    #[test]
    fn full_pushes_fit_a_gossip_frame() {
        let records = vec![record(9, true); GOSSIP_RECORDS_PER_MESSAGE_MAX * 2 + 1];
        let pushes = encode_pushes(&records);
        assert_eq!(pushes.len(), 3);
        assert!(pushes.iter().all(|push| push.len() <= GOSSIP_BYTES_MAX));
    }

    #[test]
    fn malformed_messages_are_rejected() {
        let good = encode(&GossipMessage::PullRequest(record(1, false)));
        assert!(decode_exact::<GossipMessage>(&good[..good.len() - 1]).is_err());
        let mut bad_tag = good.clone();
        bad_tag[0] = 9;
        assert!(decode_exact::<GossipMessage>(&bad_tag).is_err());
        let mut bad_address = good;
        bad_address[1 + 32] = 5;
        assert!(decode_exact::<GossipMessage>(&bad_address).is_err());
        assert!(decode_exact::<GossipMessage>(&[]).is_err());
    }
}
