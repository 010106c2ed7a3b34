//! What can go wrong while generating, with the file and line it concerns. Messages never
//! hold a secret value.

/// A failure of the generator: reported to kustomize as a KRM `results` entry of
/// severity `error` and on stderr, then the process exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum KrmError {
    /// The input (the `ResourceList` on stdin, or the generator config) is not what a
    /// kustomize function receives.
    #[error("{file}:{line}: {msg}")]
    Input {
        /// Where the input came from (`<stdin>`, or the config file's path).
        file: String,
        /// 1-based line in it.
        line: u32,
        /// What is wrong.
        msg: String,
    },
    /// The `SecretGenerator` config is wrong: an unknown field, a missing `files` list,
    /// a path that is absolute or leaves the kustomization directory.
    #[error("{config}:{line}: {msg}")]
    Config {
        /// The generator's name (`SecretGenerator/NAME`) or the config file's path.
        config: String,
        /// 1-based line of the offending field in the config.
        line: u32,
        /// What is wrong.
        msg: String,
    },
    /// A listed file is not a sops-encrypted manifest this generator can emit.
    #[error("{file}:{line}: {msg}")]
    File {
        /// The file, as listed in `files`.
        file: String,
        /// 1-based line in it (1 when the file as a whole is concerned).
        line: u32,
        /// What is wrong.
        msg: String,
    },
    /// Decrypting or rendering a listed file failed (MAC mismatch, no key, a Vault
    /// reference that does not resolve): the core's error, which names file and line.
    #[error(transparent)]
    Core(#[from] gitseal_core::Error),
}

impl KrmError {
    /// The file the error is about, when there is one, for the `results` entry.
    pub fn file(&self) -> Option<&str> {
        match self {
            KrmError::Input { file, .. } | KrmError::File { file, .. } => Some(file),
            KrmError::Config { .. } => None,
            KrmError::Core(e) => e.location().map(|l| l.file),
        }
    }
}
