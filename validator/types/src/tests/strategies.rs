//! Proptest strategies producing valid (decodable) values of every type.
//!
//! Sizes are kept small so that the whole suite stays fast, but large enough to reach
//! two-byte varints (datums and KES signatures over 127 bytes) and the wire limit.

use std::collections::{BTreeMap, BTreeSet};

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

use crate::codec::Encode;
use crate::*;

/// Any `[u8; N]`.
pub fn bytes<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    prop::array::uniform::<_, N>(any::<u8>())
}

pub fn hash() -> impl Strategy<Value = Hash> {
    bytes::<32>().prop_map(Hash)
}

/// Hashes drawn from a tiny set too, so sets and sorting see equal prefixes.
pub fn key() -> impl Strategy<Value = Hash> {
    prop_oneof![hash(), (0u8..4).prop_map(|b| Hash([b; 32]))]
}

pub fn asset_id() -> impl Strategy<Value = AssetId> {
    key().prop_map(AssetId)
}

pub fn value() -> impl Strategy<Value = Value> {
    (
        any::<u64>(),
        btree_map(asset_id(), prop_oneof![1..=u64::MAX, 1u64..3], 0..4),
    )
        .prop_map(|(aeth, assets): (u64, BTreeMap<AssetId, u64>)| {
            Value::new(aeth, assets.into_iter().collect()).expect("unique ids cannot overflow")
        })
}

pub fn lock() -> impl Strategy<Value = Lock> {
    prop_oneof![
        hash().prop_map(Lock::PublicKeyHash),
        hash().prop_map(Lock::Program)
    ]
}

pub fn datum() -> impl Strategy<Value = Datum> {
    vec(any::<u8>(), 0..200).prop_map(|bytes| Datum::new(bytes).expect("under the bound"))
}

pub fn output() -> impl Strategy<Value = Output> {
    (lock(), value(), prop::option::of(datum())).prop_map(|(lock, value, datum)| Output {
        lock,
        value,
        datum,
    })
}

pub fn output_reference() -> impl Strategy<Value = OutputReference> {
    (key(), prop_oneof![any::<u16>(), 0u16..3]).prop_map(|(transaction_id, index)| {
        OutputReference {
            transaction_id,
            index,
        }
    })
}

pub fn validity_window() -> impl Strategy<Value = ValidityWindow> {
    (any::<u64>(), any::<u64>()).prop_map(|(first_slot, last_slot)| ValidityWindow {
        first_slot,
        last_slot,
    })
}

pub fn program_call() -> impl Strategy<Value = ProgramCall> {
    (hash(), any::<u32>(), vec(any::<u8>(), 0..160)).prop_map(|(program, entry, data)| {
        ProgramCall {
            program,
            entry,
            data: ProgramCallData::new(data).expect("under the bound"),
        }
    })
}

fn sorted<T: Ord>(set: BTreeSet<T>) -> Vec<T> {
    set.into_iter().collect()
}

/// Bodies of any size (may exceed the wire limit; see [`transaction`]).
pub fn transaction_body() -> impl Strategy<Value = TransactionBody> {
    (
        btree_set(output_reference(), 0..4),
        btree_set(output_reference(), 0..3),
        vec(output(), 0..3),
        btree_set(key(), 0..4),
        btree_set(key(), 0..4),
        any::<u64>(),
        validity_window(),
        vec(program_call(), 0..3),
    )
        .prop_map(
            |(inputs, reference_inputs, outputs, reads, writes, fee, validity, program_calls)| {
                TransactionBody {
                    version: TRANSACTION_VERSION,
                    inputs: sorted(inputs),
                    reference_inputs: sorted(reference_inputs),
                    outputs,
                    state_reads: sorted(reads),
                    state_writes: sorted(writes),
                    fee,
                    validity,
                    program_calls,
                }
            },
        )
}

pub fn transaction_signature() -> impl Strategy<Value = TransactionSignature> {
    (bytes::<32>(), bytes::<64>()).prop_map(|(public_key, signature)| TransactionSignature {
        public_key,
        signature,
    })
}

pub fn signatures() -> impl Strategy<Value = Vec<TransactionSignature>> {
    btree_map(bytes::<32>(), bytes::<64>(), 0..4).prop_map(|map| {
        map.into_iter()
            .map(|(public_key, signature)| TransactionSignature {
                public_key,
                signature,
            })
            .collect()
    })
}

/// Transactions that fit the wire limit.
pub fn transaction() -> impl Strategy<Value = Transaction> {
    (transaction_body(), signatures())
        .prop_map(|(body, signatures)| Transaction { body, signatures })
        .prop_filter("fits one packet", |transaction| {
            transaction.encoded_len() <= MAX_WIRE_TRANSACTION_BYTES
        })
}

