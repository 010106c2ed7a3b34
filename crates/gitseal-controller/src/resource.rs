//! The `EncryptedSecret` resource as Rust types: the object the API server stores, which is
//! also the SOPS file kept in Git (`spec` with `ENC[...]` values, the top-level `sops` block).
//!
//! `kube`'s `CustomResource` derive only knows `spec` and `status`; this object also has a
//! top-level `sops`, so [`kube::Resource`] is implemented by hand and the CRD is assembled in
//! [`crate::crd`] from the schemas of these types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::NamespaceResourceScope;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of the resource.
pub const GROUP: &str = "gitseal.dev";
/// The served and stored version.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of the objects.
pub const API_VERSION: &str = gitseal_core::encrypted_secret::API_VERSION;
/// `kind` of the objects.
pub const KIND: &str = gitseal_core::encrypted_secret::KIND;
/// The plural resource name (`kubectl get encryptedsecrets`).
pub const PLURAL: &str = "encryptedsecrets";
/// The singular resource name.
pub const SINGULAR: &str = "encryptedsecret";
/// The short name (`kubectl get esec`).
pub const SHORT_NAME: &str = "esec";

/// An encrypted Kubernetes Secret: the controller verifies it and materializes the Secret
/// of the same name and namespace.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(description = "A Kubernetes Secret encrypted in the SOPS format; the gitseal controller verifies its integrity and creates the Secret.")]
pub struct EncryptedSecret {
    /// `gitseal.dev/v1alpha1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `EncryptedSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Standard object metadata.
    #[serde(default)]
    #[schemars(with = "MetadataSchema")]
    pub metadata: ObjectMeta,
    // Required by the CRD; defaulted here so that one malformed object is refused by itself
    // instead of failing the whole watch.
    /// The Secret to create, its values encrypted.
    #[serde(default)]
    pub spec: EncryptedSecretSpec,
    /// The SOPS metadata: who can open the data key, the MAC, the selection rule.
    #[serde(default)]
    pub sops: SopsMetadata,
    /// What the controller last did with this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EncryptedSecretStatus>,
}

/// The schema of `metadata`: the API server validates it itself, the CRD only says it is an object.
#[derive(JsonSchema)]
#[schemars(description = "Standard object metadata.")]
#[allow(dead_code)]
struct MetadataSchema {}

/// The Secret to create: its encrypted values, its template and the sealed binding.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EncryptedSecretSpec {
    /// The Secret's `data` entries: base64 of the value, encrypted (`ENC[...]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// The Secret's `stringData` entries: the value as text, encrypted (`ENC[...]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_data: Option<BTreeMap<String, String>>,
    /// The generated Secret's type, labels, annotations and `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplate>,
    /// Where the ciphertext may materialize: `strict` (this namespace and name), `namespace` (any name in this namespace) or `cluster` (anywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The sealed binding of scope, namespace, name and template (encrypted); editing or copying the object elsewhere breaks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// How often values that reference Vault KV (`<path:...>`) are read again, as a duration (`1h`, `15m`); absent: only when the object or the keys change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
}

/// What the generated Secret looks like besides its data.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplate {
    /// The Secret's `type` (`Opaque` when absent).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Whether the Secret is immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Labels and annotations of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
}

