//! Decodes every aether-types type from the fuzzer's input.
//!
//! For each type: decoding must not panic, and whenever it succeeds, re-encoding must give
//! back exactly the bytes it consumed (the codec's canonical-encoding invariant). The wire
//! transaction entry point is fuzzed too: what `from_wire` accepts, `to_wire` reproduces.
#![no_main]

use aether_types::codec::{Decode, Encode, Reader, encode};
use aether_types::*;
use libfuzzer_sys::fuzz_target;

fn check<T: Encode + Decode>(bytes: &[u8]) {
    let mut reader = Reader::new(bytes);
    if let Ok(value) = T::decode_from(&mut reader) {
        let consumed = &bytes[..reader.offset()];
        assert_eq!(
            encode(&value),
            consumed,
            "{} is not canonical",
            core::any::type_name::<T>()
        );
    }
}

fuzz_target!(|bytes: &[u8]| {
    check::<Hash>(bytes);
    check::<AssetId>(bytes);
    check::<Value>(bytes);
    check::<Lock>(bytes);
    check::<Datum>(bytes);
    check::<Output>(bytes);
    check::<OutputReference>(bytes);
    check::<ValidityWindow>(bytes);
    check::<ProgramCall>(bytes);
    check::<TransactionBody>(bytes);
    check::<TransactionSignature>(bytes);
    check::<Transaction>(bytes);
    check::<SignerBitmap>(bytes);
    check::<ValidatorIndex>(bytes);
    check::<QuorumCertificate>(bytes);
    check::<TimeoutCertificate>(bytes);
    check::<Vote>(bytes);
    check::<Timeout>(bytes);
    check::<OperationalCertificate>(bytes);
    check::<BlockHeader>(bytes);
    check::<SignedBlockHeader>(bytes);
    check::<KesSignature>(bytes);
    check::<Block>(bytes);
    check::<ShredHeader>(bytes);

    if let Ok(transaction) = Transaction::from_wire(bytes) {
        assert_eq!(transaction.to_wire().as_deref(), Ok(bytes));
    }
});
