//! The vault end to end with a key file: storing, reading, kinds, rotation, recovery.

use super::credentials::{resolve_secret_env, set};
use super::keys::insert_key_row;
use super::*;
use crate::paths::Paths;
use crate::store::Store;
use crate::task::TaskSpec;
use std::path::PathBuf;

/// A home whose key file is `<tmp>/k/v.key` (tests must not depend on ORC_KEY_FILE or HOME);
/// returns the temp dir, the paths, the store and the key file's path. No vault yet.
fn setup() -> (tempfile::TempDir, Paths, Store, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k").join("v.key");
    let paths = Paths::at(dir.path().join("home")).with_key_file(key.clone());
    let store = Store::open(&paths.home).unwrap();
    (dir, paths, store, key)
}

/// [`setup`] with the vault created and protected by the key file (the Unix default; on
/// Windows DPAPI would be).
fn keyfile_vault() -> (tempfile::TempDir, Paths, Store, PathBuf) {
    let (dir, paths, mut store, key) = setup();
    let v =
        Vault::open_or_create_with(&mut store, &paths, false, KeyMethod::KeyFile, ACTOR).unwrap();
    assert_eq!(v.unlocked_by(), KeyMethod::KeyFile);
    (dir, paths, store, key)
}

/// Stores a `secret` credential non-interactively.
fn put(store: &mut Store, paths: &Paths, name: &str, value: &str) {
    set(store, paths, false, name, None, &Secret::from_string(value.into()), ACTOR).unwrap();
}

const ACTOR: Actor<'static> = Actor { command: "test" };

#[test]
fn secret_debug_is_redacted() {
    let s = Secret::from_string("CANARY-debug".into());
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(format!("{:?}", vec![s]), "[Secret(***)]");
}

#[test]
fn set_get_with_key_file_and_aad_binding() {
    let (_dir, paths, mut store, _) = keyfile_vault();
    put(&mut store, &paths, "db", "CANARY-one");
    put(&mut store, &paths, "api", "CANARY-two");
    let v = Vault::unlock(&store, &paths, false).unwrap();
    assert_eq!(v.unlocked_by(), KeyMethod::KeyFile);
    assert_eq!(v.get(&store, "db", Purpose::TaskEnv).unwrap().expose(), b"CANARY-one");
    assert_eq!(v.get(&store, "API", Purpose::TaskEnv).unwrap().expose(), b"CANARY-two");
    // Swap the two ciphertexts: both fail, opaquely.
    let envs: Vec<(i64, Vec<u8>)> = {
        let mut st = store.conn().prepare("SELECT id, envelope FROM credentials").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
    };
    assert_eq!(envs.len(), 2);
    for (i, (id, _)) in envs.iter().enumerate() {
        let other = &envs[1 - i].1;
        store
            .conn()
            .execute(
                "UPDATE credentials SET envelope = ?1 WHERE id = ?2",
                crate::store::sql::params![other, id],
            )
            .unwrap();
    }
    for name in ["db", "api"] {
        let e = v.get(&store, name, Purpose::TaskEnv).unwrap_err();
        assert!(matches!(e, VaultError::CannotDecrypt { .. }), "{e}");
        assert_eq!(e.exit_code(), 6);
        assert!(!e.to_string().contains("CANARY"));
    }
}

#[test]
fn kinds_restrict_purposes() {
    let (_dir, paths, mut store, _) = keyfile_vault();
    let v = Secret::from_string("pw-123456".into());
    set(&mut store, &paths, false, "smtp", Some(CredentialKind::SmtpPassword), &v, ACTOR).unwrap();
    let vault = Vault::unlock(&store, &paths, false).unwrap();
    assert!(vault.get(&store, "smtp", Purpose::Smtp).is_ok());
    let e = vault.get(&store, "smtp", Purpose::TaskEnv).unwrap_err();
    assert!(matches!(e, VaultError::WrongKind { .. }), "{e}");
    // Changing the kind column by hand breaks the AAD binding.
    store.conn().execute_batch("UPDATE credentials SET kind = 'secret'").unwrap();
    let e = vault.get(&store, "smtp", Purpose::TaskEnv).unwrap_err();
    assert!(matches!(e, VaultError::CannotDecrypt { .. }), "{e}");
}