/// Labels and annotations given to the generated Secret.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct TemplateMetadata {
    /// Labels of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Every field of the `sops` metadata block sops 3.11 reads and writes, in snake_case as in the file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct SopsMetadata {
    /// How many key groups recover the data key (Shamir); all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shamir_threshold: Option<i64>,
    /// Key groups over which the data key is split with Shamir's scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_groups: Option<Vec<SopsKeyGroup>>,
    /// AWS KMS copies of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms: Option<Vec<KmsKey>>,
    /// GCP KMS copies of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_kms: Option<Vec<GcpKmsKey>>,
    /// Huawei Cloud KMS copies of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hckms: Option<Vec<HckmsKey>>,
    /// Azure Key Vault copies of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_kv: Option<Vec<AzureKvKey>>,
    /// HashiCorp Vault Transit copies of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hc_vault: Option<Vec<VaultKey>>,
    /// age copies of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<Vec<AgeKey>>,
    /// When the values were last encrypted (RFC 3339, UTC); the MAC is bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastmodified: Option<String>,
    /// The encrypted MAC over the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// PGP copies of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgp: Option<Vec<PgpKey>>,
    /// Keys ending in this suffix are left unencrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted_suffix: Option<String>,
    /// Only keys ending in this suffix are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_suffix: Option<String>,
    /// Keys matching this regular expression are left unencrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this regular expression are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_regex: Option<String>,
    /// Values whose comment matches this regular expression are left unencrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unencrypted_comment_regex: Option<String>,
    /// Only values whose comment matches this regular expression are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_comment_regex: Option<String>,
    /// Whether the MAC covers the encrypted values only (what lets the object survive the API server's additions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_only_encrypted: Option<bool>,
    /// The sops version the file was written with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The master keys of one key group.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct SopsKeyGroup {
    /// AWS KMS copies of the group's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms: Option<Vec<KmsKey>>,
    /// GCP KMS copies of the group's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_kms: Option<Vec<GcpKmsKey>>,
    /// Huawei Cloud KMS copies of the group's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hckms: Option<Vec<HckmsKey>>,
    /// Azure Key Vault copies of the group's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_kv: Option<Vec<AzureKvKey>>,
    /// HashiCorp Vault Transit copies of the group's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hc_vault: Option<Vec<VaultKey>>,
    /// age copies of the group's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<Vec<AgeKey>>,
    /// PGP copies of the group's share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgp: Option<Vec<PgpKey>>,
}

/// An AWS KMS entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct KmsKey {
    /// The key's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The IAM role assumed to use the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The encryption context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<BTreeMap<String, String>>,
    /// When the data key was wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The wrapped data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
    /// The AWS profile used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_profile: Option<String>,
}

/// A GCP KMS entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct GcpKmsKey {
    /// The key's resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// When the data key was wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The wrapped data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
}

/// A Huawei Cloud KMS entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct HckmsKey {
    /// The key's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// When the data key was wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The wrapped data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
}

/// An Azure Key Vault entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct AzureKvKey {
    /// The vault's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_url: Option<String>,
    /// The key's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The key's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When the data key was wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The wrapped data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
}

/// A HashiCorp Vault Transit entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct VaultKey {
    /// Vault's address (scheme, host, port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_address: Option<String>,
    /// The Transit mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_path: Option<String>,
    /// The Transit key's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// When the data key was wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Transit's ciphertext of the data key (`vault:v1:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
}

/// An age entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct AgeKey {
    /// The recipient's public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The armored age ciphertext of the data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
}

/// A PGP entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct PgpKey {
    /// When the data key was wrapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The wrapped data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
    /// The key's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp: Option<String>,
}

/// What the controller observed and did, kstatus style.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EncryptedSecretStatus {
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The `Ready` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The name of the Secret the controller manages, once it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// A status condition, as `metav1.Condition`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type (`Ready`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason (`Decrypted`, `NoMatchingKey`, ...).
    pub reason: String,
    /// A human-readable message; it names recipients or paths, never a value.
    pub message: String,
    /// When `status` last changed (RFC 3339).
    pub last_transition_time: String,
    /// The generation this condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl kube::Resource for EncryptedSecret {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(KIND)
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(GROUP)
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(VERSION)
    }
    fn api_version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(API_VERSION)
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(PLURAL)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl EncryptedSecret {
    /// The object as JSON, as the API server sent it (less fields it had and these types do not know, which a structural schema prunes anyway).
    pub fn to_json(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.entry("apiVersion").or_insert_with(|| API_VERSION.into());
            map.entry("kind").or_insert_with(|| KIND.into());
        }
        serde_json::to_vec(&value).unwrap_or_default()
    }
}
