//! `aetherctl snapshot create | verify | load` on a real ledger.

use std::process::Command;
use std::sync::Arc;

use aether_accounts_db::{ACCOUNTS_DIRECTORY, AccountsDb, AccountsDbOptions, GENESIS_PARENT};
use aether_types::Hash;

fn aetherctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aetherctl"))
}

#[test]
fn create_verify_load_and_refuse_damage() {
    let work = tempfile::tempdir().unwrap();
    let ledger = work.path().join("ledger");
    let block = Hash([7; 32]);
    let root = {
        let (mut accounts, _) = AccountsDb::open(
            &ledger.join(ACCOUNTS_DIRECTORY),
            AccountsDbOptions::default(),
        )
        .unwrap();
        let writes = (0..2000u32)
            .map(|index| {
                (
                    Hash::digest(&index.to_le_bytes()),
                    Some(Arc::from(&index.to_le_bytes()[..])),
                )
            })
            .collect();
        let root = accounts
            .apply_block(GENESIS_PARENT, block, 42, writes)
            .unwrap();
        accounts.finalize(&block).unwrap();
        root
    };
    let file = work.path().join("state.snapshot");
    let created = aetherctl()
        .args(["snapshot", "create", "--ledger"])
        .arg(&ledger)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let text = String::from_utf8_lossy(&created.stdout);
    assert!(
        text.contains("slot 42")
            && text.contains(&root.to_string())
            && text.contains("2000 entries"),
        "{text}"
    );

    let verified = aetherctl()
        .args(["snapshot", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(verified.status.success());

    let new_ledger = work.path().join("new-ledger");
    let loaded = aetherctl()
        .args(["snapshot", "load"])
        .arg(&file)
        .arg("--ledger")
        .arg(&new_ledger)
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let (accounts, _) = AccountsDb::open(
        &new_ledger.join(ACCOUNTS_DIRECTORY),
        AccountsDbOptions::default(),
    )
    .unwrap();
    assert_eq!(accounts.last_finalized().state_root, root);
    drop(accounts);

    // Loading again into the now non-empty ledger is refused.
    let again = aetherctl()
        .args(["snapshot", "load"])
        .arg(&file)
        .arg("--ledger")
        .arg(&new_ledger)
        .output()
        .unwrap();
    assert!(!again.status.success());

    // A damaged file is a clear error naming it, and loads nothing.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 7);
    let damaged = work.path().join("damaged.snapshot");
    std::fs::write(&damaged, bytes).unwrap();
    let third_ledger = work.path().join("third-ledger");
    let refused = aetherctl()
        .args(["snapshot", "load"])
        .arg(&damaged)
        .arg("--ledger")
        .arg(&third_ledger)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("damaged.snapshot"));
    assert!(!third_ledger.join(ACCOUNTS_DIRECTORY).exists());
}
