//! Where identities come from, in the order sops users expect. This is the one place in
//! the library that reads environment variables and key files.

use std::path::{Path, PathBuf};

use super::{Identities, KeyError};

/// Identities named on the command line plus everything the environment offers:
/// `GITSEAL_AGE_KEY_FILE`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`,
/// `$XDG_CONFIG_HOME/sops/age/keys.txt` (else `~/.config/sops/age/keys.txt`), then SSH
/// keys: `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, else `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`.
///
/// Explicitly named files must exist; default locations are skipped when absent.
pub fn load_identities(explicit: &[PathBuf]) -> Result<Identities, KeyError> {
    let mut ids = Identities::default();
    for path in explicit {
        add_file(&mut ids, path, true)?;
    }
    for var in ["GITSEAL_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"] {
        if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            add_file(&mut ids, Path::new(&p), true)?;
        }
    }
    if let Ok(text) = std::env::var("SOPS_AGE_KEY") {
        if !text.trim().is_empty() {
            ids.add_text("SOPS_AGE_KEY", &text)?;
        }
    }
    if let Some(p) = default_keys_file() {
        add_file(&mut ids, &p, false)?;
    }
    match std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE").filter(|v| !v.is_empty()) {
        Some(p) => add_file(&mut ids, Path::new(&p), true)?,
        None => {
            if let Some(home) = home_dir() {
                for name in ["id_ed25519", "id_rsa"] {
                    // A default SSH key we cannot use (passphrase, odd type) is not an error.
                    let _ = add_file(&mut ids, &home.join(".ssh").join(name), false);
                }
            }
        }
    }
    Ok(ids)
}

/// `$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`.
pub fn default_keys_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => home_dir()?.join(".config"),
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn add_file(ids: &mut Identities, path: &Path, required: bool) -> Result<(), KeyError> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = zeroize::Zeroizing::new(bytes);
            let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::BadIdentity { source_name: name.clone(), reason: "not UTF-8 text".into() })?;
            ids.add_text(&name, text)?;
            Ok(())
        }
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(KeyError::BadIdentity { source_name: name, reason: e.to_string() }),
    }
}
