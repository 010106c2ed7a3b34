//! Opening an EncryptedSecret read from the API server: the one place the controller calls
//! the core's verification (MAC over the encrypted values in canonical order, every value
//! encrypted, the sealed binding of scope, namespace, name and template).

use gitseal_core::encrypted_secret;
use gitseal_core::Identities;

pub use gitseal_core::encrypted_secret::MaterializedSecret;

/// Verifies and decrypts `object_json` (the object as the API server returned it), naming
/// it `label` in messages.
pub fn open(label: &str, object_json: &[u8], identities: &Identities) -> gitseal_core::Result<MaterializedSecret> {
    encrypted_secret::open_object(label, object_json, identities)
}

#[cfg(test)]
mod tests {
    use gitseal_core::encrypted_secret::{encrypt_secret_manifest, Scope};
    use gitseal_core::keys::AgeRecipient;
    use gitseal_core::Recipients;

    use super::*;
    use crate::resource::EncryptedSecret;
    use crate::status::{reason_for, Reason};

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\n  labels:\n    app: db\ntype: kubernetes.io/basic-auth\nstringData:\n  username: admin\n  password: pw-Zq8v1\n";

    struct Key {
        identities: Identities,
        recipient: String,
    }

    fn key() -> Key {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        let mut identities = Identities::default();
        identities.add_text("test.agekey", id.to_string().expose_secret()).unwrap();
        Key { identities, recipient: id.to_public().to_string() }
    }

    fn sealed_yaml(recipient: &str) -> String {
        let recipients = Recipients { age: vec![AgeRecipient::parse(recipient).unwrap()], ..Recipients::default() };
        encrypt_secret_manifest("db.yaml", SECRET.as_bytes(), Scope::Strict, &recipients).unwrap().into_string()
    }

    /// The file as the API server would hand it back: parsed into the controller's types (which
    /// reorders keys and adds metadata and status) and serialized again as JSON.
    fn through_the_api(yaml: &str) -> Vec<u8> {
        let mut object: EncryptedSecret =
            serde_json::from_value(gitseal_core::document::yaml::json::to_json(&gitseal_core::document::yaml::value::parse_documents(yaml).unwrap()[0]))
                .unwrap();
        object.metadata.uid = Some("0b0e".into());
        object.metadata.generation = Some(3);
        object.metadata.labels.get_or_insert_with(Default::default).insert("kustomize.toolkit.fluxcd.io/name".into(), "apps".into());
        object.status =
            Some(crate::status::status_for(None, Some(2), Reason::NoMatchingKey, crate::status::Progress::Stalled, "earlier", None, "2026-01-01T00:00:00Z"));
        object.to_json()
    }

    fn reason(yaml: &str, identities: &Identities) -> Reason {
        reason_for(&open("EncryptedSecret apps/db", &through_the_api(yaml), identities).unwrap_err())
    }

    #[test]
    fn an_object_read_back_through_the_resource_types_still_verifies_and_opens() {
        let k = key();
        let opened = open("EncryptedSecret apps/db", &through_the_api(&sealed_yaml(&k.recipient)), &k.identities).unwrap();
        assert_eq!(opened.secret_type, "kubernetes.io/basic-auth");
        assert_eq!(opened.labels.get("app").map(String::as_str), Some("db"));
        assert_eq!(opened.data.get("password").map(|v| v.as_slice()), Some(&b"pw-Zq8v1"[..]));
        assert_eq!(opened.data.get("username").map(|v| v.as_slice()), Some(&b"admin"[..]));
    }

    #[test]
    fn a_wrong_key_is_no_matching_key() {
        let (k, other) = (key(), key());
        assert_eq!(reason(&sealed_yaml(&other.recipient), &k.identities), Reason::NoMatchingKey);
        assert_eq!(reason(&sealed_yaml(&other.recipient), &Identities::default()), Reason::NoMatchingKey);
    }

    #[test]
    fn swapped_values_are_a_mac_mismatch() {
        let k = key();
        let yaml = sealed_yaml(&k.recipient);
        let value_of =
            |field: &str| yaml.lines().find(|l| l.trim_start().starts_with(&format!("{field}: ENC["))).unwrap().split_once(": ").unwrap().1.to_owned();
        let (user, pass) = (value_of("username"), value_of("password"));
        let swapped = yaml.replace(&user, "@@").replace(&pass, &user).replace("@@", &pass);
        assert_eq!(reason(&swapped, &k.identities), Reason::MacMismatch);
    }

    #[test]
    fn an_object_moved_to_another_namespace_is_a_scope_violation() {
        let k = key();
        let moved = sealed_yaml(&k.recipient).replace("namespace: apps", "namespace: other");
        assert_eq!(reason(&moved, &k.identities), Reason::ScopeViolation);
        let renamed = sealed_yaml(&k.recipient).replacen("name: db", "name: db2", 1);
        assert_eq!(reason(&renamed, &k.identities), Reason::ScopeViolation);
    }

    #[test]
    fn an_edited_template_or_a_plaintext_value_is_refused() {
        let k = key();
        let retyped = sealed_yaml(&k.recipient).replace("type: kubernetes.io/basic-auth", "type: Opaque");
        assert_ne!(reason(&retyped, &k.identities), Reason::Decrypted);
        let yaml = sealed_yaml(&k.recipient);
        let pass = yaml.lines().find(|l| l.trim_start().starts_with("password: ENC[")).unwrap().split_once(": ").unwrap().1.to_owned();
        assert_eq!(reason(&yaml.replace(&pass, "plain"), &k.identities), Reason::InvalidData);
    }
}
