//! Ed25519 against ed25519-dalek, an independent verifier, on random inputs.
//!
//! On honestly generated keys and on random corruptions of their signatures, keys and
//! messages, every common Ed25519 rule decides the same (the rules differ only on
//! crafted small-order and non-canonical points, which the vector tests cover). So our
//! ZIP-215 decision, single and batched, must equal dalek's `verify_strict` here, and
//! our signatures must be byte-identical to dalek's.

use aether_crypto::ed25519::{Ed25519SecretKey, SignedMessage, VerifyItem, verify_batch};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Corruption {
    None,
    SignatureBit(usize),
    PublicKeyBit(usize),
    MessageBit(usize),
    MessageExtended(u8),
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        24 => Just(Corruption::None),
        1 => (0..512usize).prop_map(Corruption::SignatureBit),
        1 => (0..256usize).prop_map(Corruption::PublicKeyBit),
        1 => (0..64usize).prop_map(Corruption::MessageBit),
        1 => any::<u8>().prop_map(Corruption::MessageExtended),
    ]
}

fn build(seed: [u8; 32], mut message: Vec<u8>, corruption: &Corruption) -> SignedMessage {
    let key = Ed25519SecretKey::from_seed(&seed);
    let dalek_key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let signature = key.sign(&message);
    assert_eq!(
        signature.0,
        ed25519_dalek::Signer::sign(&dalek_key, &message).to_bytes(),
        "signatures are deterministic and must be byte-identical"
    );
    let mut case = SignedMessage {
        public_key: key.public_key(),
        message: Vec::new(),
        signature,
    };
    match corruption {
        Corruption::None => {}
        Corruption::SignatureBit(bit) => case.signature.0[bit / 8] ^= 1 << (bit % 8),
        Corruption::PublicKeyBit(bit) => case.public_key.0[bit / 8] ^= 1 << (bit % 8),
        Corruption::MessageBit(bit) => {
            if !message.is_empty() {
                let index = (bit / 8) % message.len();
                message[index] ^= 1 << (bit % 8);
            }
        }
        Corruption::MessageExtended(byte) => message.push(*byte),
    }
    case.message = message;
    case
}

fn dalek_decision(case: &SignedMessage) -> bool {
    let Ok(public_key) = ed25519_dalek::VerifyingKey::from_bytes(&case.public_key.0) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(&case.signature.0);
    public_key.verify_strict(&case.message, &signature).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn single_and_batch_agree_with_dalek(
        inputs in proptest::collection::vec(
            (any::<[u8; 32]>(), proptest::collection::vec(any::<u8>(), 0..200), corruption()),
            1..80,
        )
    ) {
        let cases: Vec<SignedMessage> = inputs
            .iter()
            .map(|(seed, message, corruption)| build(*seed, message.clone(), corruption))
            .collect();
        let items: Vec<VerifyItem<'_>> = cases
            .iter()
            .map(SignedMessage::as_item)
            .collect();
        let batch = verify_batch(&items);
        for (index, case) in cases.iter().enumerate() {
            let reference = dalek_decision(case);
            let single = case.verify().is_ok();
            prop_assert_eq!(single, reference, "single, case {} ({:?})", index, inputs[index].2);
            prop_assert_eq!(batch[index], reference, "batch, case {}", index);
        }
    }
}
