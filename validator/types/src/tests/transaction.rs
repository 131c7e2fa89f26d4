//! Transaction ids, wire limits, declared keys, and block-level checks.

use proptest::prelude::*;

use super::strategies;
use crate::codec::{DecodeError, Encode, decode_exact, encode};
use crate::*;

fn reference(byte: u8, index: u16) -> OutputReference {
    OutputReference {
        transaction_id: Hash([byte; 32]),
        index,
    }
}

fn small_body() -> TransactionBody {
    TransactionBody {
        version: TRANSACTION_VERSION,
        inputs: vec![reference(1, 0), reference(1, 1)],
        reference_inputs: vec![reference(2, 0)],
        outputs: vec![Output {
            lock: Lock::for_public_key(&[5; 32]),
            value: Value::from_aeth(100),
            datum: None,
        }],
        state_reads: vec![Hash([3; 32])],
        state_writes: vec![Hash([4; 32])],
        fee: 10,
        validity: ValidityWindow {
            first_slot: 1,
            last_slot: 9,
        },
        program_calls: vec![],
    }
}

/// A named change to a body.
type BodyMutation = (&'static str, fn(&mut TransactionBody));

/// One change to each body field (each always changes the value).
fn body_mutations() -> Vec<BodyMutation> {
    vec![
        ("version", |b| b.version = b.version.wrapping_add(1)),
        ("inputs", |b| b.inputs.push(reference(0xff, 0xffff))),
        ("reference_inputs", |b| {
            b.reference_inputs.push(reference(0xff, 0xffff))
        }),
        ("outputs", |b| {
            b.outputs.push(Output {
                lock: Lock::Program(Hash::ZERO),
                value: Value::ZERO,
                datum: None,
            })
        }),
        ("state_reads", |b| b.state_reads.push(Hash([0xff; 32]))),
        ("state_writes", |b| b.state_writes.push(Hash([0xff; 32]))),
        ("fee", |b| b.fee = b.fee.wrapping_add(1)),
        ("validity.first_slot", |b| b.validity.first_slot ^= 1),
        ("validity.last_slot", |b| b.validity.last_slot ^= 1 << 63),
        ("program_calls", |b| {
            b.program_calls.push(ProgramCall {
                program: Hash::ZERO,
                entry: 0,
                data: ProgramCallData::default(),
            })
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn id_changes_with_every_body_field(body in strategies::transaction_body()) {
        let id = body.id();
        for (field, mutate) in body_mutations() {
            let mut changed = body.clone();
            mutate(&mut changed);
            prop_assert_ne!(changed.id(), id, "changing {} kept the id", field);
        }
    }

    #[test]
    fn id_ignores_signatures(
        transaction in strategies::transaction(),
        signatures in strategies::signatures(),
    ) {
        let resigned = Transaction { signatures, ..transaction.clone() };
        prop_assert_eq!(resigned.transaction_id(), transaction.transaction_id());
        prop_assert_eq!(transaction.transaction_id(), Hash::digest(&encode(&transaction.body)));
    }
}

#[test]
fn nested_value_changes_change_the_id() {
    let body = small_body();
    let mut changed = body.clone();
    changed.outputs[0].value = Value::from_aeth(101);
    assert_ne!(changed.id(), body.id());
    changed.outputs[0].datum = Some(Datum::default());
    assert_ne!(changed.id(), body.id());
}

/// A transaction whose encoding is exactly `length` bytes (padding in a datum).
fn transaction_of_length(length: usize) -> Transaction {
    for datum_len in 0..=MAX_DATUM_BYTES {
        let mut body = small_body();
        body.outputs[0].datum = Some(Datum::new(vec![7; datum_len]).unwrap());
        let transaction = Transaction {
            body,
            signatures: vec![],
        };
        if transaction.encoded_len() == length {
            return transaction;
        }
    }
    panic!("no datum length gives {length} bytes");
}

#[test]
fn wire_limit_is_exact() {
    let largest = transaction_of_length(MAX_WIRE_TRANSACTION_BYTES);
    let bytes = largest.to_wire().unwrap();
    assert_eq!(bytes.len(), MAX_WIRE_TRANSACTION_BYTES);
    assert_eq!(Transaction::from_wire(&bytes), Ok(largest));

    let too_large = transaction_of_length(MAX_WIRE_TRANSACTION_BYTES + 1);
    assert_eq!(
        too_large.to_wire(),
        Err(WireError::TooLarge {
            length: MAX_WIRE_TRANSACTION_BYTES + 1,
            max: MAX_WIRE_TRANSACTION_BYTES
        })
    );
    // Refused on length alone, before parsing (these bytes would not parse anyway).
    assert_eq!(
        Transaction::from_wire(&[0xff; MAX_WIRE_TRANSACTION_BYTES + 1]),
        Err(WireError::TooLarge {
            length: MAX_WIRE_TRANSACTION_BYTES + 1,
            max: MAX_WIRE_TRANSACTION_BYTES
        })
    );
    // The limit also holds outside the wire form (for example inside a block).
    assert_eq!(
        decode_exact::<Transaction>(&encode(&too_large)),
        Err(DecodeError::LengthTooLarge {
            field: "transaction (encoded bytes)",
            length: MAX_WIRE_TRANSACTION_BYTES as u64 + 1,
            max: MAX_WIRE_TRANSACTION_BYTES as u64
        })
    );
}

#[test]
fn to_wire_refuses_what_peers_would_refuse() {
    let mut body = small_body();
    body.inputs.reverse();
    let unsorted = Transaction {
        body: body.clone(),
        signatures: vec![],
    };
    assert_eq!(
        unsorted.to_wire(),
        Err(WireError::Invalid(DecodeError::NotSorted {
            field: "transaction.inputs"
        }))
    );
    body.sort_sets();
    assert!(
        Transaction {
            body,
            signatures: vec![]
        }
        .to_wire()
        .is_ok()
    );

    let signature = TransactionSignature {
        public_key: [1; 32],
        signature: [0; 64],
    };
    let duplicate_signer = Transaction {
        body: small_body(),
        signatures: vec![signature, signature],
    };
    assert_eq!(
        duplicate_signer.to_wire(),
        Err(WireError::Invalid(DecodeError::NotSorted {
            field: "transaction.signatures"
        }))
    );
}

#[test]
fn unknown_version_is_rejected() {
    let mut body = small_body();
    body.version = 2;
    assert_eq!(
        decode_exact::<TransactionBody>(&encode(&body)),
        Err(DecodeError::UnsupportedVersion {
            what: "transaction",
            version: 2
        })
    );
}

#[test]
fn declared_keys() {
    let transaction = Transaction {
        body: small_body(),
        signatures: vec![],
    };
    let writes: Vec<Hash> = transaction.write_keys().collect();
    assert_eq!(
        writes,
        [reference(1, 0).key(), reference(1, 1).key(), Hash([4; 32])]
    );
    let reads: Vec<Hash> = transaction.read_keys().collect();
    assert_eq!(reads, [reference(2, 0).key(), Hash([3; 32])]);
    let created: Vec<OutputReference> = transaction.output_references().collect();
    assert_eq!(
        created,
        [OutputReference {
            transaction_id: transaction.transaction_id(),
            index: 0
        }]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn block_hash_covers_the_header_only(block in strategies::block(), signature in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut resigned = block.clone();
        resigned.header.kes_signature = KesSignature::new(signature).unwrap();
        resigned.justify = None;
        prop_assert_eq!(resigned.hash(), block.hash());
        prop_assert_eq!(block.hash(), Hash::digest(&encode(&block.header.header)));
        let mut other = block.header.header.clone();
        other.slot = other.slot.wrapping_add(1);
        prop_assert_ne!(other.hash(), block.hash());
        prop_assert_ne!(other.signing_message(), block.header.header.signing_message());
    }

    #[test]
    fn block_transaction_count_must_match(block in strategies::block()) {
        let mut wrong = block.clone();
        wrong.header.header.transaction_count += 1;
        prop_assert_eq!(
            decode_exact::<Block>(&encode(&wrong)),
            Err(DecodeError::CountMismatch {
                field: "block.transactions",
                expected: u64::from(wrong.header.header.transaction_count),
                actual: block.transactions.len() as u64,
            })
        );
    }
}