pub fn signer_bitmap() -> impl Strategy<Value = SignerBitmap> {
    prop_oneof![0usize..20, 0usize..=300, Just(MAX_VALIDATORS)]
        .prop_flat_map(|len| vec(any::<bool>(), len))
        .prop_map(|bits| {
            let signers = bits.iter().enumerate().filter(|(_, set)| **set);
            let signers = signers.map(|(index, _)| ValidatorIndex(index as u32));
            SignerBitmap::from_signers(bits.len(), signers).expect("indices inside")
        })
}

pub fn validator_index() -> impl Strategy<Value = ValidatorIndex> {
    any::<u32>().prop_map(ValidatorIndex)
}

pub fn quorum_certificate() -> impl Strategy<Value = QuorumCertificate> {
    (any::<u64>(), hash(), signer_bitmap(), bytes::<96>()).prop_map(
        |(round, block_hash, signers, aggregate_signature)| QuorumCertificate {
            round,
            block_hash,
            signers,
            aggregate_signature,
        },
    )
}

pub fn timeout_certificate() -> impl Strategy<Value = TimeoutCertificate> {
    (any::<u64>(), signer_bitmap(), bytes::<96>())
        .prop_flat_map(|(round, signers, aggregate_signature)| {
            let count = signers.count();
            (
                Just((round, signers, aggregate_signature)),
                vec(any::<u64>(), count),
            )
        })
        .prop_map(
            |((round, signers, aggregate_signature), high_qc_rounds)| TimeoutCertificate {
                round,
                high_qc_rounds,
                signers,
                aggregate_signature,
            },
        )
}

pub fn vote() -> impl Strategy<Value = Vote> {
    (any::<u64>(), hash(), validator_index(), bytes::<96>()).prop_map(
        |(round, block_hash, voter, signature)| Vote {
            round,
            block_hash,
            voter,
            signature,
        },
    )
}

pub fn timeout() -> impl Strategy<Value = Timeout> {
    (
        any::<u64>(),
        quorum_certificate(),
        validator_index(),
        bytes::<96>(),
    )
        .prop_map(|(round, high_qc, voter, signature)| Timeout {
            round,
            high_qc,
            voter,
            signature,
        })
}

pub fn operational_certificate() -> impl Strategy<Value = OperationalCertificate> {
    (bytes::<32>(), any::<u64>(), any::<u32>(), bytes::<64>()).prop_map(
        |(kes_public_key, counter, start_period, cold_signature)| OperationalCertificate {
            kes_public_key,
            counter,
            start_period,
            cold_signature,
        },
    )
}

pub fn block_header() -> impl Strategy<Value = BlockHeader> {
    (
        (any::<u64>(), any::<u64>(), hash(), validator_index()),
        (hash(), hash(), any::<u32>(), bytes::<80>()),
        (any::<u32>(), operational_certificate()),
    )
        .prop_map(
            |(
                (slot, parent_slot, parent_hash, leader),
                (transactions_root, state_root, transaction_count, vrf_proof),
                (kes_period, operational_certificate),
            )| BlockHeader {
                version: BLOCK_HEADER_VERSION,
                slot,
                parent_slot,
                parent_hash,
                leader,
                transactions_root,
                state_root,
                transaction_count,
                vrf_proof,
                kes_period,
                operational_certificate,
            },
        )
}

pub fn signed_block_header() -> impl Strategy<Value = SignedBlockHeader> {
    (block_header(), vec(any::<u8>(), 0..500)).prop_map(|(header, signature)| SignedBlockHeader {
        header,
        kes_signature: KesSignature::new(signature).expect("under the bound"),
    })
}

/// Blocks whose header count and root match their transactions.
pub fn block() -> impl Strategy<Value = Block> {
    (
        signed_block_header(),
        prop::option::of(quorum_certificate()),
        vec(transaction(), 0..3),
    )
        .prop_map(|(mut header, justify, transactions)| {
            header.header.transaction_count = transactions.len() as u32;
            let mut block = Block {
                header,
                justify,
                transactions,
            };
            block.header.header.transactions_root = block.computed_transactions_root();
            block
        })
}

pub fn shred_header() -> impl Strategy<Value = ShredHeader> {
    (
        (
            any::<u64>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
        ),
        (any::<u16>(), any::<u16>(), any::<u16>()),
        (
            0..=MAX_SHRED_PAYLOAD_BYTES as u16,
            0..=ShredFlags::ALL.bits(),
            any::<u16>(),
        ),
    )
        .prop_map(
            |(
                (slot, parent_offset, fec_set_index, index, coding),
                (data_count, coding_count, position_in_set),
                (payload_size, flags, version),
            )| ShredHeader {
                slot,
                parent_offset,
                fec_set_index,
                index,
                kind: if coding {
                    ShredKind::Coding
                } else {
                    ShredKind::Data
                },
                data_count,
                coding_count,
                position_in_set,
                payload_size,
                flags: ShredFlags::from_bits(flags).expect("defined bits"),
                version,
            },
        )
}
