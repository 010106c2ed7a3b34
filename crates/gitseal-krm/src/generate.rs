//! Turning the files a `SecretGenerator` lists into resources: each file is read as it
//! is in Git, its MAC checked and its values decrypted by the core (before kustomize has
//! parsed, let alone reordered, anything), its Vault references resolved as
//! `gitseal render` resolves them, and every document becomes one generated resource.

use std::path::Path;

use gitseal_core::document::yaml::value::{parse_documents, YamlNode};
use gitseal_core::document::{self, Format};
use gitseal_core::keys::Identities;
use gitseal_core::render::{render, CachedKv, RenderRequest};
use zeroize::Zeroizing;

use crate::error::KrmError;
use crate::generator::{resolve_file, SecretGenerator};

/// The resources of every file `generator` lists, in the order listed. All or nothing:
/// the first failure is returned and nothing is generated.
pub fn generate(generator: &SecretGenerator, root: &Path, identities: &Identities, kv: &mut CachedKv<'_>) -> Result<Vec<YamlNode>, KrmError> {
    let mut resources = Vec::new();
    for (listed, line) in &generator.files {
        let path = resolve_file(root, listed, &generator.label, *line)?;
        let src =
            Zeroizing::new(std::fs::read(&path).map_err(|e| KrmError::File { file: listed.clone(), line: 1, msg: format!("cannot read the file: {e}") })?);
        resources.extend(resources_of(listed, &src, identities, kv)?);
    }
    Ok(resources)
}

/// The resources of one encrypted file named `file` with content `src`.
pub fn resources_of(file: &str, src: &[u8], identities: &Identities, kv: &mut CachedKv<'_>) -> Result<Vec<YamlNode>, KrmError> {
    let fail = |line: u32, msg: String| KrmError::File { file: file.to_owned(), line, msg };
    let format = match Format::from_path(Path::new(file)) {
        f @ (Format::Yaml | Format::Json) => f,
        _ => return Err(fail(1, "the generator reads sops-encrypted YAML (.yaml, .yml) and JSON (.json) manifests".into())),
    };
    require_encrypted(file, format, src)?;
    let rendered = render(&RenderRequest { file, format, src, identities }, kv)?;
    // The rendered text holds plaintext: it is parsed in place and wiped when dropped.
    let docs = parse_documents(&rendered.text).map_err(|e| fail(e.line, format!("the decrypted manifest does not parse: {}", e.msg)))?;
    let mut out = Vec::with_capacity(docs.len());
    for (index, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let is_object = doc.get("apiVersion").and_then(YamlNode::as_str).is_some() && doc.get("kind").and_then(YamlNode::as_str).is_some();
        if !is_object {
            return Err(fail(doc.line(), format!("document {} is not a Kubernetes object (apiVersion and kind)", index + 1)));
        }
        out.push(doc);
    }
    if out.is_empty() {
        return Err(fail(1, "the file holds no Kubernetes object".into()));
    }
    Ok(out)
}

/// Refuses a file in which any document with content has no sops metadata: a generator
/// of secrets emits only what was encrypted, and a plaintext document next to encrypted
/// ones would pass unauthenticated.
fn require_encrypted(file: &str, format: Format, src: &[u8]) -> Result<(), KrmError> {
    let text = std::str::from_utf8(src).map_err(|_| KrmError::File { file: file.to_owned(), line: 1, msg: "the file is not valid UTF-8 text".into() })?;
    let parsed = document::parse(format, text).map_err(|e| gitseal_core::Error::Syntax { file: file.to_owned(), line: e.line, col: e.col, msg: e.msg })?;
    let mut any = false;
    for (index, doc) in parsed.docs.iter().enumerate() {
        if doc.metadata.is_some() {
            any = true;
        } else if !doc.leaves.is_empty() {
            return Err(KrmError::File {
                file: file.to_owned(),
                line: doc.line,
                msg: format!("document {} is not sops-encrypted: the generator only emits encrypted manifests (encrypt it with gitseal encrypt -i)", index + 1),
            });
        }
    }
    if !any {
        return Err(gitseal_core::Error::NotEncrypted { file: file.to_owned() }.into());
    }
    Ok(())
}
