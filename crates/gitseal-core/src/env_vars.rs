//! The environment variables a decrypted file provides (`gitseal exec-env`).
//!
//! - Kubernetes Secret documents: every `stringData` key as written, and every `data` key
//!   base64-decoded. A key in both takes its `stringData` value, as the API server does.
//! - Other Kubernetes objects (a ConfigMap in the same file): nothing.
//! - Other YAML and JSON documents: the top-level keys holding scalars (as `sops exec-env`).
//! - dotenv files: every entry.
//!
//! Keys that are not valid variable names (`.dockerconfigjson`, `tls.crt`) are skipped
//! and reported by name; renaming them could silently collide with another key.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use crate::document::{self, Format};
use crate::error::{Error, Result};
use crate::k8s;
use crate::sops::value::ValueType;

/// One variable. `Debug` shows the name only.
pub struct EnvVar {
    /// The variable name: the data key, checked to be a valid environment name.
    pub name: String,
    /// Bytes, not text: a Secret's `data` may decode to anything but NUL.
    pub value: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvVar({}, {} bytes)", self.name, self.value.len())
    }
}

/// A key that gave no variable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The data key as written in the file.
    pub key: String,
    /// Why it gave no variable, in words (`not a valid environment variable name`).
    pub reason: &'static str,
}

/// The variables of a file, in file order, and the keys left out.
#[derive(Debug, Default)]
pub struct EnvVars {
    /// The variables, in file order.
    pub vars: Vec<EnvVar>,
    /// Data keys that gave no variable.
    pub skipped: Vec<Skipped>,
}

/// Whether `name` is a portable environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Source of a candidate variable, for precedence between `data` and `stringData`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Plain,
    SecretData,
    SecretStringData,
}

/// The variables of the decrypted `plaintext` of `file`.
pub fn from_plaintext(file: &str, format: Format, plaintext: &[u8]) -> Result<EnvVars> {
    if format == Format::Binary {
        return Err(Error::Usage(format!("{file}: exec-env needs a YAML, JSON or dotenv file (this one is binary)")));
    }
    let text =
        std::str::from_utf8(plaintext).map_err(|_| Error::Syntax { file: file.into(), line: 1, col: 1, msg: "the file is not valid UTF-8 text".into() })?;
    let parsed = document::parse(format, text).map_err(|e| Error::Syntax { file: file.into(), line: e.line, col: e.col, msg: e.msg })?;
    let mut out = EnvVars::default();
    // (name, origin, document) of each variable in `out.vars`.
    let mut seen: Vec<(Origin, usize)> = Vec::new();
    for (d, doc) in parsed.docs.iter().enumerate() {
        let secret = k8s::is_secret(doc);
        if !secret && doc.is_k8s_object() {
            // A ConfigMap or Deployment next to the Secret: its `apiVersion` and `kind`
            // are not meant as variables.
            continue;
        }
        for leaf in doc.leaves.iter().filter(|l| l.ty != ValueType::Comment) {
            let Some(key) = leaf.key(text) else { continue };
            let parent = &doc.paths[leaf.parent as usize].keys;
            let origin = match (secret, parent.len(), parent.first().map(|k| &**k)) {
                (true, 1, Some("stringData")) => Origin::SecretStringData,
                (true, 1, Some("data")) => Origin::SecretData,
                (false, 0, _) => Origin::Plain,
                _ => continue,
            };
            if !valid_name(key) {
                out.skipped.push(Skipped { key: key.to_owned(), reason: "not a valid environment variable name" });
                continue;
            }
            let value: Zeroizing<Vec<u8>> = if origin == Origin::SecretData {
                let compact: Zeroizing<String> = Zeroizing::new(leaf.text(text).chars().filter(|c| !c.is_ascii_whitespace()).collect());
                Zeroizing::new(B64.decode(compact.as_bytes()).map_err(|_| Error::InvalidValue {
                    file: file.into(),
                    line: leaf.line,
                    msg: format!("Secret data value {key:?} is not valid base64"),
                })?)
            } else {
                Zeroizing::new(leaf.text(text).as_bytes().to_vec())
            };
            if value.contains(&0) {
                return Err(Error::InvalidValue {
                    file: file.into(),
                    line: leaf.line,
                    msg: format!("the value of {key:?} contains a NUL byte, which an environment variable cannot hold"),
                });
            }
            match out.vars.iter().position(|v| v.name == key) {
                None => {
                    out.vars.push(EnvVar { name: key.to_owned(), value });
                    seen.push((origin, d));
                }
                Some(i) => {
                    let (prev_origin, prev_doc) = seen[i];
                    if prev_doc == d && prev_origin == Origin::SecretData && origin == Origin::SecretStringData {
                        out.vars[i].value = value;
                        seen[i].0 = origin;
                    } else if !(prev_doc == d && prev_origin == Origin::SecretStringData && origin == Origin::SecretData) {
                        return Err(Error::InvalidValue {
                            file: file.into(),
                            line: leaf.line,
                            msg: format!("variable {key} is defined twice (documents {} and {})", prev_doc + 1, d + 1),
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(format: Format, text: &str) -> Vec<(String, Vec<u8>)> {
        from_plaintext("f", format, text.as_bytes()).unwrap().vars.into_iter().map(|v| (v.name, v.value.to_vec())).collect()
    }

    #[test]
    fn secret_data_is_decoded_and_string_data_wins() {
        let s = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  A: aGVsbG8=\n  B: Yg==\n  .dockerconfigjson: e30=\nstringData:\n  B: bee\n  PORT: 5432\n";
        assert_eq!(vars(Format::Yaml, s), vec![("A".into(), b"hello".to_vec()), ("B".into(), b"bee".to_vec()), ("PORT".into(), b"5432".to_vec())]);
        let r = from_plaintext("f", Format::Yaml, s.as_bytes()).unwrap();
        assert_eq!(r.skipped, vec![Skipped { key: ".dockerconfigjson".into(), reason: "not a valid environment variable name" }]);
    }

    #[test]
    fn other_kubernetes_objects_give_no_variables() {
        let s = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  A: x\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  B: y\n";
        assert_eq!(vars(Format::Yaml, s), vec![("B".into(), b"y".to_vec())]);
    }

    #[test]
    fn plain_files_give_top_level_scalars() {
        assert_eq!(vars(Format::Yaml, "A: 1\nnested:\n  B: 2\nC: x y\n"), vec![("A".into(), b"1".to_vec()), ("C".into(), b"x y".to_vec())]);
        assert_eq!(vars(Format::Json, "{\"A\": \"a\\nb\", \"n\": {\"B\": 1}}"), vec![("A".into(), b"a\nb".to_vec())]);
        assert_eq!(vars(Format::Dotenv, "A=1\n# c\nB=x\\ny\n"), vec![("A".into(), b"1".to_vec()), ("B".into(), b"x\ny".to_vec())]);
    }

    #[test]
    fn bad_values_are_named_by_key_only() {
        let s = "apiVersion: v1\nkind: Secret\ndata:\n  TOKEN: not*base64\n";
        let e = from_plaintext("f.yaml", Format::Yaml, s.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("\"TOKEN\"") && !e.to_string().contains("not*base64"), "{e}");
        let s = "apiVersion: v1\nkind: Secret\ndata:\n  NUL: YQBi\n";
        let e = from_plaintext("f.yaml", Format::Yaml, s.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("NUL byte"), "{e}");
        assert!(from_plaintext("f", Format::Yaml, b"A: 1\n---\nA: 2\n").is_err());
        assert!(valid_name("_A1") && !valid_name("1A") && !valid_name("a-b") && !valid_name(""));
    }
}
