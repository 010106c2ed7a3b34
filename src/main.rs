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
    gitseal_process::keep_memory_private();
    // A gitseal killed while `edit` had the plaintext open (SIGKILL, power loss of a
    // session) could not clean up; the next run does.
    fsio::remove_abandoned_scratch_dirs();
    std::process::exit(cli::run());
}
