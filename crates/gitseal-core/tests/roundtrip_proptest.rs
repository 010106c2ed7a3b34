//! Property: for generated YAML documents, decrypt(encrypt(x)) == x byte for byte, and
//! re-encrypting the encrypted output changes nothing.

use gitseal_core::document::Format;
use gitseal_core::keys::age::{generate_identity, AgeRecipient, Identities};
use gitseal_core::keys::Recipients;
use gitseal_core::{decrypt, encrypt, DecryptRequest, EncryptRequest};
use proptest::prelude::*;

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-zA-Z0-9_.-]{0,12}", Just("token".to_owned()), Just("webhook.github.secret".to_owned()), Just("password_unencrypted".to_owned()),]
}

/// A scalar in some YAML style, as it appears in the source.
fn scalar_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9 ._/-]{0,30}[a-zA-Z0-9]".prop_map(|s| s),
        "[a-zA-Z0-9 ._:#/-]{0,20}".prop_map(|s| format!("\"{s}\"")),
        "[a-zA-Z0-9 ._:#/-]{0,20}".prop_map(|s| format!("'{s}'")),
        (0i64..100000).prop_map(|n| n.to_string()),
        (0u32..1000, 1u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
        prop_oneof![Just("true"), Just("false")].prop_map(str::to_owned),
        Just("\"\"".to_owned()),
        "[a-zA-Zäöü€ 0-9]{1,20}".prop_map(|s| format!("\"{}\"", s.trim())),
        "\"[a-z]{1,5}\\\\t[a-z]{1,5}\\\\n\"".prop_map(|s| s),
    ]
}

fn block_strategy() -> impl Strategy<Value = (String, Vec<String>)> {
    // Folded (`>`) blocks spanning several lines are left out: where a folded scalar broke
    // its lines is not part of its value, so no sops-compatible file can carry it (see
    // docs/format-fidelity.md).
    prop_oneof![
        (prop_oneof![Just("|"), Just("|-")], prop::collection::vec("[a-zA-Z0-9][a-zA-Z0-9 ]{0,30}", 1..4)),
        (Just(">"), prop::collection::vec("[a-zA-Z0-9][a-zA-Z0-9 ]{0,30}", 1..2)),
    ]
    .prop_map(|(h, lines)| (h.to_owned(), lines))
}

#[derive(Debug, Clone)]
enum Entry {
    Scalar(String, String, Option<String>),
    Block(String, String, Vec<String>),
    Comment(String),
    Nested(String, Vec<(String, String)>),
    List(String, Vec<String>),
}

fn entry_strategy() -> impl Strategy<Value = Entry> {
    prop_oneof![
        4 => (key_strategy(), scalar_strategy(), prop::option::of("[a-z ]{0,10}")).prop_map(|(k, v, c)| Entry::Scalar(k, v, c)),
        1 => (key_strategy(), block_strategy()).prop_map(|(k, (h, l))| Entry::Block(k, h, l)),
        1 => "[a-zA-Z0-9 ]{0,20}".prop_map(Entry::Comment),
        1 => (key_strategy(), prop::collection::vec((key_strategy(), scalar_strategy()), 1..4)).prop_map(|(k, v)| Entry::Nested(k, v)),
        1 => (key_strategy(), prop::collection::vec(scalar_strategy(), 1..4)).prop_map(|(k, v)| Entry::List(k, v)),
    ]
}

fn render(entries: &[Entry], indent: usize, crlf: bool, final_newline: bool) -> String {
    let nl = if crlf { "\r\n" } else { "\n" };
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut seen = std::collections::HashSet::new();
    for e in entries {
        let key = match e {
            Entry::Scalar(k, ..) | Entry::Block(k, ..) | Entry::Nested(k, _) | Entry::List(k, _) => Some(k.clone()),
            Entry::Comment(_) => None,
        };
        if let Some(k) = &key {
            if !seen.insert(k.clone()) {
                continue;
            }
        }
        match e {
            Entry::Scalar(k, v, c) => {
                out.push_str(&format!("{k}: {v}"));
                if let Some(c) = c {
                    out.push_str(&format!(" #{c}"));
                }
                out.push_str(nl);
            }
            Entry::Block(k, h, lines) => {
                out.push_str(&format!("{k}: {h}{nl}"));
                for l in lines {
                    out.push_str(&format!("{pad}{}{nl}", l.trim_end()));
                }
            }
            Entry::Comment(c) => out.push_str(&format!("#{c}{nl}")),
            Entry::Nested(k, kvs) => {
                out.push_str(&format!("{k}:{nl}"));
                let mut inner = std::collections::HashSet::new();
                for (ik, iv) in kvs {
                    if inner.insert(ik.clone()) {
                        out.push_str(&format!("{pad}{ik}: {iv}{nl}"));
                    }
                }
            }
            Entry::List(k, items) => {
                out.push_str(&format!("{k}:{nl}"));
                for i in items {
                    out.push_str(&format!("{pad}- {i}{nl}"));
                }
            }
        }
    }
    if seen.is_empty() {
        // A document of comments alone is no mapping: sops and gitseal refuse it.
        out.push_str(&format!("k: v{nl}"));
    }
    if !final_newline {
        while out.ends_with('\n') || out.ends_with('\r') {
            out.pop();
        }
        // A trailing block scalar or comment line would change meaning less obviously;
        // the property holds either way.
    }
    out
}

fn keys() -> (Identities, Recipients) {
    let (secret, recipient) = generate_identity();
    let mut ids = Identities::default();
    ids.add_text("generated", &secret).unwrap();
    (ids, Recipients { age: vec![AgeRecipient::parse(&recipient).unwrap()], ..Recipients::default() })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn decrypt_of_encrypt_is_identity(
        docs in prop::collection::vec(prop::collection::vec(entry_strategy(), 1..8), 1..3),
        indent in 2usize..5,
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let rendered: Vec<String> = docs.iter().map(|d| render(d, indent, crlf, true)).collect();
        let mut src = rendered.join(&format!("---{nl}"));
        if !final_newline {
            while src.ends_with('\n') || src.ends_with('\r') { src.pop(); }
        }
        // Only inputs a YAML parser accepts are interesting here.
        prop_assume!(gitseal_core::document::parse(Format::Yaml, &src).is_ok());
        let (ids, recipients) = keys();
        let enc = encrypt(&EncryptRequest {
            file: "gen.yaml", format: Format::Yaml, src: src.as_bytes(), recipients: &recipients,
            selection: None, mac_only_encrypted: false, identities: &ids, previous: None, check: Some(gitseal_core::k8s::check_secret_data),
        }).unwrap();
        let dec = decrypt(&DecryptRequest {
            file: "gen.yaml", format: Format::Yaml, src: enc.output.as_bytes(), identities: &ids, ignore_mac: false,
        }).unwrap();
        prop_assert_eq!(std::str::from_utf8(dec.as_bytes()).unwrap(), src.as_str());

        let again = encrypt(&EncryptRequest {
            file: "gen.yaml", format: Format::Yaml, src: enc.output.as_bytes(), recipients: &recipients,
            selection: None, mac_only_encrypted: false, identities: &ids, previous: None, check: Some(gitseal_core::k8s::check_secret_data),
        }).unwrap();
        prop_assert!(!again.changed);
        prop_assert_eq!(again.output.as_str(), enc.output.as_str());
    }
}
