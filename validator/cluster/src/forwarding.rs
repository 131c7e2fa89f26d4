//! Transaction forwarding: a validator sends the client transactions it verified to
//! the leaders of the next rounds, so a transaction waits for the next block, not for
//! the receiving validator's own turn to lead.
//!
//! The receiver keeps its copy too (it may lead soon, or the forward may be lost): a
//! transaction included by one leader is dropped by the others' builders as a spend
//! of spent inputs, and committed transactions are pruned from every validator's
//! waiting queue.
//!
//! A forwarded batch enters the leader's pipeline ahead of sigverify, like a client's
//! packet, so its signatures are checked and its duplicates dropped there. That dedup
//! is also what bounds forwarding: a validator passes each transaction id through
//! sigverify once, so it forwards each transaction at most once, and forwards never
//! loop.
//!
//! Payload of a `Transactions` frame: `(u16 LE length ‖ wire transaction)*`, at most
//! [`TRANSACTIONS_BYTES_MAX`] bytes, each transaction at most
//! [`MAX_WIRE_TRANSACTION_BYTES`]; anything else is refused whole.

use aether_network::frame::TRANSACTIONS_BYTES_MAX;
use aether_types::ValidatorIndex;
use aether_types::codec::Decode;
use aether_types::transaction::{
    MAX_WIRE_TRANSACTION_BYTES, TransactionBody, TransactionSignature,
};

/// Rounds ahead (the current one included) whose leaders get forwarded transactions;
/// rounds of unresponsive leaders do not count.
pub const FORWARD_ROUNDS: u64 = 2;
/// Most rounds looked at to find [`FORWARD_ROUNDS`] rounds with responsive leaders.
pub const FORWARD_SCAN_ROUNDS: u64 = 8;
/// The smallest forwarded transaction taken: one signature and a minimal body (every
/// entry becomes a packet buffer, so tiny entries would multiply memory).
pub const FORWARDED_TRANSACTION_BYTES_MIN: usize =
    TransactionSignature::ENCODED_LEN + <TransactionBody as Decode>::MIN_ENCODED_LEN;

/// A forwarded batch that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// The payload ends inside a length or a transaction.
    #[error("forwarded batch truncated")]
    Truncated,
    /// A transaction is empty or larger than a wire transaction may be.
    #[error("forwarded transaction of {0} bytes")]
    BadLength(usize),
    /// The payload is larger than a frame may be.
    #[error("forwarded batch of {0} bytes")]
    Oversize(usize),
}

/// Packs wire transactions into as few payloads as fit [`TRANSACTIONS_BYTES_MAX`] each.
/// A transaction under [`FORWARDED_TRANSACTION_BYTES_MIN`] or over
/// [`MAX_WIRE_TRANSACTION_BYTES`] is skipped (it cannot have passed sigverify).
pub fn encode_batches<'a>(transactions: impl IntoIterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut batches: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for wire in transactions {
        if !(FORWARDED_TRANSACTION_BYTES_MIN..=MAX_WIRE_TRANSACTION_BYTES).contains(&wire.len()) {
            continue;
        }
        if current.len() + 2 + wire.len() > TRANSACTIONS_BYTES_MAX {
            batches.push(std::mem::take(&mut current));
        }
        current.extend_from_slice(&(wire.len() as u16).to_le_bytes());
        current.extend_from_slice(wire);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    debug_assert!(
        batches
            .iter()
            .all(|batch| batch.len() <= TRANSACTIONS_BYTES_MAX)
    );
    batches
}

/// The wire transactions of a forwarded payload, or why it is refused.
pub fn decode_batch(payload: &[u8]) -> Result<Vec<&[u8]>, ForwardError> {
    if payload.len() > TRANSACTIONS_BYTES_MAX {
        return Err(ForwardError::Oversize(payload.len()));
    }
    let mut transactions = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let (length, after) = rest
            .split_first_chunk::<2>()
            .ok_or(ForwardError::Truncated)?;
        let length = usize::from(u16::from_le_bytes(*length));
        if !(FORWARDED_TRANSACTION_BYTES_MIN..=MAX_WIRE_TRANSACTION_BYTES).contains(&length) {
            return Err(ForwardError::BadLength(length));
        }
        if after.len() < length {
            return Err(ForwardError::Truncated);
        }
        let (wire, after) = after.split_at(length);
        transactions.push(wire);
        rest = after;
    }
    Ok(transactions)
}

