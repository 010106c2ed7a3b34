//! Identities from this process's environment: the discovery rules of
//! `gitseal_core::keys::discovery` over the real environment variables and files, with
//! `SOPS_AGE_KEY_CMD` run as sops runs it. The one place in the CLI that reads key
//! sources.

use std::path::PathBuf;

use gitseal_core::keys::discovery::discover_identities;
use gitseal_core::keys::Identities;
use gitseal_core::Error;
use gitseal_process::ProcessEnvironment;

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
