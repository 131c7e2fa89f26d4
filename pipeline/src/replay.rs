//! Replay: checking and executing a block another validator produced, before voting.
//!
//! Checks run in this order, and the first failure is the block's verdict:
//!
//! 1. the operational certificate carries the leader's cold-key signature, the KES
//!    period is not before the certificate's start (and is the slot's, when
//!    configured), and the KES signature verifies over the header for that period:
//!    whatever fails later failed in a block its leader signed
//!    ([`ReplayError::is_header_refusal`]);
//! 2. the parent is held by the accounts-db and the slot is above the parent's;
//! 3. the header's transaction count and transactions root match the body;
//! 4. the VRF proof verifies for the slot under the leader's VRF key (its output is
//!    returned: it feeds a later epoch's nonce);
//! 5. every transaction signature verifies (one [`SigVerify`] backend call);
//! 6. execution on the parent state (the Pipeline's parallel executor, equal to
//!    sequential execution in block order) accepts every transaction: a leader only
//!    includes transactions that pass, so one that fails makes the block invalid;
//! 7. the writes give the header's state root ([`AccountsDb::apply_block_expecting`]).
//!
//! Invariant: a block that fails any check changes nothing (the accounts-db inserts
//! only after the root matched) and gets no vote; the reason has a stable label for
//! the `aether_replay_rejected_blocks_total{reason}` counter.

use std::num::NonZeroU64;
use std::sync::Arc;

use aether_accounts_db::{AccountsDb, AccountsDbError, BlockId};
pub use aether_crypto::leader_keys::LeaderPublicKeys;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519Signature};
use aether_crypto::kes::{self, KesPublicKey};
use aether_crypto::operational_certificate::OperationalCertificate as CryptoCertificate;
use aether_crypto::vrf::{self, VrfOutput, VrfProof};
use aether_kernels::{SigVerify, VerifyItem};
use aether_ledger::{Executor, LedgerParams, RejectReason, StateValue, StateView};
use aether_types::merkle::transactions_root;
use aether_types::{Block, BlockHeader, Hash, Transaction};

/// Stable labels of [`ReplayError`], in declaration order.
pub const REPLAY_REJECT_REASONS: &[&str] = &[
    "unknown_parent",
    "slot_not_after_parent",
    "transactions_root",
    "operational_certificate",
    "kes_period",
    "kes_period_mismatch",
    "kes_signature",
    "vrf_proof",
    "transaction_signature",
    "transaction_rejected",
    "state_root",
    "accounts_db",
];

/// Why a block was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The parent block is not held (not yet replayed, or pruned).
    #[error("parent {0} is not held")]
    UnknownParent(Hash),
    /// The header's parent slot is not the parent's, or the slot is not above it.
    #[error("slot {slot} does not follow its parent's slot {parent_slot}")]
    SlotNotAfterParent {
        /// The block's slot.
        slot: u64,
        /// The parent's slot.
        parent_slot: u64,
    },
    /// The transactions root or count does not match the body.
    #[error("the header's transactions root or count does not match the body")]
    TransactionsRoot,
    /// The operational certificate is not signed by the leader's cold key.
    #[error("operational certificate: {0}")]
    OperationalCertificate(String),
    /// The header's KES period is before the certificate's start period.
    #[error("KES period {kes_period} is before the certificate's start {start_period}")]
    KesPeriod {
        /// The header's period.
        kes_period: u32,
        /// The certificate's first period.
        start_period: u32,
    },
    /// The header's KES period is not the one its slot falls in.
    #[error("KES period {kes_period}, but slot {slot} is in period {expected}")]
    KesPeriodMismatch {
        /// The header's period.
        kes_period: u32,
        /// The block's slot.
        slot: u64,
        /// `slot / kes_slots_per_period`.
        expected: u64,
    },
    /// The KES signature over the header does not verify.
    #[error("KES signature: {0}")]
    KesSignature(String),
    /// The VRF proof does not verify for this slot and leader.
    #[error("VRF proof: {0}")]
    VrfProof(String),
    /// A transaction signature does not verify.
    #[error("transaction {index} has a bad signature")]
    TransactionSignature {
        /// Position in the block.
        index: usize,
    },
    /// Execution rejected a transaction.
    #[error("transaction {index} is rejected: {reason}")]
    TransactionRejected {
        /// Position in the block.
        index: usize,
        /// The ledger rule.
        reason: RejectReason,
    },
    /// The block's writes do not give the header's state root.
    #[error("header state root {claimed}, execution gives {computed}")]
    StateRoot {
        /// The header's root.
        claimed: Hash,
        /// The computed root.
        computed: Hash,
    },
    /// The accounts-db refused the block for another reason (full overlay, duplicate).
    #[error("accounts-db: {0}")]
    AccountsDb(#[source] Box<AccountsDbError>),
}

