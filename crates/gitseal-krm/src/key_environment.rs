//! The process's key sources for `gitseal_core::keys::discovery`: environment variables,
//! files, and `SOPS_AGE_KEY_CMD` run as sops runs it, so the function finds the keys the
//! `gitseal` CLI and `sops` find in the same environment.

use std::ffi::OsString;
use std::path::Path;

use gitseal_core::keys::discovery::KeyEnvironment;
use gitseal_core::shell_words;
use gitseal_core::Error;
use zeroize::Zeroizing;

/// This process's environment, file system and key command.
pub struct ProcessEnvironment;

impl KeyEnvironment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
        std::fs::read(path).map(Zeroizing::new)
    }

    /// Splits the command into words as a shell would (no shell runs) and reads its
    /// standard output; its standard error goes to ours, which kustomize shows.
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