#[test]
fn rotate_reencrypts_and_retires_the_old_key() {
    let (_dir, paths, mut store, key) = keyfile_vault();
    put(&mut store, &paths, "a", "value-a");
    let old_key = std::fs::read(&key).unwrap();
    let old_env: Vec<u8> =
        store.conn().query_row("SELECT envelope FROM credentials", [], |r| r.get(0)).unwrap();
    let report =
        rotate_key(&mut store, &paths, PassphraseSource::Ambient { interactive: false }, ACTOR)
            .unwrap();
    assert_eq!((report.old_key_id, report.new_key_id, report.credentials), (1, 2, 1));
    assert_ne!(std::fs::read(&key).unwrap(), old_key, "key file not rotated");
    let v = Vault::unlock(&store, &paths, false).unwrap();
    assert_eq!(v.key_id(), 2);
    assert_eq!(v.get(&store, "a", Purpose::TaskEnv).unwrap().expose(), b"value-a");
    // The old envelope names generation 1, which no longer exists.
    store.conn().execute("UPDATE credentials SET envelope = ?1", [old_env]).unwrap();
    assert!(matches!(v.get(&store, "a", Purpose::TaskEnv), Err(VaultError::CannotDecrypt { .. })));
}

#[test]
fn interrupted_rotation_is_finished_on_unlock() {
    let (_dir, paths, mut store, key) = keyfile_vault();
    put(&mut store, &paths, "a", "value-a");
    // Simulate: new KEK written to the side file and the database committed, then a crash
    // before the rename.
    let vault = Vault::unlock(&store, &paths, false).unwrap();
    let kek = keyfile::create_pending(&key).unwrap();
    let row = keyfile::wrap(&vault.dek, vault.key_id, &kek, &key).unwrap();
    store
        .write(|tx| -> Result<(), VaultError> {
            tx.execute("DELETE FROM vault_keys", []).map_err(tx_err("x"))?;
            insert_key_row(tx, &row)
        })
        .unwrap();
    let v = Vault::unlock(&store, &paths, false).unwrap();
    assert_eq!(v.get(&store, "a", Purpose::TaskEnv).unwrap().expose(), b"value-a");
    assert!(!keyfile::pending_path(&key).exists());
    assert_eq!(*keyfile::read(&key).unwrap(), *kek);
}

#[test]
fn missing_vault_keys_are_reported() {
    let (_dir, paths, mut store, _) = setup();
    assert!(matches!(Vault::unlock(&store, &paths, false), Err(VaultError::Locked { .. })));
    put(&mut store, &paths, "a", "v-a");
    store.conn().execute_batch("DELETE FROM vault_keys").unwrap();
    let e = Vault::unlock(&store, &paths, false).unwrap_err();
    assert!(e.to_string().contains("key records are missing"), "{e}");
}

#[test]
fn resolve_secret_env_for_a_task() {
    let (_dir, paths, mut store, _) = keyfile_vault();
    let mut spec = TaskSpec::new("t", "echo", "* * * * *");
    assert!(resolve_secret_env(&store, &paths, &spec, false).unwrap().is_empty());
    spec.secret_env.insert("DB_PASSWORD".into(), "db".into());
    let e = resolve_secret_env(&store, &paths, &spec, false).unwrap_err();
    assert!(matches!(e, VaultError::NotFound { .. }), "{e}");
    assert_eq!(e.exit_code(), 3);
    put(&mut store, &paths, "db", "s3cr3t!");
    let env = resolve_secret_env(&store, &paths, &spec, false).unwrap();
    assert_eq!(env.len(), 1);
    assert_eq!(env[0].0, "DB_PASSWORD");
    assert_eq!(env[0].1.expose(), b"s3cr3t!");
    let mut red = crate::exec::output::Redactor::new(&[env[0].1.expose().to_vec()]);
    let mut out = Vec::new();
    red.push(b"pw s3cr3t! ok", &mut out);
    red.finish(&mut out);
    assert_eq!(out, b"pw ****** ok");
}

#[test]
fn run_as_names_follow_the_credential_rule() {
    for acct in ["CORP\\svc_orc", "svc@corp.example", ".\\backup", "SYSTEM", "a b"] {
        let n = run_as_credential_name(acct);
        assert!(validate_credential_name(&n).is_ok(), "{acct} -> {n}");
    }
    assert_eq!(run_as_credential_name("CORP\\svc_orc"), "run-as-CORP-svc_orc");
    assert_eq!(run_as_credential_name("svc@corp.local"), "run-as-svc-at-corp.local");
    assert_eq!(run_as_credential_name(&"x".repeat(100)).len(), 64);
}

#[test]
fn credential_name_rule_is_worded_for_credentials() {
    let e = validate_credential_name("a b").unwrap_err();
    assert!(e.to_string().contains("credential name"), "{e}");
    assert!(!e.to_string().contains("task name"), "{e}");
}
