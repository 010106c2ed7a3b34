//! The Secret the controller applies for an EncryptedSecret: name and namespace of the
//! EncryptedSecret, the template's type, labels, annotations and `immutable`, the decrypted
//! data, an ownerReference (so the Secret goes with its owner) and the label that marks
//! the Secrets the controller watches.
//!
//! The values stay in zeroizing buffers; they are base64-encoded into the request body while
//! it is serialized, and `Debug` shows key names only.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use serde::ser::{Serialize, SerializeMap, Serializer};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::resource::{API_VERSION, KIND};

/// The label on every Secret the controller manages; the controller watches only these.
pub const MANAGED_LABEL: &str = "gitseal.dev/encrypted-secret";
/// The field manager of the controller's server-side applies.
pub const FIELD_MANAGER: &str = "gitseal";

/// The owner of a generated Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The EncryptedSecret's name.
    pub name: String,
    /// The EncryptedSecret's uid.
    pub uid: String,
}

/// The Secret to apply. Its `Serialize` writes the server-side apply body.
pub struct SecretManifest {
    /// The Secret's name.
    pub name: String,
    /// The Secret's namespace.
    pub namespace: String,
    /// The Secret's type.
    pub type_: String,
    /// Labels: the template's and [`MANAGED_LABEL`].
    pub labels: BTreeMap<String, String>,
    /// The template's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The template's `immutable`.
    pub immutable: Option<bool>,
    /// The decrypted values.
    pub data: BTreeMap<String, Zeroizing<Vec<u8>>>,
    /// The EncryptedSecret that owns it.
    pub owner: Owner,
}

impl std::fmt::Debug for SecretManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretManifest")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("type", &self.type_)
            .field("labels", &self.labels)
            .field("annotations", &self.annotations)
            .field("immutable", &self.immutable)
            .field("data", &self.data.keys().collect::<Vec<_>>())
            .field("owner", &self.owner)
            .finish()
    }
}

/// The parts of an opened EncryptedSecret a Secret is built from.
pub struct SecretParts {
    /// The Secret's type (`Opaque` when the template had none).
    pub secret_type: String,
    /// The template's labels.
    pub labels: BTreeMap<String, String>,
    /// The template's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The template's `immutable`.
    pub immutable: Option<bool>,
    /// The decrypted values.
    pub data: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

impl SecretManifest {
    /// The Secret for the EncryptedSecret `owner` in `namespace`, built from what opening it gave.
    pub fn build(namespace: &str, owner: Owner, parts: SecretParts) -> SecretManifest {
        let mut labels = parts.labels;
        labels.insert(MANAGED_LABEL.into(), "true".into());
        SecretManifest {
            name: owner.name.clone(),
            namespace: namespace.to_owned(),
            type_: parts.secret_type,
            labels,
            annotations: parts.annotations,
            immutable: parts.immutable,
            data: parts.data,
            owner,
        }
    }

    /// SHA-256 over everything the Secret is made of, in a canonical order: equal digests, equal Secrets.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(self.name.as_bytes());
        field(self.namespace.as_bytes());
        field(self.type_.as_bytes());
        field(format!("{:?}", self.immutable).as_bytes());
        for (tag, map) in [("labels", &self.labels), ("annotations", &self.annotations)] {
            field(tag.as_bytes());
            for (k, v) in map {
                field(k.as_bytes());
                field(v.as_bytes());
            }
        }
        field(b"data");
        for (k, v) in &self.data {
            field(k.as_bytes());
            field(v);
        }
        field(self.owner.uid.as_bytes());
        h.finalize().into()
    }

    /// Keys of `live`'s data that this manifest does not have (added by someone else).
    pub fn extra_keys(&self, live: &Secret) -> Vec<String> {
        let mut extra: Vec<String> = live.data.iter().flatten().map(|(k, _)| k.clone()).filter(|k| !self.data.contains_key(k)).collect();
        extra.extend(live.string_data.iter().flatten().map(|(k, _)| k.clone()).filter(|k| !self.data.contains_key(k)));
        extra
    }
}

/// Whether `secret` is controlled by the EncryptedSecret with uid `owner_uid`.
pub fn is_owned_by(secret: &Secret, owner_uid: &str) -> bool {
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true) && r.uid == owner_uid && r.kind == KIND && r.api_version == API_VERSION)
}

/// Overwrites the values of a Secret read from the API server, once what was needed is taken.
pub fn zeroize_secret(secret: &mut Secret) {
    for v in secret.data.iter_mut().flat_map(|d| d.values_mut()) {
        v.0.zeroize();
    }
    for v in secret.string_data.iter_mut().flat_map(|d| d.values_mut()) {
        v.zeroize();
    }
}

/// A value serialized as base64 from a zeroizing buffer.
struct Base64Value<'a>(&'a [u8]);

impl Serialize for Base64Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0));
        s.serialize_str(&encoded)
    }
}

struct Data<'a>(&'a BTreeMap<String, Zeroizing<Vec<u8>>>);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, &Base64Value(v))?;
        }
        m.end()
    }
}