impl ReplayError {
    /// True when the block's header was not shown to be its leader's (the certificate,
    /// KES period or signature failed); every other refusal comes after that check.
    pub fn is_header_refusal(&self) -> bool {
        matches!(
            self,
            ReplayError::OperationalCertificate(_)
                | ReplayError::KesPeriod { .. }
                | ReplayError::KesPeriodMismatch { .. }
                | ReplayError::KesSignature(_)
        )
    }

    /// The stable label (one of [`REPLAY_REJECT_REASONS`]).
    pub fn label(&self) -> &'static str {
        match self {
            ReplayError::UnknownParent(_) => "unknown_parent",
            ReplayError::SlotNotAfterParent { .. } => "slot_not_after_parent",
            ReplayError::TransactionsRoot => "transactions_root",
            ReplayError::OperationalCertificate(_) => "operational_certificate",
            ReplayError::KesPeriod { .. } => "kes_period",
            ReplayError::KesPeriodMismatch { .. } => "kes_period_mismatch",
            ReplayError::KesSignature(_) => "kes_signature",
            ReplayError::VrfProof(_) => "vrf_proof",
            ReplayError::TransactionSignature { .. } => "transaction_signature",
            ReplayError::TransactionRejected { .. } => "transaction_rejected",
            ReplayError::StateRoot { .. } => "state_root",
            ReplayError::AccountsDb(_) => "accounts_db",
        }
    }
}

/// A block that passed every check and is now held by the accounts-db.
#[derive(Debug, Clone, Copy)]
pub struct ReplayedBlock {
    /// The block as the accounts-db holds it.
    pub id: BlockId,
    /// The leader's VRF output for the slot.
    pub vrf_output: VrfOutput,
}

/// Replays blocks with a signature backend, an executor and the ledger's parameters.
pub struct Replayer {
    sigverify: Arc<dyn SigVerify>,
    executor: Executor,
    params: LedgerParams,
    /// Slots per KES period, when headers must carry their slot's period.
    kes_slots_per_period: Option<NonZeroU64>,
}

/// The state after block `parent`, read from the accounts-db (replay and block
/// building execute on it).
pub struct ParentView<'a> {
    /// The accounts-db holding `parent`.
    pub accounts: &'a AccountsDb,
    /// The block whose state is read.
    pub parent: Hash,
}

impl StateView for ParentView<'_> {
    fn get(&self, key: &Hash) -> Option<StateValue> {
        // A storage read error reads as absent: the transaction is rejected and so is
        // the block (never wrongly accepted).
        self.accounts.get(&self.parent, key).ok().flatten()
    }
}

impl Replayer {
    /// A replayer.
    pub fn new(sigverify: Arc<dyn SigVerify>, executor: Executor, params: LedgerParams) -> Self {
        Self {
            sigverify,
            executor,
            params,
            kes_slots_per_period: None,
        }
    }

    /// Requires every header's KES period to be `slot / slots_per_period` (the cluster
    /// genesis's `kes_slots_per_period`): a leader's key evolves with the slots, and a
    /// signature from a period already erased elsewhere is refused.
    pub fn with_kes_slots_per_period(mut self, slots_per_period: NonZeroU64) -> Self {
        self.kes_slots_per_period = Some(slots_per_period);
        self
    }

    /// Checks that `block`'s header is `leader`'s own: the operational certificate,
    /// the KES period (its slot's, when [`Replayer::with_kes_slots_per_period`] is set)
    /// and the KES signature. A block that fails only later checks was still signed by
    /// its leader, so two of them for one slot prove equivocation.
    pub fn check_header(
        &self,
        block: &Block,
        leader: &LeaderPublicKeys,
    ) -> Result<(), ReplayError> {
        let header = &block.header.header;
        if let Some(slots_per_period) = self.kes_slots_per_period {
            let expected = header.slot / slots_per_period.get();
            if u64::from(header.kes_period) != expected {
                return Err(ReplayError::KesPeriodMismatch {
                    kes_period: header.kes_period,
                    slot: header.slot,
                    expected,
                });
            }
        }
        check_header_signature(block, leader)
    }