/// The distinct leaders of the next [`FORWARD_ROUNDS`] rounds from `round` on whose
/// leaders are not `unresponsive` (a crashed validator's rounds are passed over, so
/// its share of the traffic goes to the next live leader instead of nowhere), this
/// validator excluded (its own rounds count: it keeps its copy), in round order. At
/// most [`FORWARD_SCAN_ROUNDS`] rounds are looked at; rounds whose leader is not known
/// yet are skipped.
pub fn upcoming_leaders(
    me: ValidatorIndex,
    round: u64,
    leader_of: impl Fn(u64) -> Option<ValidatorIndex>,
    unresponsive: impl Fn(ValidatorIndex) -> bool,
) -> Vec<ValidatorIndex> {
    let mut leaders = Vec::new();
    let mut rounds_covered = 0;
    for ahead in 0..FORWARD_SCAN_ROUNDS {
        let Some(leader) = leader_of(round + ahead) else {
            continue;
        };
        if leader != me && unresponsive(leader) {
            continue;
        }
        if leader != me && !leaders.contains(&leader) {
            leaders.push(leader);
        }
        rounds_covered += 1;
        if rounds_covered == FORWARD_ROUNDS {
            break;
        }
    }
    leaders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_split_at_the_frame_limit() {
        let transactions: Vec<Vec<u8>> = (0..400u32)
            .map(|index| vec![index as u8; 200 + (index as usize % 300)])
            .collect();
        let batches = encode_batches(transactions.iter().map(Vec::as_slice));
        assert!(batches.len() > 1, "{} bytes in one frame", batches[0].len());
        assert!(
            batches
                .iter()
                .all(|batch| batch.len() <= TRANSACTIONS_BYTES_MAX)
        );
        let decoded: Vec<Vec<u8>> = batches
            .iter()
            .flat_map(|batch| decode_batch(batch).unwrap())
            .map(<[u8]>::to_vec)
            .collect();
        assert_eq!(decoded, transactions);
        // Unsendable transactions are left out, never sent.
        let oversize = vec![1u8; MAX_WIRE_TRANSACTION_BYTES + 1];
        let tiny = [2u8; FORWARDED_TRANSACTION_BYTES_MIN - 1];
        let smallest = [7u8; FORWARDED_TRANSACTION_BYTES_MIN];
        let batches = encode_batches([&[][..], &oversize[..], &tiny[..], &smallest[..]]);
        assert_eq!(decode_batch(&batches[0]).unwrap(), vec![&smallest[..]]);
    }

    #[test]
    fn malformed_batches_are_refused_whole() {
        let first = [1u8; FORWARDED_TRANSACTION_BYTES_MIN];
        let second = [4u8; FORWARDED_TRANSACTION_BYTES_MIN + 5];
        let good = encode_batches([&first[..], &second[..]]).remove(0);
        assert_eq!(
            decode_batch(&good[..good.len() - 1]),
            Err(ForwardError::Truncated)
        );
        assert_eq!(decode_batch(&good[..1]), Err(ForwardError::Truncated));
        assert_eq!(decode_batch(&[0, 0]), Err(ForwardError::BadLength(0)));
        // A length under the minimum is refused even when the bytes are there.
        let mut tiny = 8u16.to_le_bytes().to_vec();
        tiny.extend_from_slice(&[0; 8]);
        assert_eq!(decode_batch(&tiny), Err(ForwardError::BadLength(8)));
        let too_long = ((MAX_WIRE_TRANSACTION_BYTES + 1) as u16).to_le_bytes();
        assert_eq!(
            decode_batch(&too_long),
            Err(ForwardError::BadLength(MAX_WIRE_TRANSACTION_BYTES + 1))
        );
        assert_eq!(
            decode_batch(&vec![0; TRANSACTIONS_BYTES_MAX + 1]),
            Err(ForwardError::Oversize(TRANSACTIONS_BYTES_MAX + 1))
        );
        assert_eq!(decode_batch(&[]), Ok(vec![]));
    }

    #[test]
    fn upcoming_leaders_are_distinct_and_never_self() {
        let schedule = |round: u64| match round {
            10 => Some(ValidatorIndex(2)),
            11 => Some(ValidatorIndex(2)),
            12 => Some(ValidatorIndex(1)),
            13 => Some(ValidatorIndex(3)),
            _ => None,
        };
        let all_live = |_: ValidatorIndex| false;
        assert_eq!(
            upcoming_leaders(ValidatorIndex(0), 10, schedule, all_live),
            vec![ValidatorIndex(2)]
        );
        assert_eq!(
            upcoming_leaders(ValidatorIndex(0), 11, schedule, all_live),
            vec![ValidatorIndex(2), ValidatorIndex(1)]
        );
        assert_eq!(
            upcoming_leaders(ValidatorIndex(1), 12, schedule, all_live),
            vec![ValidatorIndex(3)]
        );
        assert!(upcoming_leaders(ValidatorIndex(0), 14, schedule, all_live).is_empty());
        // An unresponsive leader's rounds are passed over for the next live ones.
        let two_is_down = |leader: ValidatorIndex| leader == ValidatorIndex(2);
        assert_eq!(
            upcoming_leaders(ValidatorIndex(0), 10, schedule, two_is_down),
            vec![ValidatorIndex(1), ValidatorIndex(3)]
        );
        // Never itself, and its own rounds count even when it is thought unresponsive.
        assert_eq!(
            upcoming_leaders(ValidatorIndex(2), 11, schedule, two_is_down),
            vec![ValidatorIndex(1)]
        );
    }
}