impl Serialize for SecretManifest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let owner = serde_json::json!([{
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.owner.name,
            "uid": self.owner.uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".into(), self.name.clone().into());
        metadata.insert("namespace".into(), self.namespace.clone().into());
        metadata.insert("labels".into(), serde_json::to_value(&self.labels).unwrap_or_default());
        if !self.annotations.is_empty() {
            metadata.insert("annotations".into(), serde_json::to_value(&self.annotations).unwrap_or_default());
        }
        metadata.insert("ownerReferences".into(), owner);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apiVersion", "v1")?;
        m.serialize_entry("kind", "Secret")?;
        m.serialize_entry("metadata", &metadata)?;
        m.serialize_entry("type", &self.type_)?;
        if let Some(immutable) = self.immutable {
            m.serialize_entry("immutable", &immutable)?;
        }
        m.serialize_entry("data", &Data(&self.data))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> SecretParts {
        SecretParts {
            secret_type: "kubernetes.io/basic-auth".into(),
            labels: [("app".to_string(), "db".to_string()), (MANAGED_LABEL.to_string(), "spoofed".to_string())].into(),
            annotations: [("team".to_string(), "payments".to_string())].into(),
            immutable: Some(true),
            data: [("password".to_string(), Zeroizing::new(b"s3cr3t-value".to_vec())), ("username".to_string(), Zeroizing::new(b"admin".to_vec()))].into(),
        }
    }

    fn owner() -> Owner {
        Owner { name: "db".into(), uid: "1111-2222".into() }
    }

    #[test]
    fn the_apply_body_has_template_data_owner_and_the_managed_label() {
        let m = SecretManifest::build("prod", owner(), parts());
        let body = serde_json::to_value(&m).unwrap();
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["kind"], "Secret");
        assert_eq!(body["metadata"]["name"], "db");
        assert_eq!(body["metadata"]["namespace"], "prod");
        assert_eq!(body["metadata"]["labels"]["app"], "db");
        assert_eq!(body["metadata"]["labels"][MANAGED_LABEL], "true", "the template cannot take the managed label over");
        assert_eq!(body["metadata"]["annotations"]["team"], "payments");
        assert_eq!(body["type"], "kubernetes.io/basic-auth");
        assert_eq!(body["immutable"], true);
        assert_eq!(body["data"]["password"], base64::engine::general_purpose::STANDARD.encode("s3cr3t-value"));
        assert_eq!(body["data"]["username"], "YWRtaW4=");
        let owner = &body["metadata"]["ownerReferences"][0];
        assert_eq!(owner["apiVersion"], "gitseal.dev/v1alpha1");
        assert_eq!(owner["kind"], "EncryptedSecret");
        assert_eq!(owner["name"], "db");
        assert_eq!(owner["uid"], "1111-2222");
        assert_eq!(owner["controller"], true);
        assert_eq!(owner["blockOwnerDeletion"], true);
    }

    #[test]
    fn debug_of_a_manifest_shows_key_names_only() {
        let m = SecretManifest::build("prod", owner(), parts());
        let shown = format!("{m:?}");
        assert!(shown.contains("password") && shown.contains("username"));
        assert!(!shown.contains("s3cr3t") && !shown.contains("admin\""), "{shown}");
    }

    #[test]
    fn the_digest_changes_with_any_value_label_or_type_and_not_otherwise() {
        let a = SecretManifest::build("prod", owner(), parts());
        assert_eq!(a.digest(), SecretManifest::build("prod", owner(), parts()).digest());
        let mut p = parts();
        p.data.insert("password".into(), Zeroizing::new(b"other".to_vec()));
        assert_ne!(a.digest(), SecretManifest::build("prod", owner(), p).digest());
        let mut p = parts();
        p.labels.insert("tier".into(), "x".into());
        assert_ne!(a.digest(), SecretManifest::build("prod", owner(), p).digest());
        let mut p = parts();
        p.secret_type = "Opaque".into();
        assert_ne!(a.digest(), SecretManifest::build("prod", owner(), p).digest());
    }

    #[test]
    fn ownership_needs_the_controller_reference_with_the_owners_uid() {
        let m = SecretManifest::build("prod", owner(), parts());
        let mut live: Secret = serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert!(is_owned_by(&live, "1111-2222"));
        assert!(!is_owned_by(&live, "3333"), "another object of the same name");
        live.metadata.owner_references.as_mut().unwrap()[0].controller = Some(false);
        assert!(!is_owned_by(&live, "1111-2222"));
        live.metadata.owner_references = None;
        assert!(!is_owned_by(&live, "1111-2222"), "a Secret someone else made");
    }

    #[test]
    fn keys_added_to_the_live_secret_by_someone_else_are_found_and_values_zeroized() {
        let m = SecretManifest::build("prod", owner(), parts());
        let mut live: Secret = serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        live.data.as_mut().unwrap().insert("injected".into(), k8s_openapi::ByteString(b"x".to_vec()));
        assert_eq!(m.extra_keys(&live), ["injected"]);
        zeroize_secret(&mut live);
        assert!(live.data.unwrap().values().all(|v| v.0.iter().all(|b| *b == 0)));
    }
}
