//! `aetherctl snapshot`: create, verify and load state snapshots of a stopped node.
//!
//! The account state lives in `LEDGER/accounts`; the node must be stopped (the store's
//! lock file refuses a second user).

use std::path::Path;
use std::time::Instant;

use aether_accounts_db::snapshot::{
    SnapshotHeader, create_snapshot, load_snapshot, read_snapshot_header, verify_snapshot,
};
use aether_accounts_db::{ACCOUNTS_DIRECTORY, AccountsDb, AccountsDbOptions};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

fn progress_bar(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entries ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

fn describe(header: &SnapshotHeader) -> String {
    format!(
        "slot {}, block {}, state root {}, {} entries, {} bytes compressed",
        header.slot, header.block_hash, header.state_root, header.entry_count, header.body_bytes
    )
}

/// `aetherctl snapshot create --ledger DIR --out FILE`.
pub fn create(ledger: &Path, out: &Path) -> Result<String> {
    let accounts_dir = ledger.join(ACCOUNTS_DIRECTORY);
    let started = Instant::now();
    let (accounts, _) = AccountsDb::open(&accounts_dir, AccountsDbOptions::default())
        .with_context(|| format!("opening the account state in {}", accounts_dir.display()))?;
    let bar = progress_bar("writing");
    let header = create_snapshot(&accounts, out, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .with_context(|| format!("writing {}", out.display()))?;
    bar.finish_and_clear();
    Ok(format!(
        "wrote {}: {} ({:.1} s)\n",
        out.display(),
        describe(&header),
        started.elapsed().as_secs_f64()
    ))
}

/// `aetherctl snapshot verify FILE`.
pub fn verify(file: &Path) -> Result<String> {
    let header = read_snapshot_header(file)?;
    let bar = progress_bar("verifying");
    bar.set_length(header.entry_count);
    verify_snapshot(file, &mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(format!(
        "{} verifies: {}\n",
        file.display(),
        describe(&header)
    ))
}

/// `aetherctl snapshot load FILE --ledger DIR`.
pub fn load(file: &Path, ledger: &Path) -> Result<String> {
    let accounts_dir = ledger.join(ACCOUNTS_DIRECTORY);
    std::fs::create_dir_all(ledger).with_context(|| format!("creating {}", ledger.display()))?;
    let header = read_snapshot_header(file)?;
    let bar = progress_bar("loading");
    bar.set_length(header.entry_count);
    load_snapshot(file, &accounts_dir, &mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    // Open once the way the node will: recovery plus a root check.
    AccountsDb::open(&accounts_dir, AccountsDbOptions::default())
        .with_context(|| format!("reopening {}", accounts_dir.display()))?;
    Ok(format!(
        "loaded into {}: {}\n",
        accounts_dir.display(),
        describe(&header)
    ))
}
