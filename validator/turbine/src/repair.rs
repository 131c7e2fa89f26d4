//! The repair protocol: signed requests for missing shreds, the planner that decides
//! what to ask whom, and the server decision that answers peers.
//!
//! [`message`] wire formats and signing · [`planner`] what to request ·
//! [`server`] validation, rate limiting and answers.

pub mod message;
pub mod planner;
pub mod server;

pub use message::{RepairHeader, RepairRequest, RepairResponse, ShredRange, SignedRepairRequest};
pub use planner::{FecSetStatus, PlannedRepair, RepairPlanner, SlotShredView, requests_for};
pub use server::{RepairDrop, RepairServer, RepairServerConfig, RepairServerCounts, ShredSource};
