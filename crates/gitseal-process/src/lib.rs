//! What gitseal's command-line programs (`gitseal` and `gitseal-krm`) do with their own
//! process, in one place so that both find the same keys and protect memory alike:
//!
//! - [`ProcessEnvironment`]: the real environment variables, files and `SOPS_AGE_KEY_CMD`
//!   behind `gitseal_core::keys::discovery` (the core itself reads none of them);
//! - [`keep_memory_private`]: no core dumps, no reading of the process's memory by
//!   other processes of the user.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::ffi::OsString;
use std::path::Path;

use gitseal_core::keys::discovery::KeyEnvironment;
use gitseal_core::shell_words;
use gitseal_core::Error;
use zeroize::Zeroizing;

/// This process's environment, file system and key command.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl KeyEnvironment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
        std::fs::read(path).map(Zeroizing::new)
    }

    /// Runs `SOPS_AGE_KEY_CMD` as sops does: split into words as a shell would (no shell
    /// runs), standard output read as identity lines. Its standard error is passed
    /// through (kustomize shows the function's); a command that cannot start or exits
    /// non-zero is an error naming the variable.
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

/// Plaintext values pass through memory in most commands. Keep them there: no core dump
/// may write them to disk (the core size limit goes to 0, hard limit included, so it
/// cannot be raised again), and the process is made non-dumpable, so that other
/// processes of the same user can neither attach a debugger nor read its memory through
/// /proc/PID/mem. Best effort: a failure leaves the defaults, as on systems without these
/// controls.
pub fn keep_memory_private() {
    #[cfg(unix)]
    {
        use nix::sys::resource::{setrlimit, Resource};
        let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    }
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_dumpable(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_command_output_is_read_and_failures_name_the_variable() {
        let env = ProcessEnvironment;
        assert_eq!(env.run_key_command("printf 'AGE-SECRET-KEY-X\\n'").unwrap().as_str(), "AGE-SECRET-KEY-X\n");
        for (cmd, expected) in [("", "the command is empty"), ("false", "failed"), ("/nonexistent/key-cmd", "cannot run"), ("echo 'unclosed", "cannot split")] {
            let e = env.run_key_command(cmd).unwrap_err().to_string();
            assert!(e.contains("SOPS_AGE_KEY_CMD") && e.contains(expected), "{cmd:?}: {e}");
        }
    }

    #[test]
    fn files_are_read_and_variables_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.txt");
        std::fs::write(&path, b"AGE-SECRET-KEY-1").unwrap();
        assert_eq!(ProcessEnvironment.read_file(&path).unwrap().as_slice(), b"AGE-SECRET-KEY-1");
        assert!(ProcessEnvironment.read_file(&dir.path().join("missing")).is_err());
        assert!(ProcessEnvironment.var("PATH").is_some());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn memory_is_kept_private() {
        keep_memory_private();
        assert_eq!(nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap(), (0, 0));
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
    }
}
