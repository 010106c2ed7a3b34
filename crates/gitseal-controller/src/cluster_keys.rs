//! Keys made in the cluster: with `--generate-key` the controller creates an age identity in
//! the keys Secret when it has none, and it publishes the public recipients of the keys
//! Secret in the ConfigMap `gitseal-recipients`, so files can be encrypted for the cluster
//! without any private key leaving it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::ByteString;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;
use zeroize::Zeroize;

use crate::keys::{load_from_secret, AGE_KEY_SUFFIX};
use crate::secret::{zeroize_secret, FIELD_MANAGER};

/// The ConfigMap the recipients are published in.
pub const RECIPIENTS_CONFIGMAP: &str = "gitseal-recipients";
/// Its data key: one recipient a line.
pub const RECIPIENTS_KEY: &str = "recipients.txt";
/// The keys Secret's entry a generated identity is stored in.
pub const GENERATED_ENTRY: &str = "cluster.agekey";

/// What `--generate-key` found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generated {
    /// The keys Secret already has a `*.agekey` entry: nothing was touched.
    Existing,
    /// A new identity was stored; its public recipient.
    Created(String),
}

/// The text stored for a new identity: a comment with its recipient, then the identity.
fn identity_entry() -> (ByteString, String) {
    let (secret_line, recipient) = gitseal_core::keys::age::generate_identity();
    let text = format!("# created by gitseal-controller --generate-key\n# public key: {recipient}\n{}\n", &*secret_line);
    (ByteString(text.into_bytes()), recipient)
}

/// Creates an age identity in the keys Secret `name` when it does not exist or holds no
/// `*.agekey` entry; never replaces an entry. Writes carry the resourceVersion read, so a
/// concurrent change (another replica, an operator) wins and this one is dropped.
pub async fn ensure_identity(api: &Api<Secret>, name: &str) -> Result<Generated, kube::Error> {
    match api.get_opt(name).await? {
        None => {
            let (entry, recipient) = identity_entry();
            let mut secret = Secret {
                metadata: ObjectMeta { name: Some(name.to_owned()), ..ObjectMeta::default() },
                type_: Some("Opaque".to_owned()),
                data: Some(BTreeMap::from([(GENERATED_ENTRY.to_owned(), entry)])),
                ..Secret::default()
            };
            let created = api.create(&PostParams::default(), &secret).await;
            zeroize_secret(&mut secret);
            match created {
                Ok(mut s) => {
                    zeroize_secret(&mut s);
                    Ok(Generated::Created(recipient))
                }
                Err(kube::Error::Api(r)) if r.code == 409 => Ok(Generated::Existing),
                Err(e) => Err(e),
            }
        }
        Some(mut secret) => {
            let data = secret.data.get_or_insert_with(BTreeMap::new);
            if data.keys().any(|k| k.ends_with(AGE_KEY_SUFFIX)) {
                zeroize_secret(&mut secret);
                return Ok(Generated::Existing);
            }
            let (entry, recipient) = identity_entry();
            data.insert(GENERATED_ENTRY.to_owned(), entry);
            let replaced = api.replace(name, &PostParams::default(), &secret).await;
            zeroize_secret(&mut secret);
            match replaced {
                Ok(mut s) => {
                    zeroize_secret(&mut s);
                    Ok(Generated::Created(recipient))
                }
                Err(kube::Error::Api(r)) if r.code == 409 => Ok(Generated::Existing),
                Err(e) => Err(e),
            }
        }
    }
}

/// The text published: one recipient a line.
pub fn recipients_text(recipients: &[String]) -> String {
    recipients.iter().map(|r| format!("{r}\n")).collect()
}

/// Server-side applies the ConfigMap [`RECIPIENTS_CONFIGMAP`] with `recipients`.
pub async fn publish(api: &Api<ConfigMap>, recipients: &[String]) -> Result<(), kube::Error> {
    let configmap = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": RECIPIENTS_CONFIGMAP, "labels": { "app.kubernetes.io/managed-by": "gitseal-controller" } },
        "data": { RECIPIENTS_KEY: recipients_text(recipients) },
    });
    api.patch(RECIPIENTS_CONFIGMAP, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(configmap)).await.map(|_| ())
}

/// The public recipients of the keys Secret `name`, read through the API (for
/// `gitseal-controller recipients`); `None` when it does not exist.
pub async fn read_recipients(api: &Api<Secret>, name: &str, label: &str) -> Result<Option<Vec<String>>, kube::Error> {
    let Some(mut secret) = api.get_opt(name).await? else { return Ok(None) };
    let mut data = secret.data.take().unwrap_or_default();
    let loaded = load_from_secret(label, &mut data);
    for value in data.values_mut() {
        value.0.zeroize();
    }
    zeroize_secret(&mut secret);
    Ok(Some(loaded.recipients))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_entry_loads_as_one_identity_whose_recipient_is_in_its_comment() {
        let (entry, recipient) = identity_entry();
        let text = String::from_utf8(entry.0.clone()).unwrap();
        assert!(text.contains(&format!("# public key: {recipient}\n")));
        let mut data = BTreeMap::from([(GENERATED_ENTRY.to_owned(), entry)]);
        let loaded = load_from_secret("gitseal-system/gitseal-keys", &mut data);
        assert_eq!(loaded.identities.len(), 1);
        assert_eq!(loaded.recipients, std::slice::from_ref(&recipient));
        assert_ne!(identity_entry().1, recipient, "every identity is new");
    }

    #[test]
    fn recipients_are_published_one_a_line() {
        assert_eq!(recipients_text(&["age1a".into(), "age1b".into()]), "age1a\nage1b\n");
        assert_eq!(recipients_text(&[]), "");
    }
}
