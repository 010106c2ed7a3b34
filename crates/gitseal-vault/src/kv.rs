//! Reading KV secrets by the path users write in argocd-vault-plugin references:
//! `secret/data/flux/webhook` for KV v2 (the `data/` segment included) or
//! `kv/flux/webhook` for KV v1.
//!
//! The engine version is read from the answer, not guessed from the path: a KV v2 read
//! answers `{"data": {"data": {..}, "metadata": {"version": N, ..}}}`, a KV v1 read
//! `{"data": {..}}`.

use std::collections::BTreeMap;
use std::fmt;

use ureq::http::Method;
use zeroize::Zeroizing;

use super::client::VaultClient;
use super::error::VaultError;

/// A secret's key/value pairs. String values are kept as they are; other JSON values
/// (numbers, booleans, objects, arrays, null) as their JSON text. `Debug` prints the keys
/// only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KvSecret {
    /// Key to value.
    pub data: BTreeMap<String, Zeroizing<String>>,
    /// The KV v2 version read; `None` for KV v1.
    pub version: Option<u64>,
}

impl fmt::Debug for KvSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvSecret").field("keys", &self.data.keys().collect::<Vec<_>>()).field("version", &self.version).finish()
    }
}

impl KvSecret {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(|v| v.as_str())
    }
}

impl VaultClient {
    /// Reads the secret at `path` (`GET /v1/{path}`, with `?version=N` when `version` is
    /// given, which only KV v2 supports).
    ///
    /// Errors: [`VaultError::NotFound`] when nothing is stored there (or no such version),
    /// [`VaultError::VersionDeleted`] for a deleted or destroyed KV v2 version,
    /// [`VaultError::InvalidPath`] for a version asked of a KV v1 secret.
    pub fn kv_read(&self, path: &str, version: Option<u64>) -> Result<KvSecret, VaultError> {
        let clean = path.trim().trim_matches('/');
        if clean.is_empty() || clean.split('/').count() < 2 {
            return Err(VaultError::InvalidPath {
                path: path.to_owned(),
                reason: "expected MOUNT/PATH (e.g. secret/data/app for KV v2, kv/app for KV v1)".into(),
            });
        }
        if clean.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            return Err(VaultError::InvalidPath { path: path.to_owned(), reason: "empty, '.' or '..' path segment".into() });
        }
        if version == Some(0) {
            return Err(VaultError::InvalidPath { path: path.to_owned(), reason: "KV v2 versions start at 1".into() });
        }
        let query = version.map(|v| format!("version={v}"));
        let resp = self.send(Method::GET, clean, query.as_deref(), None, true, true)?;
        let mut json = resp.json(&Method::GET, clean)?;
        let result = interpret(clean, version, resp.status, &mut json);
        super::scrub(&mut json);
        result
    }
}

fn interpret(path: &str, version: Option<u64>, status: u16, json: &mut serde_json::Value) -> Result<KvSecret, VaultError> {
    let not_found = || VaultError::NotFound { path: path.to_owned() };
    let invalid = |reason: &str| VaultError::InvalidResponse { method: "GET".into(), path: path.to_owned(), reason: reason.to_owned() };

    let data = json.get_mut("data");
    let v2 = data.as_ref().and_then(|d| d.get("metadata")).is_some_and(|m| m.is_object())
        && data.as_ref().and_then(|d| d.get("data")).is_some_and(|d| d.is_object() || d.is_null());

    if v2 {
        let envelope = data.expect("checked above");
        let metadata = &envelope["metadata"];
        let read_version = metadata.get("version").and_then(|v| v.as_u64());
        let destroyed = metadata.get("destroyed").and_then(|v| v.as_bool()).unwrap_or(false);
        let deleted = metadata.get("deletion_time").and_then(|v| v.as_str()).is_some_and(|t| !t.is_empty());
        if destroyed || deleted || status == 404 || envelope["data"].is_null() {
            return match read_version {
                Some(v) if destroyed || deleted => Err(VaultError::VersionDeleted { path: path.to_owned(), version: v, destroyed }),
                _ => Err(not_found()),
            };
        }
        let values = envelope.get_mut("data").and_then(|d| d.as_object_mut()).ok_or_else(|| invalid("data.data is not an object"))?;
        return Ok(KvSecret { data: take_values(values), version: read_version });
    }

    if status == 404 {
        return Err(not_found());
    }
    match data {
        Some(serde_json::Value::Object(values)) => {
            if let Some(v) = version {
                return Err(VaultError::InvalidPath {
                    path: path.to_owned(),
                    reason: format!(
                        "version {v} requested, but this is a KV v1 secret (KV v1 keeps no versions; KV v2 paths have a data/ segment after the mount)"
                    ),
                });
            }
            Ok(KvSecret { data: take_values(values), version: None })
        }
        // A 204, or `data: null`: nothing stored here.
        None | Some(serde_json::Value::Null) => Err(not_found()),
        Some(_) => Err(invalid("data is not an object")),
    }
}

/// Moves the values out of the JSON map into zeroizing strings.
fn take_values(values: &mut serde_json::Map<String, serde_json::Value>) -> BTreeMap<String, Zeroizing<String>> {
    values
        .iter_mut()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => Zeroizing::new(std::mem::take(s)),
                other => {
                    let text = Zeroizing::new(other.to_string());
                    super::scrub(other);
                    text
                }
            };
            (k.clone(), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_envelope() {
        let mut j =
            json!({"data": {"data": {"a": "1", "n": 5, "o": {"x": true}, "z": null}, "metadata": {"version": 3, "deletion_time": "", "destroyed": false}}});
        let s = interpret("secret/data/app", None, 200, &mut j).unwrap();
        assert_eq!(s.version, Some(3));
        assert_eq!(s.get("a"), Some("1"));
        assert_eq!(s.get("n"), Some("5"));
        assert_eq!(s.get("o"), Some(r#"{"x":true}"#));
        assert_eq!(s.get("z"), Some("null"));
        assert_eq!(format!("{s:?}"), r#"KvSecret { keys: ["a", "n", "o", "z"], version: Some(3) }"#);
    }

    #[test]
    fn v1_envelope_and_version_on_v1() {
        let mut j = json!({"data": {"token": "abc"}, "lease_duration": 2764800});
        let s = interpret("kv/app", None, 200, &mut j).unwrap();
        assert_eq!((s.get("token"), s.version), (Some("abc"), None));
        let mut j = json!({"data": {"token": "abc"}});
        assert!(matches!(interpret("kv/app", Some(2), 200, &mut j), Err(VaultError::InvalidPath { .. })));
    }

    #[test]
    fn deleted_and_destroyed_versions() {
        let mut j = json!({"data": {"data": null, "metadata": {"version": 2, "deletion_time": "2024-01-01T00:00:00Z", "destroyed": false}}});
        let e = interpret("secret/data/app", Some(2), 404, &mut j).unwrap_err();
        assert!(matches!(e, VaultError::VersionDeleted { version: 2, destroyed: false, .. }), "{e:?}");
        assert!(e.is_not_found());
        assert!(e.to_string().contains("version 2 was deleted"), "{e}");
        let mut j = json!({"data": {"data": null, "metadata": {"version": 1, "deletion_time": "", "destroyed": true}}});
        assert!(interpret("secret/data/app", None, 404, &mut j).unwrap_err().to_string().contains("destroyed"));
        let mut j = json!({"errors": []});
        assert!(matches!(interpret("secret/data/app", None, 404, &mut j), Err(VaultError::NotFound { .. })));
    }
}
