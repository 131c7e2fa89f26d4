//! The node's TOML configuration: typed, every key documented in
//! `config/default.toml` (embedded here as the defaults), validated once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde::Deserialize;

/// The documented default configuration.
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/default.toml");

/// Most memory `node.prefault_memory_mib` may name (1 TiB).
pub const PREFAULT_MEMORY_MIB_MAX: usize = 1 << 20;

/// See `config/default.toml` for every key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct NodeConfig {
    pub node: NodeSection,
    pub network: NetworkSection,
    pub chain: ChainSection,
    pub sigverify: SigverifySection,
    pub banking: BankingSection,
    pub fetch: FetchSection,
    pub pipeline: PipelineSection,
    pub blockstore: BlockstoreSection,
    pub accounts: AccountsSection,
    pub cluster: ClusterSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ClusterSection {
    pub genesis: String,
    pub listen: SocketAddr,
    pub entrypoints: Vec<SocketAddr>,
    pub turbine_fanout: usize,
    pub snapshot_interval_slots: u64,
    pub snapshot_from: String,
    pub snapshot_catch_up_slots: u64,
}

impl ClusterSection {
    /// The cluster genesis file, when this node is a cluster validator.
    pub fn genesis_path(&self) -> Option<PathBuf> {
        (!self.genesis.is_empty()).then(|| PathBuf::from(&self.genesis))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct NodeSection {
    pub ledger: PathBuf,
    pub keys: PathBuf,
    pub faucet: bool,
    pub faucet_keypair: String,
    pub prefault_memory_mib: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct NetworkSection {
    pub tpu: SocketAddr,
    pub rpc: SocketAddr,
    pub metrics: SocketAddr,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ChainSection {
    pub slot_duration_ms: u64,
    pub fee_per_byte: u64,
    pub shred_version: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SigverifySection {
    pub backend: String,
    pub threads: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BankingSection {
    pub mempool_capacity: usize,
    pub execute_chunk: usize,
    pub block_transactions_max: usize,
    pub execution_workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct FetchSection {
    pub connections_max: usize,
    pub streams_per_connection_max: u32,
    pub transactions_per_second_per_connection: u32,
    pub socket_receive_buffer_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PipelineSection {
    pub pin_threads: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct AccountsSection {
    pub index_keys_reserved: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BlockstoreSection {
    pub limit_ledger_size: u64,
}

/// Overlays `overrides` (a partial TOML document) on `base`, table by table.
fn merge(base: &mut toml::Table, overrides: toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

impl NodeConfig {
    /// The defaults.
    pub fn default_config() -> NodeConfig {
        Self::parse("").expect("the embedded default configuration is valid")
    }

    /// Parses a (partial) configuration on top of the defaults, then validates it.
    pub fn parse(text: &str) -> Result<NodeConfig> {
        let mut base: toml::Table = DEFAULT_CONFIG.parse().expect("default config is TOML");
        let overrides: toml::Table = text.parse().context("not valid TOML")?;
        merge(&mut base, overrides);
        let config: NodeConfig = toml::Value::Table(base)
            .try_into()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<NodeConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in config {}", path.display()))
    }

    fn validate(&self) -> Result<()> {
        ensure!(
            (10..=60_000).contains(&self.chain.slot_duration_ms),
            "chain.slot_duration_ms must be between 10 and 60000"
        );
        ensure!(
            (1..=aether_pipeline::mempool::MEMPOOL_CAPACITY_MAX)
                .contains(&self.banking.mempool_capacity),
            "banking.mempool_capacity must be between 1 and {}",
            aether_pipeline::mempool::MEMPOOL_CAPACITY_MAX
        );
        ensure!(
            self.banking.execute_chunk > 0,
            "banking.execute_chunk must be positive"
        );
        ensure!(
            (1..=aether_types::block::MAX_BLOCK_TRANSACTIONS)
                .contains(&self.banking.block_transactions_max),
            "banking.block_transactions_max must be between 1 and {}",
            aether_types::block::MAX_BLOCK_TRANSACTIONS
        );
        ensure!(
            self.fetch.connections_max > 0,
            "fetch.connections_max must be positive"
        );
        ensure!(
            self.fetch.streams_per_connection_max > 0,
            "fetch.streams_per_connection_max must be positive"
        );
        ensure!(
            (4096..=1 << 30).contains(&self.fetch.socket_receive_buffer_bytes),
            "fetch.socket_receive_buffer_bytes must be between 4096 and 1073741824"
        );
        ensure!(
            self.accounts.index_keys_reserved <= aether_account_storage::INDEX_KEYS_RESERVED_MAX,
            "accounts.index_keys_reserved must be at most {}",
            aether_account_storage::INDEX_KEYS_RESERVED_MAX
        );
        ensure!(
            self.node.prefault_memory_mib <= PREFAULT_MEMORY_MIB_MAX,
            "node.prefault_memory_mib must be at most {PREFAULT_MEMORY_MIB_MAX}"
        );
        ensure!(
            self.cluster.turbine_fanout > 0,
            "cluster.turbine_fanout must be at least 1"
        );
        self.sigverify
            .backend
            .parse::<aether_kernels::BackendKind>()
            .map_err(|error| anyhow::anyhow!("sigverify.backend: {error}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_contract() {
        let config = NodeConfig::default_config();
        assert_eq!(config.network.tpu.to_string(), "127.0.0.1:8003");
        assert_eq!(config.network.rpc.to_string(), "127.0.0.1:8899");
        assert_eq!(config.network.metrics.to_string(), "127.0.0.1:9898");
        assert_eq!(config.chain.slot_duration_ms, 500);
        assert_eq!(
            config.cluster.turbine_fanout,
            aether_cluster::TURBINE_FANOUT_DEFAULT
        );
        assert_eq!(config.cluster.snapshot_interval_slots, 1_000);
        assert_eq!(config.cluster.snapshot_catch_up_slots, 5_000);
    }

    #[test]
    fn overrides_merge_and_typos_are_errors() {
        let config = NodeConfig::parse("[chain]\nslot_duration_ms = 100\n").expect("valid");
        assert_eq!(
            (config.chain.slot_duration_ms, config.chain.fee_per_byte),
            (100, 1)
        );
        let typo = NodeConfig::parse("[chain]\nslot_duration = 100\n").unwrap_err();
        assert!(format!("{typo:#}").contains("slot_duration"), "{typo:#}");
        assert!(NodeConfig::parse("[sigverify]\nbackend = \"quantum\"\n").is_err());
        assert!(NodeConfig::parse("[chain]\nslot_duration_ms = 0\n").is_err());
        for capacity in ["0", "10000001"] {
            let refused = NodeConfig::parse(&format!("[banking]\nmempool_capacity = {capacity}\n"))
                .unwrap_err();
            assert!(
                format!("{refused:#}").contains("mempool_capacity"),
                "{refused:#}"
            );
        }
        assert!(NodeConfig::parse("[banking]\nmempool_capacity = 10000000\n").is_ok());
        let too_much = NodeConfig::parse(&format!(
            "[node]\nprefault_memory_mib = {}\n",
            PREFAULT_MEMORY_MIB_MAX + 1
        ))
        .unwrap_err();
        assert!(
            format!("{too_much:#}").contains("prefault_memory_mib"),
            "{too_much:#}"
        );
        let off = NodeConfig::parse("[node]\nprefault_memory_mib = 0\n").expect("valid");
        assert_eq!(off.node.prefault_memory_mib, 0);
        assert_eq!(NodeConfig::default_config().node.prefault_memory_mib, 2048);
    }
}
