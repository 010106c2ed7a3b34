//! Where identities come from, in the order sops users expect. This is the one place in
//! the library that reads environment variables and key files, and runs
//! `SOPS_AGE_KEY_CMD`.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use gitseal_core::keys::Identities;
use gitseal_core::Error;

/// Identities named on the command line plus everything the environment offers, as sops
/// 3.11 reads them: `--identity` files, `GITSEAL_AGE_KEY_FILE`, `SOPS_AGE_KEY_FILE`,
/// `SOPS_AGE_KEY`, the output of `SOPS_AGE_KEY_CMD`,
/// `$XDG_CONFIG_HOME/sops/age/keys.txt` (else `~/.config/sops/age/keys.txt`), and SSH
/// keys: `SOPS_AGE_SSH_PRIVATE_KEY_FILE` and `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`.
///
/// Named sources must be usable: an identity file that cannot be read is an
/// [`Error::Io`] (exit 5), one in which no line is an identity an
/// [`Error::InvalidValue`] naming its first bad line (exit 3), a failing
/// `SOPS_AGE_KEY_CMD` an [`Error::Config`] (exit 6). Lines that are not identities are
/// otherwise skipped with a warning on stderr naming the source and line; default
/// locations are skipped when absent. Every place searched is recorded in
/// [`Identities::searched`] for the message when no identity opens a file.
pub fn load_identities(explicit: &[PathBuf]) -> Result<Identities, Error> {
    let mut ids = Identities::default();
    for path in explicit {
        add_file(&mut ids, &format!("--identity {}", path.display()), path, Need::Required)?;
    }
    for var in ["GITSEAL_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE"] {
        match std::env::var_os(var).filter(|v| !v.is_empty()) {
            Some(p) => add_file(&mut ids, &format!("{var}={}", Path::new(&p).display()), Path::new(&p), Need::Required)?,
            None => ids.note_searched(format!("{var} (not set)")),
        }
    }
    match std::env::var("SOPS_AGE_KEY").ok().filter(|t| !t.trim().is_empty()) {
        Some(text) => {
            let text = Zeroizing::new(text);
            add_text(&mut ids, "SOPS_AGE_KEY", &text, Need::Required)?;
        }
        None => ids.note_searched("SOPS_AGE_KEY (not set)"),
    }
    match std::env::var("SOPS_AGE_KEY_CMD").ok().filter(|c| !c.trim().is_empty()) {
        Some(cmd) => {
            let out = run_key_command(&cmd)?;
            add_text(&mut ids, "SOPS_AGE_KEY_CMD", &out, Need::Required)?;
        }
        None => ids.note_searched("SOPS_AGE_KEY_CMD (not set)"),
    }
    match default_keys_file() {
        Some(p) => add_file(&mut ids, &p.display().to_string(), &p, Need::Optional)?,
        None => ids.note_searched("the default keys.txt (neither XDG_CONFIG_HOME nor HOME is set)"),
    }
    // SSH keys as sops 3.11 reads them: the named key file, and both default keys.
    match std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            add_file(&mut ids, &format!("SOPS_AGE_SSH_PRIVATE_KEY_FILE={}", p.display()), &p, Need::Required)?;
        }
        None => ids.note_searched("SOPS_AGE_SSH_PRIVATE_KEY_FILE (not set)"),
    }
    if let Some(home) = home_dir() {
        for name in ["id_ed25519", "id_rsa"] {
            let path = home.join(".ssh").join(name);
            add_file(&mut ids, &path.display().to_string(), &path, Need::DefaultSsh)?;
        }
    }
    for w in &ids.warnings {
        eprintln!("gitseal: warning: {w}");
    }
    Ok(ids)
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
        Err(gitseal_core::keys::KeyError::MalformedIdentity { source_name, line, reason }) => {
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
fn key_reason(e: &gitseal_core::keys::KeyError) -> String {
    match e {
        gitseal_core::keys::KeyError::BadIdentity { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Runs `SOPS_AGE_KEY_CMD` as sops does: split into words as a shell would (no shell
/// runs), standard output read as identity lines. Its standard error is passed through;
/// a command that cannot start or exits non-zero is an error naming the variable.
fn run_key_command(cmd: &str) -> Result<Zeroizing<String>, Error> {
    let fail = |msg: String| Error::Config { file: "SOPS_AGE_KEY_CMD".into(), msg };
    let words = crate::shell_words::split(cmd).map_err(|e| fail(format!("cannot split the command into words: {e}")))?;
    let Some((program, args)) = words.split_first() else { return Err(fail("the command is empty".into())) };
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("cannot run {program:?}: {e}")))?;
    let stdout = Zeroizing::new(out.stdout);
    if !out.status.success() {
        return Err(fail(format!("{program:?} failed ({})", out.status)));
    }
    let text = std::str::from_utf8(&stdout).map_err(|_| fail("the command's output is not UTF-8 text".into()))?;
    Ok(Zeroizing::new(text.to_owned()))
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

/// Reads one identity file. `label` says where it was named (flag or variable).
fn add_file(ids: &mut Identities, label: &str, path: &Path, need: Need) -> Result<(), Error> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
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
