//! Kubernetes awareness: recognising objects and checking Secret rules.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::document::{Document, ParsedFile};
use crate::error::{Error, Result};
use crate::sops::value::{looks_encrypted, ValueType};

/// Whether `doc` is a `kind: Secret`.
pub fn is_secret(doc: &Document) -> bool {
    doc.is_k8s_object() && doc.k8s_kind.as_deref() == Some("Secret")
}

/// Every plaintext value under a Secret's `data` must be base64, as the API server
/// demands: refusing it here beats a failed apply in the cluster. An
/// [`InputCheck`](crate::pipeline::InputCheck): callers hand it to the engine in
/// [`EncryptRequest::check`](crate::pipeline::EncryptRequest::check).
pub fn check_secret_data(file: &str, src: &str, parsed: &ParsedFile) -> Result<()> {
    for doc in parsed.docs.iter().filter(|d| is_secret(d)) {
        for leaf in &doc.leaves {
            let in_data = doc.paths[leaf.parent as usize].keys.len() == 1 && &*doc.paths[leaf.parent as usize].keys[0] == "data";
            let key = leaf.key(src).unwrap_or("");
            if !in_data || leaf.key.is_none() || leaf.ty == ValueType::Comment {
                continue;
            }
            if leaf.ty != ValueType::Str {
                return Err(Error::InvalidValue { file: file.into(), line: leaf.line, msg: format!("Secret data value {:?} must be a base64 string", key) });
            }
            let text = leaf.text(src);
            if looks_encrypted(text) {
                continue;
            }
            if !is_base64_data(text) {
                return Err(Error::InvalidValue {
                    file: file.into(),
                    line: leaf.line,
                    msg: format!("Secret data value {:?} is not valid base64 (put plain text under stringData instead)", key),
                });
            }
        }
    }
    Ok(())
}

/// Whether `text` is what the API server takes under a Secret's `data`: standard base64,
/// line breaks and other ASCII whitespace ignored. The decoded bytes are zeroized.
pub fn is_base64_data(text: &str) -> bool {
    let compact = zeroize::Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect::<String>());
    B64.decode(compact.as_bytes()).map(zeroize::Zeroizing::new).is_ok()
}

/// File names kustomize reads as its own configuration.
pub(crate) const KUSTOMIZATION_FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a file is kustomize's own configuration: named as kustomize looks for it, or
/// holding a document of `apiVersion: kustomize.config.k8s.io/...` (a `Kustomization` or
/// `Component`). kustomize rejects the fields it does not know, a `sops` block included,
/// so such a file is never encrypted. Flux's `Kustomization` (`kustomize.toolkit.fluxcd.io`)
/// is an ordinary object and is not meant here.
pub fn is_kustomize_config(path: &std::path::Path, bytes: &[u8]) -> bool {
    static API_VERSION: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let named = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| KUSTOMIZATION_FILE_NAMES.contains(&n));
    named
        || API_VERSION
            .get_or_init(|| {
                regex::bytes::Regex::new(r#"(?m)^(?:["']?apiVersion["']?|[ \t]*"apiVersion")[ \t]*:[ \t]*["']?kustomize\.config\.k8s\.io/"#)
                    .expect("valid regex")
            })
            .is_match(bytes)
}
