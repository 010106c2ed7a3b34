//! Finding kubectl: a test that needs it skips with a printed reason when it is missing,
//! and fails instead under GITSEAL_REQUIRE_PEERS=1 (as CI runs).

use std::path::PathBuf;

/// kubectl's path, or `None` (after saying why) when the test should skip.
pub fn kubectl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("kubectl")).find(|p| p.is_file()));
    if found.is_none() {
        if std::env::var("GITSEAL_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("kubectl is not installed and GITSEAL_REQUIRE_PEERS=1: install kubectl 1.32");
        }
        eprintln!("skipped: kubectl is not on PATH (set GITSEAL_REQUIRE_PEERS=1 to make this a failure)");
    }
    found
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}
