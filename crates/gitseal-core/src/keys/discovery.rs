//! Where identities come from, in the order sops users expect: the rules, without the
//! process access. The caller hands in a [`KeyEnvironment`] (the `gitseal` CLI and the
//! kustomize function read the real environment, files and `SOPS_AGE_KEY_CMD`; tests
//! give a map), so every program that opens sops files finds the same keys.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{Identities, KeyError};
use crate::error::Error;

/// What discovery reads from the process it runs in.
pub trait KeyEnvironment {
    /// The value of environment variable `name`, `None` when it is not set.
    fn var(&self, name: &str) -> Option<OsString>;
    /// The bytes of the file at `path`.
    fn read_file(&self, path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>>;
    /// The standard output of `SOPS_AGE_KEY_CMD` (`command` is the variable's value), run
    /// as sops runs it; a command that cannot start or fails is an [`Error::Config`]
    /// naming the variable.
    fn run_key_command(&self, command: &str) -> Result<Zeroizing<String>, Error>;
}

/// Identities named explicitly (`explicit`, the CLI's `--identity` files) plus everything
/// the environment offers, as sops 3.11 reads them: `GITSEAL_AGE_KEY_FILE`,
/// `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`, the output of `SOPS_AGE_KEY_CMD`,
/// `$XDG_CONFIG_HOME/sops/age/keys.txt` (else `~/.config/sops/age/keys.txt`), and SSH
/// keys: `SOPS_AGE_SSH_PRIVATE_KEY_FILE` and `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`.
///
/// Named sources must be usable: an identity file that cannot be read is an
/// [`Error::Io`], one in which no line is an identity an [`Error::InvalidValue`] naming
/// its first bad line, a failing `SOPS_AGE_KEY_CMD` an [`Error::Config`]. Lines that are
/// not identities are otherwise skipped with a warning in [`Identities::warnings`]
/// naming the source and line (the caller prints them); default locations are skipped
/// when absent. Every place searched is recorded in [`Identities::searched`] for the
/// message when no identity opens a file.
pub fn discover_identities(explicit: &[PathBuf], env: &dyn KeyEnvironment) -> Result<Identities, Error> {
    let mut ids = Identities::default();
    for path in explicit {
        add_file(env, &mut ids, &format!("--identity {}", path.display()), path, Need::Required)?;
    }
    for var in ["GITSEAL_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"] {
        match env.var(var).filter(|v| !v.is_empty()) {
            Some(p) => add_file(env, &mut ids, &format!("{var}={}", Path::new(&p).display()), Path::new(&p), Need::Required)?,
            None => ids.note_searched(format!("{var} (not set)")),
        }
    }
    match text_var(env, "SOPS_AGE_KEY") {
        Some(text) => add_text(&mut ids, "SOPS_AGE_KEY", &text, Need::Required)?,
        None => ids.note_searched("SOPS_AGE_KEY (not set)"),
    }
    match text_var(env, "SOPS_AGE_KEY_CMD") {
        Some(cmd) => {
            let out = env.run_key_command(&cmd)?;
            add_text(&mut ids, "SOPS_AGE_KEY_CMD", &out, Need::Required)?;
        }
        None => ids.note_searched("SOPS_AGE_KEY_CMD (not set)"),
    }
    match default_keys_file(env) {
        Some(p) => add_file(env, &mut ids, &p.display().to_string(), &p, Need::Optional)?,
        None => ids.note_searched("the default keys.txt (neither XDG_CONFIG_HOME nor HOME is set)"),
    }
    // SSH keys as sops 3.11 reads them: the named key file, and both default keys.
    match env.var("SOPS_AGE_SSH_PRIVATE_KEY_FILE").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            add_file(env, &mut ids, &format!("SOPS_AGE_SSH_PRIVATE_KEY_FILE={}", p.display()), &p, Need::Required)?;
        }
        None => ids.note_searched("SOPS_AGE_SSH_PRIVATE_KEY_FILE (not set)"),
    }
    if let Some(home) = home_dir(env) {
        for name in ["id_ed25519", "id_rsa"] {
            let path = home.join(".ssh").join(name);
            add_file(env, &mut ids, &path.display().to_string(), &path, Need::DefaultSsh)?;
        }
    }
    Ok(ids)
}

