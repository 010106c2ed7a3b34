//! The generator's config, `kind: SecretGenerator`, and where the files it lists are.
//!
//! ```yaml
//! apiVersion: gitseal.dev/v1alpha1
//! kind: SecretGenerator
//! metadata:
//!   name: app-secrets
//! files:
//!   - secrets/db.yaml
//! ```
//!
//! Paths are relative to the kustomization directory and must stay inside it, as
//! kustomize's default load restrictor requires of its own files: an absolute path, a
//! `..` that climbs out, or a symbolic link that resolves outside is refused.

use std::path::{Component, Path, PathBuf};

use gitseal_core::document::yaml::value::YamlNode;

use crate::error::KrmError;

/// The `apiVersion` of the config.
pub const API_VERSION: &str = "gitseal.dev/v1alpha1";
/// The `kind` of the config.
pub const KIND: &str = "SecretGenerator";

/// The top-level fields a config may have.
const FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "files"];

/// A parsed `SecretGenerator`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretGenerator {
    /// `SecretGenerator/NAME`, for messages.
    pub label: String,
    /// The listed files as written, with the line each is on.
    pub files: Vec<(String, u32)>,
}

impl SecretGenerator {
    /// Reads the config from its node. `source` names it in messages when it has no
    /// name yet (the config file, or `<stdin>`).
    pub fn from_node(node: &YamlNode, source: &str) -> Result<Self, KrmError> {
        let fail = |config: &str, line: u32, msg: String| KrmError::Config { config: config.to_owned(), line, msg };
        let YamlNode::Map { entries, line } = node else {
            return Err(fail(source, node.line(), "the generator config is not a mapping".into()));
        };
        let name = node.get("metadata").and_then(|m| m.get("name")).and_then(YamlNode::as_str).filter(|n| !n.is_empty());
        let label = match name {
            Some(n) => format!("{KIND}/{n} ({source})"),
            None => return Err(fail(source, *line, "the generator config has no metadata.name".into())),
        };
        let api_version = node.get("apiVersion").and_then(YamlNode::as_str);
        let kind = node.get("kind").and_then(YamlNode::as_str);
        if api_version != Some(API_VERSION) || kind != Some(KIND) {
            return Err(fail(
                &label,
                *line,
                format!(
                    "this function reads apiVersion {API_VERSION}, kind {KIND}; the config is {}, {}",
                    api_version.unwrap_or("(none)"),
                    kind.unwrap_or("(none)")
                ),
            ));
        }
        for (key, _) in entries {
            let k = key.as_str().unwrap_or("");
            if !FIELDS.contains(&k) {
                return Err(fail(&label, key.line(), format!("unknown field {k:?} (a SecretGenerator has {})", FIELDS.join(", "))));
            }
        }
        let files = match node.get("files") {
            Some(YamlNode::Seq { items, .. }) if !items.is_empty() => items,
            Some(other) => return Err(fail(&label, other.line(), "files must be a non-empty list of paths".into())),
            None => return Err(fail(&label, *line, "files is missing: list the sops-encrypted manifests to generate from".into())),
        };
        let mut out = Vec::with_capacity(files.len());
        for item in files {
            match item.as_str().filter(|p| !p.is_empty()) {
                Some(p) => out.push((p.to_owned(), item.line())),
                None => return Err(fail(&label, item.line(), "each entry of files must be a path".into())),
            }
        }
        Ok(SecretGenerator { label, files: out })
    }
}

/// The file `listed` names under the kustomization directory `root`, after checking it
/// stays there (lexically and after resolving symbolic links). `line` is where the
/// config lists it, `label` names the config.
pub fn resolve_file(root: &Path, listed: &str, label: &str, line: u32) -> Result<PathBuf, KrmError> {
    let fail = |msg: String| KrmError::Config { config: label.to_owned(), line, msg };
    let path = Path::new(listed);
    if path.is_absolute() {
        return Err(fail(format!("{listed}: an absolute path; list files relative to the kustomization directory")));
    }
    let mut depth: usize = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth = depth.checked_sub(1).ok_or_else(|| fail(format!("{listed}: leaves the kustomization directory")))?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(fail(format!("{listed}: an absolute path"))),
        }
    }
    let joined = root.join(path);
    let real_root = root.canonicalize().map_err(|e| fail(format!("the kustomization directory {}: {e}", root.display())))?;
    let real = joined.canonicalize().map_err(|e| KrmError::File { file: listed.to_owned(), line: 1, msg: format!("cannot read the file: {e}") })?;
    if !real.starts_with(&real_root) {
        return Err(fail(format!("{listed}: resolves outside the kustomization directory (a symbolic link)")));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitseal_core::document::yaml::value::parse_documents;

    fn config(src: &str) -> Result<SecretGenerator, KrmError> {
        let docs = parse_documents(src).expect("YAML");
        SecretGenerator::from_node(&docs[0], "gen.yaml")
    }

    const HEAD: &str = "apiVersion: gitseal.dev/v1alpha1\nkind: SecretGenerator\nmetadata:\n  name: app\n";

    #[test]
    fn files_are_read_with_their_lines() {
        let g = config(&format!("{HEAD}files:\n  - a.yaml\n  - sub/b.json\n")).expect("valid");
        assert_eq!(g.files, [("a.yaml".to_owned(), 6), ("sub/b.json".to_owned(), 7)]);
        assert_eq!(g.label, "SecretGenerator/app (gen.yaml)");
    }

    #[test]
    fn a_misspelt_or_missing_field_is_refused_with_its_line() {
        let err = config(&format!("{HEAD}file:\n  - a.yaml\n")).expect_err("typo");
        assert!(err.to_string().contains("gen.yaml):5: unknown field \"file\""), "{err}");
        assert!(config(HEAD).expect_err("no files").to_string().contains("files is missing"));
        assert!(config(&format!("{HEAD}files: a.yaml\n")).expect_err("not a list").to_string().contains("non-empty list"));
        let other = config("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").expect_err("other kind");
        assert!(other.to_string().contains("gitseal.dev/v1alpha1"), "{other}");
    }

    #[test]
    fn paths_leaving_the_kustomization_directory_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("app");
        std::fs::create_dir_all(root.join("sub")).expect("dirs");
        std::fs::write(root.join("sub/s.yaml"), "a: 1\n").expect("file");
        std::fs::write(dir.path().join("outside.yaml"), "a: 1\n").expect("file");
        assert_eq!(resolve_file(&root, "sub/../sub/s.yaml", "g", 3).expect("inside"), root.join("sub/../sub/s.yaml"));
        for bad in ["../outside.yaml", "sub/../../outside.yaml", "/etc/passwd"] {
            let err = resolve_file(&root, bad, "g", 3).expect_err(bad);
            assert!(err.to_string().starts_with("g:3: "), "{err}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside.yaml"), root.join("link.yaml")).expect("symlink");
            let err = resolve_file(&root, "link.yaml", "g", 4).expect_err("symlink out");
            assert!(err.to_string().contains("outside the kustomization directory"), "{err}");
        }
    }
}