    /// Checks `block` (led by `leader`, whose VRF input for the slot is `vrf_alpha`)
    /// and, when every check passes, adds it to `accounts` on its parent.
    pub fn replay(
        &self,
        accounts: &mut AccountsDb,
        block: &Block,
        leader: &LeaderPublicKeys,
        vrf_alpha: &[u8],
    ) -> Result<ReplayedBlock, ReplayError> {
        let header = &block.header.header;
        // The header's signature first: every later refusal is of a block its leader
        // signed (what equivocation evidence may rest on).
        self.check_header(block, leader)?;
        let parent_slot = self.check_parent(accounts, header)?;
        let ids: Vec<Hash> = block
            .transactions
            .iter()
            .map(Transaction::transaction_id)
            .collect();
        if header.transaction_count as usize != ids.len()
            || header.transactions_root != transactions_root(&ids)
        {
            return Err(ReplayError::TransactionsRoot);
        }
        let vrf_output = vrf::verify(&leader.vrf, vrf_alpha, &VrfProof(header.vrf_proof))
            .map_err(|error| ReplayError::VrfProof(error.to_string()))?;
        self.check_transaction_signatures(&block.transactions, &ids)?;

        let pairs: Vec<(Transaction, Hash)> = block.transactions.iter().cloned().zip(ids).collect();
        let execution = {
            let view = ParentView {
                accounts,
                parent: header.parent_hash,
            };
            self.executor
                .execute(&view, &pairs, header.slot, &self.params)
        };
        if let Some((index, Err(reason))) = execution
            .outcomes
            .into_iter()
            .enumerate()
            .find(|(_, outcome)| outcome.is_err())
        {
            return Err(ReplayError::TransactionRejected { index, reason });
        }
        let hash = block.hash();
        accounts
            .apply_block_expecting(
                header.parent_hash,
                hash,
                header.slot,
                execution.writes,
                header.state_root,
            )
            .map_err(|error| match error {
                AccountsDbError::StateRootMismatch {
                    claimed, computed, ..
                } => ReplayError::StateRoot { claimed, computed },
                other => ReplayError::AccountsDb(Box::new(other)),
            })?;
        debug_assert!(parent_slot < header.slot);
        Ok(ReplayedBlock {
            id: BlockId {
                hash,
                slot: header.slot,
                state_root: header.state_root,
            },
            vrf_output,
        })
    }

    /// The parent's slot, when the parent is held, the header names its slot, and the
    /// block's slot is above it.
    fn check_parent(
        &self,
        accounts: &AccountsDb,
        header: &BlockHeader,
    ) -> Result<u64, ReplayError> {
        let parent = accounts
            .block_id(&header.parent_hash)
            .ok_or(ReplayError::UnknownParent(header.parent_hash))?;
        if header.parent_slot != parent.slot || header.slot <= parent.slot {
            return Err(ReplayError::SlotNotAfterParent {
                slot: header.slot,
                parent_slot: parent.slot,
            });
        }
        Ok(parent.slot)
    }

    fn check_transaction_signatures(
        &self,
        transactions: &[Transaction],
        ids: &[Hash],
    ) -> Result<(), ReplayError> {
        if let Some(index) = transactions
            .iter()
            .position(|transaction| transaction.signatures.is_empty())
        {
            return Err(ReplayError::TransactionSignature { index });
        }
        let keys: Vec<(usize, Ed25519PublicKey, Ed25519Signature)> = transactions
            .iter()
            .enumerate()
            .flat_map(|(index, transaction)| {
                transaction.signatures.iter().map(move |signature| {
                    (
                        index,
                        Ed25519PublicKey(signature.public_key),
                        Ed25519Signature(signature.signature),
                    )
                })
            })
            .collect();
        let items: Vec<VerifyItem<'_>> = keys
            .iter()
            .map(|(index, public_key, signature)| VerifyItem {
                public_key,
                message: ids[*index].as_bytes(),
                signature,
            })
            .collect();
        let mut decisions = vec![false; items.len()];
        // A backend error (device failure after the CPU fallback) leaves every decision
        // false: the block is refused rather than accepted unchecked.
        let _ = self.sigverify.verify_batch(&items, &mut decisions);
        match decisions.iter().position(|ok| !ok) {
            Some(position) => Err(ReplayError::TransactionSignature {
                index: keys[position].0,
            }),
            None => Ok(()),
        }
    }
}

/// Checks the operational certificate and the KES signature of `block`'s header.
fn check_header_signature(block: &Block, leader: &LeaderPublicKeys) -> Result<(), ReplayError> {
    let header = &block.header.header;
    let certificate = &header.operational_certificate;
    CryptoCertificate {
        kes_public_key: KesPublicKey(certificate.kes_public_key),
        counter: certificate.counter,
        start_period: certificate.start_period,
        cold_signature: Ed25519Signature(certificate.cold_signature),
    }
    .verify(&leader.identity)
    .map_err(|error| ReplayError::OperationalCertificate(error.to_string()))?;
    let relative_period = header
        .kes_period
        .checked_sub(certificate.start_period)
        .ok_or(ReplayError::KesPeriod {
            kes_period: header.kes_period,
            start_period: certificate.start_period,
        })?;
    let signature =
        kes::KesSignature::from_bytes(block.header.kes_signature.as_slice(), leader.kes_depth)
            .map_err(|error| ReplayError::KesSignature(error.to_string()))?;
    kes::verify(
        &KesPublicKey(certificate.kes_public_key),
        relative_period,
        &header.signing_message(),
        &signature,
        leader.kes_depth,
    )
    .map_err(|error| ReplayError::KesSignature(error.to_string()))
}
