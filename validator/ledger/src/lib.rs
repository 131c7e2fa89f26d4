//! Ledger rules and parallel execution for Aether's eUTxO++ state.
//!
//! # State
//!
//! State is a map from 32-byte keys to bytes. An unspent output lives under
//! [`OutputReference::key`](aether_types::OutputReference::key); the value is the
//! reference followed by the [`Output`](aether_types::Output), both canonically
//! encoded ([`rules::output_state_value`]); a spent output is deleted.
//! Execution reads state through [`StateView`] (in the node: accounts-db's fork view at
//! the parent block) and produces [`Writes`]: `key -> Some(bytes)` creates, `None`
//! deletes.
//!
//! # Rules ([`rules`])
//!
//! A transaction executed at slot `s` is accepted when, in this order:
//!
//! 1. its validity window contains `s`;
//! 2. it consumes at least one input (so its id can never repeat) and no key is both
//!    an input and a reference input;
//! 3. it pays at least `fee_per_byte × encoded size`;
//! 4. it calls no program and writes no state cell (native programs arrive with the
//!    Staking work; until then such a transaction is refused, never half-run);
//! 5. every input and reference input exists (unspent) and decodes as an output;
//! 6. every input's lock is satisfied: for `PublicKeyHash(h)`, some signature's public
//!    key hashes to `h` (the signatures themselves were verified against the id by the
//!    sigverify stage before execution); program locks are refused for now;
//! 7. no output is zero and value is conserved: `Σ inputs = Σ outputs + fee` for AETH,
//!    and per native asset `Σ in = Σ out` (no asset is created or destroyed without a
//!    program), all with overflow checks.
//!
//! A rejected transaction changes nothing and carries a [`RejectReason`]. Fees leave
//! circulation (burned) until the Staking work pays them to the leader.
//!
//! # Scheduling ([`scheduler`])
//!
//! Each transaction declares its access set: it *writes* its input keys, its state
//! writes and the keys of the outputs it creates, and *reads* its reference inputs and
//! state reads. Two transactions conflict when one writes a key the other reads or
//! writes. The scheduler gives transaction `j` the level
//! `1 + max(level(i))` over earlier conflicting `i` (0 if none); transactions in one
//! level never conflict, so a level runs on all workers at once against the state left
//! by the levels before it.
//!
//! # Invariants
//!
//! - **Parallel = sequential**: [`execute_parallel`] returns exactly the outcomes and
//!   writes of [`execute_sequential`] in block order, for any worker count (property
//!   test in `tests/parallel_equals_sequential.rs`). Proof sketch: a transaction's
//!   result depends only on the keys it accesses; every earlier transaction touching
//!   those keys with a write is in a lower level, every later one in a higher level.
//! - Rejection is total: a rejected transaction contributes no write.
//! - No I/O, no clock, no network: state comes in through [`StateView`].

pub mod executor;
pub mod rejection;
pub mod rules;
pub mod sample_blocks;
pub mod scheduler;
pub mod state_view;
pub mod transfer;

pub use executor::{BlockExecution, Executor, execute_parallel, execute_sequential};
pub use rejection::RejectReason;
pub use rules::{
    CreatedOutput, LedgerParams, SpentOutput, TransactionEffects, execute_transaction,
};
pub use scheduler::{AccessSet, schedule_levels};
pub use state_view::{MemoryState, StateValue, StateView, Writes};
pub use transfer::{TransferError, TransferRequest, build_transfer, sign_transaction};
