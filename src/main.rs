//! The `gitseal` command line.

#![forbid(unsafe_code)]

mod cli;
mod config_file;
mod exit_code;
mod fsio;
mod key_discovery;
mod parallel;
mod vault_backend;

fn main() {
    keep_memory_private();
    // A gitseal killed while `edit` had the plaintext open (SIGKILL, power loss of a
    // session) could not clean up; the next run does.
    fsio::remove_abandoned_scratch_dirs();
    std::process::exit(cli::run());
}

/// Plaintext values pass through memory in most commands (`edit`, `exec-env`, `decrypt`,
/// `render`, `set`, `encrypt`). Keep it there: no core dump may write it to disk (the
/// core size limit goes to 0, hard limit included, so it cannot be raised again), and the
/// process is made non-dumpable, so that other processes of the same user can neither
/// attach a debugger nor read its memory through /proc/PID/mem. Best effort: a failure
/// leaves the defaults, as on systems without these controls.
fn keep_memory_private() {
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