/// `$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`; `None`
/// when neither variable is set.
pub fn default_keys_file(env: &dyn KeyEnvironment) -> Option<PathBuf> {
    let base = match env.var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => home_dir(env)?.join(".config"),
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

/// A variable holding text (a key, a command): unset, blank or not UTF-8 counts as unset.
fn text_var(env: &dyn KeyEnvironment, name: &str) -> Option<Zeroizing<String>> {
    let value = Zeroizing::new(env.var(name)?.into_string().ok()?);
    (!value.trim().is_empty()).then_some(value)
}

fn home_dir(env: &dyn KeyEnvironment) -> Option<PathBuf> {
    env.var("HOME").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// How much a source must hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Named by the user: must exist and hold at least one identity.
    Required,
    /// A default location: may be absent; lines that are not identities are warnings.
    Optional,
    /// A default SSH key: may be absent, and one gitseal cannot use (passphrase, key
    /// type) is a warning, not an error.
    DefaultSsh,
}

fn add_text(ids: &mut Identities, name: &str, text: &str, need: Need) -> Result<(), Error> {
    let added = match need {
        Need::Required => ids.add_text(name, text),
        Need::Optional | Need::DefaultSsh => ids.add_text_lenient(name, text),
    };
    match added {
        Ok(n) => {
            ids.note_searched(format!("{name} ({n} identit{})", if n == 1 { "y" } else { "ies" }));
            Ok(())
        }
        Err(KeyError::MalformedIdentity { source_name, line, reason }) => {
            Err(Error::InvalidValue { file: source_name, line: line as u32, msg: format!("identity file: {reason}") })
        }
        Err(e) if need == Need::DefaultSsh => {
            // A passphrase-protected default key is common and not an error: say it only
            // when no identity opens a file.
            ids.note_searched(format!("{name} (not usable: {})", key_reason(&e)));
            Ok(())
        }
        Err(e) => Err(Error::Config { file: name.to_owned(), msg: format!("identity file: {}", key_reason(&e)) }),
    }
}

/// The reason of a key error without its source name (the caller names the source).
fn key_reason(e: &KeyError) -> String {
    match e {
        KeyError::BadIdentity { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Reads one identity file. `label` says where it was named (flag or variable).
fn add_file(env: &dyn KeyEnvironment, ids: &mut Identities, label: &str, path: &Path, need: Need) -> Result<(), Error> {
    let name = path.display().to_string();
    match env.read_file(path) {
        Ok(bytes) => {
            let Ok(text) = std::str::from_utf8(&bytes) else {
                if need == Need::DefaultSsh {
                    ids.note_searched(format!("{label} (not usable)"));
                    return Ok(());
                }
                return Err(Error::Config { file: name, msg: "identity file: not UTF-8 text".into() });
            };
            add_text(ids, &name, text, need)?;
            // The entry `add_text` noted is named by path; say how it was named too.
            if let Some(last) = ids.searched.last_mut() {
                if label != name {
                    *last = last.replacen(&name, label, 1);
                }
            }
            Ok(())
        }
        Err(e) if need != Need::Required && e.kind() == std::io::ErrorKind::NotFound => {
            ids.note_searched(format!("{label} (not found)"));
            Ok(())
        }
        Err(e) => Err(Error::Io { file: name, action: "cannot read the identity file", source: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An environment of variables and files in memory; key commands print `command`'s text.
    #[derive(Default)]
    struct MapEnv {
        vars: HashMap<&'static str, String>,
        files: HashMap<PathBuf, String>,
    }

    impl KeyEnvironment for MapEnv {
        fn var(&self, name: &str) -> Option<OsString> {
            self.vars.get(name).map(OsString::from)
        }
        fn read_file(&self, path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
            self.files.get(path).map(|t| Zeroizing::new(t.as_bytes().to_vec())).ok_or_else(|| std::io::ErrorKind::NotFound.into())
        }
        fn run_key_command(&self, command: &str) -> Result<Zeroizing<String>, Error> {
            Ok(Zeroizing::new(command.strip_prefix("echo ").unwrap_or_default().to_owned()))
        }
    }

    const KEY: &str = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQ";

    fn demo_key() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../keys-example/demo.agekey")).expect("the demo key")
    }

    #[test]
    fn every_source_is_searched_in_sops_order() {
        let mut env = MapEnv::default();
        env.vars.insert("HOME", "/home/u".into());
        env.vars.insert("SOPS_AGE_KEY", demo_key());
        let ids = discover_identities(&[], &env).expect("discovered");
        let places = ids.searched.join("|");
        let order = [
            "GITSEAL_AGE_KEY_FILE",
            "SOPS_AGE_KEY_FILE",
            "SOPS_AGE_KEY (1 identity)",
            "SOPS_AGE_KEY_CMD",
            "/home/u/.config/sops/age/keys.txt (not found)",
            "SOPS_AGE_SSH",
        ];
        let positions: Vec<usize> = order.iter().map(|p| places.find(p).unwrap_or_else(|| panic!("{p} missing in {places}"))).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{places}");
    }

    #[test]
    fn a_named_key_file_that_is_missing_is_an_error() {
        let mut env = MapEnv::default();
        env.vars.insert("SOPS_AGE_KEY_FILE", "/nowhere/keys.txt".into());
        let err = discover_identities(&[], &env).expect_err("missing named file");
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("/nowhere/keys.txt"), "{err}");
    }

    #[test]
    fn xdg_config_home_picks_the_default_keys_file() {
        let mut env = MapEnv::default();
        env.vars.insert("XDG_CONFIG_HOME", "/cfg".into());
        env.vars.insert("HOME", "/home/u".into());
        assert_eq!(default_keys_file(&env), Some(PathBuf::from("/cfg/sops/age/keys.txt")));
        env.files.insert(PathBuf::from("/cfg/sops/age/keys.txt"), demo_key());
        let ids = discover_identities(&[], &env).expect("discovered");
        assert!(ids.searched.iter().any(|s| s == "/cfg/sops/age/keys.txt (1 identity)"), "{:?}", ids.searched);
    }

    #[test]
    fn a_malformed_named_key_names_its_line_and_not_its_text() {
        let mut env = MapEnv::default();
        env.vars.insert("SOPS_AGE_KEY_CMD", format!("echo {}", &KEY[..40]));
        let err = discover_identities(&[], &env).expect_err("no identity in the output");
        let msg = err.to_string();
        assert!(msg.contains("SOPS_AGE_KEY_CMD"), "{msg}");
        assert!(!msg.contains(&KEY[15..40]), "the key text leaked: {msg}");
    }
}
