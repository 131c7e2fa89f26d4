//! Booting a cluster validator from a peer's snapshot (`cluster.snapshot_from`), for a
//! validator that starts late or far behind: peers no longer hold the blocks it missed,
//! so it takes the state at a recent final block instead of replaying from genesis.
//!
//! Nothing the peer says is trusted: the snapshot's bundle is checked against the
//! cluster genesis ([`SnapshotBundle::verify`]: the block's finality proof, the header
//! chain, the epoch nonce), the state file's header must name that block and its state
//! root, and loading the state recomputes and checks the root. Then the consensus root
//! record is written for that block and the bundle kept as `consensus-boot.bin`, from
//! which the driver takes the epoch nonce and VRF outputs (the blockstore holds no
//! earlier blocks). The validator then catches up from that block by fetching what
//! follows it.
//!
//! The ledger must hold no state. A validator that voted before keeps its
//! `consensus-safety.bin`: the safety state then still bars it from voting twice in a
//! round; a fresh validator starts with an empty one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use aether_accounts_db::snapshot::read_snapshot_header;
use aether_cluster::snapshot_writer::{BUNDLE_FILE, STATE_FILE};
use aether_cluster::{RootStore, SnapshotBundle, VerifiedBundle};
use aether_genesis::ClusterGenesis;
use aether_types::codec::{decode_exact, encode};
use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::cluster::{BOOT_FILE, ROOT_FILE, verify_bundle};

/// Largest `latest` answer and bundle taken from a peer.
const SMALL_FILE_BYTES_MAX: u64 = 256 << 20;
/// Largest state snapshot taken from a peer.
const STATE_FILE_BYTES_MAX: u64 = 1 << 40;
/// How long one read from the peer may stall.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Downloads `peer`'s newest snapshot (`http://host:port` of its JSON-RPC), checks it
/// against `genesis` and loads it into the empty `accounts_dir`; writes the root record
/// and the boot bundle into `ledger`. Returns the checked bundle.
pub fn boot_from_peer(
    peer: &str,
    genesis: &ClusterGenesis,
    ledger: &Path,
    accounts_dir: &Path,
) -> Result<VerifiedBundle> {
    let address = peer
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("cluster.snapshot_from {peer:?} must be http://host:port"))?
        .trim_end_matches('/');
    let latest = http_get(address, "/snapshot/latest", SMALL_FILE_BYTES_MAX)?;
    let slot: u64 = String::from_utf8_lossy(&latest)
        .trim()
        .parse()
        .with_context(|| format!("{peer} has no snapshot to offer"))?;
    tracing::info!(peer, slot, "downloading a snapshot");
    let bundle_bytes = http_get(
        address,
        &format!("/snapshot/{slot}/{BUNDLE_FILE}"),
        SMALL_FILE_BYTES_MAX,
    )?;
    let bundle: SnapshotBundle =
        decode_exact(&bundle_bytes).context("the peer's snapshot bundle does not decode")?;
    let verified = verify_bundle(genesis, &bundle)
        .context("the peer's snapshot bundle does not prove its block final")?;
    ensure!(
        verified.root.block.round == slot,
        "the peer's bundle is for slot {}, not {slot}",
        verified.root.block.round
    );

    let incoming = ledger.join("incoming.snapshot");
    {
        let (mut body, length) = http_get_body(
            address,
            &format!("/snapshot/{slot}/{STATE_FILE}"),
            STATE_FILE_BYTES_MAX,
        )?;
        let mut file = std::fs::File::create(&incoming)
            .with_context(|| format!("writing {}", incoming.display()))?;
        let copied = std::io::copy(&mut body, &mut file)?;
        ensure!(
            copied == length,
            "the state snapshot ended after {copied} of {length} bytes"
        );
        file.sync_all()?;
    }
    let header = read_snapshot_header(&incoming)?;
    let block = &bundle.proof.block;
    ensure!(
        header.block_hash == block.hash()
            && header.slot == block.header.slot
            && header.state_root == block.header.state_root,
        "the peer's state snapshot is not of the block its bundle proves final"
    );
    crate::node::load_snapshot_into(&incoming, accounts_dir)?;
    std::fs::remove_file(&incoming).ok();

    RootStore::new(ledger.join(ROOT_FILE))
        .save(&verified.root)
        .context("saving the consensus root")?;
    let boot = ledger.join(BOOT_FILE);
    std::fs::write(&boot, encode(&bundle))
        .and_then(|()| std::fs::File::open(&boot)?.sync_all())
        .with_context(|| format!("writing {}", boot.display()))?;
    tracing::info!(
        slot,
        hash = %block.hash(),
        state_root = %header.state_root,
        "booted from a peer's snapshot"
    );
    Ok(verified)
}

/// `GET path` on `address`: the whole body, at most `bytes_max` bytes.
fn http_get(address: &str, path: &str, bytes_max: u64) -> Result<Vec<u8>> {
    let (body, length) = http_get_body(address, path, bytes_max)?;
    let mut bytes = Vec::with_capacity(length.min(1 << 20) as usize);
    body.take(length).read_to_end(&mut bytes)?;
    ensure!(
        bytes.len() as u64 == length,
        "GET {path}: the answer ended after {} of {length} bytes",
        bytes.len()
    );
    Ok(bytes)
}

/// `GET path` on `address` (HTTP/1.1, `Content-Length` required, at most `bytes_max`):
/// the body as a reader limited to its length, and the length.
fn http_get_body(
    address: &str,
    path: &str,
    bytes_max: u64,
) -> Result<(std::io::Take<BufReader<TcpStream>>, u64)> {
    let socket = address
        .to_socket_addrs()
        .with_context(|| format!("resolving {address}"))?
        .next()
        .ok_or_else(|| anyhow!("{address} resolves to nothing"))?;
    let mut stream = TcpStream::connect_timeout(&socket, READ_TIMEOUT)
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        bail!("GET {path} from {address}: {}", status.trim());
    }
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<u64>().ok();
        }
    }
    let length = length.ok_or_else(|| anyhow!("GET {path}: no Content-Length"))?;
    ensure!(
        length <= bytes_max,
        "GET {path}: {length} bytes is more than {bytes_max}"
    );
    Ok((reader.take(length), length))
}
