//! Keys, sealed objects and their status: what the end-to-end tests build and read.

use std::time::Duration;

use base64::Engine;
use gitseal_core::encrypted_secret::{self, Scope};
use gitseal_core::keys::AgeRecipient;
use gitseal_core::Recipients;
use serde_json::Value;

use super::cluster::Cluster;

/// How long a test waits for the controller to act.
pub const WAIT: Duration = Duration::from_secs(60);

/// An age identity (key-file text) and its recipient.
pub struct Key {
    /// The identity line, newline-terminated.
    pub identity: String,
    /// The public recipient.
    pub recipient: String,
}

/// A fresh age key.
pub fn new_key() -> Key {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    Key { identity: format!("{}\n", id.to_string().expose_secret()), recipient: id.to_public().to_string() }
}

/// Standard base64 of `s`.
pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The text of `data.ENTRY` of a Secret read with kubectl, decoded.
pub fn decoded(secret: &Value, entry: &str) -> String {
    let text = secret["data"][entry].as_str().unwrap_or_else(|| panic!("no data.{entry} in {secret}"));
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap()
}

/// A Secret manifest sealed as an EncryptedSecret for the age `recipient`.
pub fn seal(yaml: &str, scope: Scope, recipient: &str) -> String {
    let recipients = Recipients { age: vec![AgeRecipient::parse(recipient).unwrap()], ..Recipients::default() };
    encrypted_secret::encrypt_secret_manifest("secret.yaml", yaml.as_bytes(), scope, &recipients).unwrap().into_string()
}

/// A sealed object with `spec.refreshInterval` added (it is not sealed, so no key is needed).
pub fn with_refresh(sealed: &str, interval: &str) -> String {
    assert!(sealed.contains("\nspec:\n"), "{sealed}");
    sealed.replacen("\nspec:\n", &format!("\nspec:\n  refreshInterval: {interval}\n"), 1)
}

/// The keys Secret `gitseal-system/gitseal-keys` with one entry per `(entry, key)`.
pub fn keys_secret_yaml(keys: &[(&str, &Key)]) -> String {
    let mut yaml = String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: gitseal-keys\n  namespace: gitseal-system\ntype: Opaque\ndata:\n");
    for (entry, key) in keys {
        yaml.push_str(&format!("  {entry}: {}\n", b64(&key.identity)));
    }
    yaml
}

/// Status, reason and message of the `Ready` condition of `namespace/name`.
pub fn ready_condition(cluster: &Cluster, namespace: &str, name: &str) -> Option<(String, String, String)> {
    let obj = cluster.get(namespace, &format!("encryptedsecret/{name}"))?;
    let c = obj["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == "Ready")?.clone();
    Some((c["status"].as_str()?.to_owned(), c["reason"].as_str()?.to_owned(), c["message"].as_str()?.to_owned()))
}

/// Waits until `namespace/name` reports `reason` (Ready=True for `Decrypted`, else False); its message.
pub fn wait_reason(cluster: &Cluster, namespace: &str, name: &str, reason: &str) -> String {
    cluster.eventually(&format!("{namespace}/{name} to report {reason}"), WAIT, || match ready_condition(cluster, namespace, name) {
        Some((status, r, message)) if r == reason => {
            assert_eq!(status, if reason == "Decrypted" { "True" } else { "False" }, "{message}");
            Some(message)
        }
        _ => None,
    })
}
