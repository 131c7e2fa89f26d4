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
//!
//! A validator whose ledger holds state boots from the peer's snapshot only when it is
//! far behind ([`far_behind`]: the peer's newest snapshot is more than
//! `cluster.snapshot_catch_up_slots` past its last final block). Its old ledger is then
//! moved aside whole ([`set_aside_ledger`]: nothing is deleted), keeping in place only
//! what must survive any restart: the safety state and the equivocation evidence.

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

use crate::cluster::{BOOT_FILE, EVIDENCE_FILE, ROOT_FILE, SAFETY_STATE_FILE, verify_bundle};

/// Prefix of the directories old ledgers are moved into (`superseded-<unix seconds>`).
pub const SUPERSEDED_PREFIX: &str = "superseded-";

fn peer_address(peer: &str) -> Result<&str> {
    Ok(peer
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("cluster.snapshot_from {peer:?} must be http://host:port"))?
        .trim_end_matches('/'))
}

/// The slot of `peer`'s newest snapshot.
fn latest_snapshot_slot(address: &str, peer: &str) -> Result<u64> {
    let latest = http_get(address, "/snapshot/latest", SMALL_FILE_BYTES_MAX)?;
    String::from_utf8_lossy(&latest)
        .trim()
        .parse()
        .with_context(|| format!("{peer} has no snapshot to offer"))
}

/// The slot of `peer`'s newest snapshot when it is more than `threshold_slots` past
/// `final_slot` (this node's last final block), else `None`. A peer that cannot be
/// asked is not a reason to stop: the node then catches up by fetching blocks.
pub fn far_behind(peer: &str, final_slot: u64, threshold_slots: u64) -> Option<u64> {
    if threshold_slots == 0 {
        return None;
    }
    let asked = peer_address(peer).and_then(|address| latest_snapshot_slot(address, peer));
    match asked {
        Ok(slot) if slot > final_slot.saturating_add(threshold_slots) => {
            tracing::info!(
                peer,
                final_slot,
                peer_snapshot_slot = slot,
                threshold_slots,
                "far behind the peer's newest snapshot"
            );
            Some(slot)
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(peer, error = %format!("{error:#}"), "cannot ask the peer for its newest snapshot; catching up by fetching blocks");
            None
        }
    }
}

/// What a ledger keeps in place when it is set aside: the safety state and the
/// evidence (both must survive any restart) and earlier superseded ledgers.
fn stays_in_place(name: &str) -> bool {
    name == SAFETY_STATE_FILE || name == EVIDENCE_FILE || name.starts_with(SUPERSEDED_PREFIX)
}

/// Undoes [`set_aside_ledger`] after a failed boot: removes what the boot left in
/// `ledger` (kept files excepted) and moves the old ledger back from `aside`.
pub fn put_back_ledger(ledger: &Path, aside: &Path) -> Result<()> {
    for entry in std::fs::read_dir(ledger)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if stays_in_place(&name) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    for entry in std::fs::read_dir(aside)? {
        let entry = entry?;
        std::fs::rename(entry.path(), ledger.join(entry.file_name()))?;
    }
    std::fs::remove_dir(aside)?;
    std::fs::File::open(ledger)?.sync_all()?;
    Ok(())
}

/// Moves everything in `ledger` except the safety state, the evidence log and earlier
/// superseded ledgers into a new `ledger/superseded-<unix seconds>/`, and returns it.
pub fn set_aside_ledger(ledger: &Path) -> Result<std::path::PathBuf> {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let aside = ledger.join(format!("{SUPERSEDED_PREFIX}{seconds}"));
    std::fs::create_dir(&aside).with_context(|| format!("creating {}", aside.display()))?;
    for entry in
        std::fs::read_dir(ledger).with_context(|| format!("reading {}", ledger.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if stays_in_place(&name) {
            continue;
        }
        std::fs::rename(entry.path(), aside.join(&*name)).with_context(|| {
            format!("moving {} into {}", entry.path().display(), aside.display())
        })?;
    }
    std::fs::File::open(ledger)?.sync_all()?;
    tracing::warn!(
        directory = %aside.display(),
        "the old ledger was moved aside (delete it once the node runs from the snapshot)"
    );
    Ok(aside)
}

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
    let address = peer_address(peer)?;
    let slot = latest_snapshot_slot(address, peer)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::write(path, path.to_string_lossy().as_bytes()).unwrap();
    }

    #[test]
    fn an_old_ledger_is_set_aside_whole_and_can_be_put_back() {
        let directory = tempfile::tempdir().unwrap();
        let ledger = directory.path();
        std::fs::create_dir(ledger.join("accounts")).unwrap();
        touch(&ledger.join("accounts").join("data"));
        for file in [
            SAFETY_STATE_FILE,
            EVIDENCE_FILE,
            ROOT_FILE,
            "consensus-vrf.log",
        ] {
            touch(&ledger.join(file));
        }
        let aside = set_aside_ledger(ledger).unwrap();
        assert!(aside.join("accounts").join("data").exists());
        assert!(aside.join(ROOT_FILE).exists() && aside.join("consensus-vrf.log").exists());
        assert!(!ledger.join("accounts").exists() && !ledger.join(ROOT_FILE).exists());
        // What must survive any restart stays in place.
        assert!(ledger.join(SAFETY_STATE_FILE).exists() && ledger.join(EVIDENCE_FILE).exists());

        // A failed boot left partial state: it is removed and the old ledger is back.
        std::fs::create_dir(ledger.join("accounts")).unwrap();
        touch(&ledger.join("accounts").join("partial"));
        touch(&ledger.join("incoming.snapshot"));
        put_back_ledger(ledger, &aside).unwrap();
        assert!(!aside.exists());
        assert!(ledger.join("accounts").join("data").exists());
        assert!(!ledger.join("accounts").join("partial").exists());
        assert!(!ledger.join("incoming.snapshot").exists());
        assert!(ledger.join(ROOT_FILE).exists() && ledger.join(SAFETY_STATE_FILE).exists());
    }

    #[test]
    fn far_behind_needs_an_answering_peer_and_a_threshold() {
        // Nothing listens on port 1: not far behind (the node fetches blocks instead).
        assert_eq!(far_behind("http://127.0.0.1:1", 0, 10), None);
        assert_eq!(far_behind("not a url", 0, 10), None);
        // 0 turns the check off without asking anyone.
        assert_eq!(far_behind("http://127.0.0.1:1", 0, 0), None);
    }
}
