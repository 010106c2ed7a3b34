//! Identities from this process's environment: the discovery rules of
//! `gitseal_core::keys::discovery` over the real environment variables and files, with
//! `SOPS_AGE_KEY_CMD` run as sops runs it. The one place in the CLI that reads key
//! sources.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use gitseal_core::keys::discovery::{discover_identities, KeyEnvironment};
use gitseal_core::keys::Identities;
use gitseal_core::shell_words;
use gitseal_core::Error;

/// Identities named on the command line plus everything the environment offers, in the
/// order and with the rules of [`discover_identities`]. Warnings about lines that are
/// not identities are printed to stderr, naming the source and line.
pub fn load_identities(explicit: &[PathBuf]) -> Result<Identities, Error> {
    let ids = discover_identities(explicit, &ProcessEnvironment)?;
    for w in &ids.warnings {
        eprintln!("gitseal: warning: {w}");
    }
    Ok(ids)
}

/// The process's environment, file system and key command.
struct ProcessEnvironment;

impl KeyEnvironment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
        std::fs::read(path).map(Zeroizing::new)
    }

    /// Runs `SOPS_AGE_KEY_CMD` as sops does: split into words as a shell would (no shell
    /// runs), standard output read as identity lines. Its standard error is passed
    /// through; a command that cannot start or exits non-zero is an error naming the
    /// variable.
    fn run_key_command(&self, cmd: &str) -> Result<Zeroizing<String>, Error> {
        let fail = |msg: String| Error::Config { file: "SOPS_AGE_KEY_CMD".into(), msg };
        let words = shell_words::split(cmd).map_err(|e| fail(format!("cannot split the command into words: {e}")))?;
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
}
