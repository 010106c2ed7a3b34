//! Finding and reading `.sops.yaml` (the rules themselves are `gitseal_core::config`).

use std::path::{Path, PathBuf};

use gitseal_core::config::{self, Config, CONFIG_NAMES, MAX_SEARCH_DEPTH};
use gitseal_core::error::{Error, Result};

/// Walks up from `start` looking for `.sops.yaml`.
pub fn find(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start.to_path_buf());
    for _ in 0..MAX_SEARCH_DEPTH {
        let d = dir?;
        for name in CONFIG_NAMES {
            let candidate = d.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

/// Reads and validates a config file; its rules match paths relative to its directory.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { file: path.display().to_string(), action: "cannot read config", source })?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    config::parse(path, &dir, &text)
}
