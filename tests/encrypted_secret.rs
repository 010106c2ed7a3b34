//! The EncryptedSecret kind through the binary: `encrypt --kind EncryptedSecret`,
//! `decrypt --kind Secret`, `create ... --kind EncryptedSecret`, and every other command
//! on such a file. Results are opened by the real sops and, after a simulated API server
//! round trip, by `gitseal_core::encrypted_secret::open_object` (what the controller runs).

mod common;
mod vault_support;
use std::path::Path;
use std::process::Output;

use common::{assert_success, stderr, utf8, Fixture};
use gitseal_core::document::{self, Format, Tree};
use gitseal_core::encrypted_secret;
use gitseal_core::sops::value::ValueType;
use serde_json::Value;

const SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
  labels:
    app: receiver
type: Opaque
stringData:
  token: s3cr3t-value
  b-key: other
data:
  z: aGVsbG8=
";

/// The Secret `decrypt --kind Secret` gives back for SECRET: every value under `data`,
/// base64, keys sorted.
const SECRET_BACK: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
  labels:
    app: receiver
type: Opaque
data:
  b-key: b3RoZXI=
  token: czNjcjN0LXZhbHVl
  z: aGVsbG8=
";

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// `gitseal encrypt --kind EncryptedSecret` of SECRET into `es.yaml`.
fn sealed(fx: &Fixture, extra: &[&str]) -> std::path::PathBuf {
    let src = fx.write("secret.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--age", &fx.recipient]).args(extra).arg(&src).output().unwrap();
    assert_success("encrypt --kind EncryptedSecret", &out);
    fx.write("es.yaml", &out.stdout)
}

fn secret_of(fx: &Fixture, file: &Path) -> Output {
    fx.gitseal().args(["decrypt", "--kind", "Secret"]).arg(file).output().unwrap()
}

#[test]
fn kind_names_are_read_in_any_case() {
    let fx = Fixture::new();
    let src = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "--kind", "encryptedsecret", "--age", &fx.recipient]).arg(&src).output().unwrap();
    assert_success("encrypt --kind encryptedsecret", &out);
    let es = fx.write("es.yaml", &out.stdout);
    let out = fx.gitseal().args(["decrypt", "--kind", "secret"]).arg(&es).output().unwrap();
    assert_success("decrypt --kind secret", &out);
    assert_eq!(utf8(&out.stdout), SECRET_BACK);
}

fn identities(fx: &Fixture) -> gitseal_core::Identities {
    let mut ids = gitseal_core::Identities::default();
    ids.add_text("fixture", &std::fs::read_to_string(&fx.key_file).unwrap()).unwrap();
    ids
}

/// The file as the API server hands it back after `kubectl apply`: JSON, every map's keys
/// sorted, metadata the server and the tools add (uid, resourceVersion, generation,
/// kubectl's last-applied annotation, Argo CD's and Flux's labels, managedFields) and a
/// status.
fn as_api_object(file_text: &str) -> Vec<u8> {
    let mut obj = yaml_to_json(file_text);
    let meta = obj["metadata"].as_object_mut().unwrap();
    meta.insert("uid".into(), "0b6c1a44-5d0e-4c55-8a8e-3f1f4f3f2f10".into());
    meta.insert("resourceVersion".into(), "48213".into());
    meta.insert("generation".into(), 3.into());
    meta.insert("creationTimestamp".into(), "2026-01-01T00:00:00Z".into());
    meta.insert("annotations".into(), serde_json::json!({"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"gitseal.dev/v1alpha1\"}"}));
    meta.insert("labels".into(), serde_json::json!({"app.kubernetes.io/instance": "infra", "kustomize.toolkit.fluxcd.io/name": "flux-system"}));
    meta.insert(
        "managedFields".into(),
        serde_json::json!([{"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:data": {}}}}]),
    );
    obj["status"] = serde_json::json!({"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True", "reason": "Decrypted"}]});
    sorted_json(&obj).into_bytes()
}

/// `v` serialised with every object's keys in byte order (as the API server's Go
/// encoder writes maps), whatever order serde_json's map keeps.
fn sorted_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let members: Vec<String> = keys.iter().map(|k| format!("{}:{}", serde_json::to_string(k).unwrap(), sorted_json(&m[*k]))).collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(sorted_json).collect::<Vec<_>>().join(",")),
        other => serde_json::to_string(other).unwrap(),
    }
}

/// A YAML-to-JSON reader for EncryptedSecret files (maps of scalars, and the sops block).
fn yaml_to_json(src: &str) -> Value {
    let parsed = document::parse(Format::Yaml, src).unwrap();
    let doc = &parsed.docs[0];
    let mut root = Value::Object(Default::default());
    for leaf in &doc.leaves {
        if leaf.ty == ValueType::Comment {
            continue;
        }
        let mut at = &mut root;
        for k in doc.paths[leaf.parent as usize].keys.iter() {
            at = at.as_object_mut().unwrap().entry(k.to_string()).or_insert_with(|| Value::Object(Default::default()));
        }
        let text = leaf.text(src);
        let v = match leaf.ty {
            ValueType::Bool => Value::Bool(text == "true"),
            ValueType::Int => Value::from(text.parse::<i64>().unwrap()),
            _ => Value::String(text.to_owned()),
        };
        at.as_object_mut().unwrap().insert(leaf.key(src).unwrap().to_owned(), v);
    }
    root["sops"] = tree_to_json(&doc.metadata.as_ref().expect("an encrypted file").tree);
    root
}

fn tree_to_json(t: &Tree) -> Value {
    match t {
        Tree::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), tree_to_json(v))).collect()),
        Tree::List(l) => Value::Array(l.iter().map(tree_to_json).collect()),
        Tree::Scalar(s) if s == "true" => Value::Bool(true),
        Tree::Scalar(s) => Value::String(s.clone()),
        Tree::Null => Value::Null,
    }
}

/// Opens `file` as the controller opens the object read back from the API server.
fn open_in_cluster(fx: &Fixture, file: &Path) -> gitseal_core::Result<encrypted_secret::MaterializedSecret> {
    open_in_cluster_as(fx, file, "flux-system/webhook-token")
}

fn open_in_cluster_as(fx: &Fixture, file: &Path, label: &str) -> gitseal_core::Result<encrypted_secret::MaterializedSecret> {
    let text = std::fs::read_to_string(file).unwrap();
    encrypted_secret::open_object(label, &as_api_object(&text), &identities(fx))
}

/// The key names under `spec.<section>` of a file, in file order.
fn keys_of(file_text: &str, section: &str) -> Vec<String> {
    let parsed = document::parse(Format::Yaml, file_text).unwrap();
    let doc = &parsed.docs[0];
    doc.leaves
        .iter()
        .filter(|l| {
            let keys = &doc.paths[l.parent as usize].keys;
            keys.len() == 2 && &*keys[0] == "spec" && &*keys[1] == section
        })
        .map(|l| l.key(file_text).unwrap().to_owned())
        .collect()
}

/// An editor script that runs `sed EXPR` on the file it is given.
fn sed_editor(fx: &Fixture, name: &str, expr: &str) -> std::path::PathBuf {
    let p = fx.write(name, format!("#!/bin/sh\nsed -i '{expr}' \"$1\"\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    p
}

#[test]
fn encrypt_kind_encrypted_secret_writes_a_file_sops_opens() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let text = std::fs::read_to_string(&es).unwrap();
    assert!(text.starts_with("apiVersion: gitseal.dev/v1alpha1\nkind: EncryptedSecret\n"), "{text}");
    assert!(text.contains("    encrypted_regex: ^(binding|data|stringData)$\n") && text.contains("    mac_only_encrypted: true\n"), "{text}");
    assert!(text.contains("  scope: strict\n"), "{text}");
    assert!(!text.contains("s3cr3t-value") && !text.contains("aGVsbG8="), "a value is in plaintext:\n{text}");
    // The real sops 3.11 verifies the MAC and opens every value.
    let plain = String::from_utf8(fx.sops_decrypt(&es)).unwrap();
    assert!(plain.contains("token: s3cr3t-value") && plain.contains("z: aGVsbG8="), "{plain}");
    let out = fx.sops().args(["decrypt", "--extract", r#"["spec"]["stringData"]["token"]"#]).arg(&es).output().unwrap();
    assert_success("sops decrypt --extract", &out);
    assert_eq!(out.stdout, b"s3cr3t-value");
    // And the cluster opens it after the API server's round trip.
    let s = open_in_cluster(&fx, &es).unwrap();
    assert_eq!(s.data["token"].as_slice(), b"s3cr3t-value");
    assert_eq!(s.labels["app"], "receiver");
}

#[test]
fn decrypt_kind_secret_gives_the_secret_back() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let out = secret_of(&fx, &es);
    assert_success("decrypt --kind Secret", &out);
    assert_eq!(utf8(&out.stdout), SECRET_BACK);
    // Without --kind: the sops plaintext of the EncryptedSecret itself.
    let plain = String::from_utf8(fx.decrypt(&es)).unwrap();
    assert!(plain.starts_with("apiVersion: gitseal.dev/v1alpha1\nkind: EncryptedSecret\n") && plain.contains("    token: s3cr3t-value\n"), "{plain}");
    // -o FILE writes the Secret; a plain sops file is not an EncryptedSecret.
    let o = fx.path("back.yaml");
    assert_success("decrypt --kind Secret -o", &fx.gitseal().args(["decrypt", "--kind", "Secret", "-o"]).arg(&o).arg(&es).output().unwrap());
    assert_eq!(std::fs::read_to_string(&o).unwrap(), SECRET_BACK);
    let out = fx.gitseal().args(["decrypt", "--kind", "Secret", "-o", "back.json"]).arg(&es).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(!fx.path("back.json").exists());
    // -i: the file becomes the Secret.
    let copy = fx.write("copy.yaml", std::fs::read(&es).unwrap());
    assert_success("decrypt --kind Secret -i", &fx.gitseal().args(["decrypt", "--kind", "Secret", "-i"]).arg(&copy).output().unwrap());
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), SECRET_BACK);
    let sops_file = fx.write("plain-sops.yaml", fx.encrypt(&fx.path("secret.yaml")));
    let out = secret_of(&fx, &sops_file);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("plain-sops.yaml:1: not an EncryptedSecret"), "{}", stderr(&out));
}

#[test]
fn encrypt_kind_encrypted_secret_in_place_and_to_a_file() {
    let fx = Fixture::new();
    let src = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i", "--kind", "EncryptedSecret", "--scope", "namespace", "--age", &fx.recipient]).arg(&src).output().unwrap();
    assert_success("encrypt -i --kind", &out);
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(text.contains("kind: EncryptedSecret") && text.contains("  scope: namespace\n"), "{text}");
    // Encrypting it again is refused: it is encrypted already, and stays as it is.
    let again = fx.gitseal().args(["encrypt", "-i", "--kind", "EncryptedSecret", "--age", &fx.recipient]).arg(&src).output().unwrap();
    assert_eq!(code(&again), Some(3), "{}", stderr(&again));
    assert!(stderr(&again).contains("already encrypted"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(&src).unwrap(), text);
    let o = fx.path("out.yaml");
    let out =
        fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--age", &fx.recipient, "-o"]).arg(&o).arg(fx.write("t.yaml", SECRET)).output().unwrap();
    assert_success("encrypt --kind -o", &out);
    assert_eq!(utf8(&secret_of(&fx, &o).stdout), SECRET_BACK);
}

#[test]
fn encrypt_kind_encrypted_secret_refuses_what_it_cannot_seal() {
    let fx = Fixture::new();
    let multi = fx.write("multi.yaml", format!("{SECRET}---\n{SECRET}"));
    let out = fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--age", &fx.recipient]).arg(&multi).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("multi.yaml:14:") && stderr(&out).contains("one file per object"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    let sops_file = fx.write("enc.yaml", fx.encrypt(&fx.write("s.yaml", SECRET)));
    let out = fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--age", &fx.recipient]).arg(&sops_file).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("already encrypted"), "{}", stderr(&out));

    let out = fx.gitseal().args(["encrypt", "--scope", "cluster", "--age", &fx.recipient]).arg(fx.path("s.yaml")).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--scope applies to --kind EncryptedSecret only"), "{}", stderr(&out));

    let out = fx
        .gitseal()
        .args(["encrypt", "--kind", "EncryptedSecret", "--encrypted-regex", "^data$", "--age", &fx.recipient])
        .arg(fx.path("s.yaml"))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));

    let no_ns = fx.write("no-ns.yaml", SECRET.replace("  namespace: flux-system\n", ""));
    let out = fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--age", &fx.recipient]).arg(&no_ns).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--scope cluster"), "{}", stderr(&out));
    let out = fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--scope", "cluster", "--age", &fx.recipient]).arg(&no_ns).output().unwrap();
    assert_success("encrypt --scope cluster", &out);

    // The output is YAML: not into a .json file, in place or with -o; one file at a time.
    let json = fx.write("s.json", r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a", "namespace": "b"}, "stringData": {"k": "v"}}"#);
    let out = fx.gitseal().args(["encrypt", "-i", "--kind", "EncryptedSecret", "--age", &fx.recipient]).arg(&json).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is written as YAML"), "{}", stderr(&out));
    let out = fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--age", &fx.recipient, "-o", "out.json"]).arg(&json).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let out = fx.gitseal().args(["encrypt", "--kind", "EncryptedSecret", "--age", &fx.recipient, "-o", "from-json.yaml"]).arg(&json).output().unwrap();
    assert_success("encrypt --kind of a JSON Secret", &out);
    assert!(open_in_cluster_as(&fx, &fx.path("from-json.yaml"), "b/a").is_ok());
    std::fs::create_dir_all(fx.path("dir")).unwrap();
    let out = fx.gitseal().args(["encrypt", "-i", "--kind", "EncryptedSecret", "--age", &fx.recipient]).arg(fx.path("dir")).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

#[test]
fn encrypt_kind_encrypted_secret_takes_the_rule_recipients_and_warns_about_its_selection() {
    let fx = Fixture::new();
    let (s2, r2) = gitseal_core::keys::age::generate_identity();
    let k2 = fx.write("k2.txt", format!("{}\n", &*s2));
    fx.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{r2}]\n", fx.recipient),
    );
    let src = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i", "--kind", "EncryptedSecret"]).arg(&src).output().unwrap();
    assert_success("encrypt --kind with a rule", &out);
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("creation_rules[0] of ") && err.contains(".sops.yaml sets encrypted_regex \"^(data|stringData)$\""),
        "{err}"
    );
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(text.contains("shamir_threshold: 2") && text.contains("encrypted_regex: ^(binding|data|stringData)$"), "{text}");
    // Both shares are needed.
    assert_ne!(secret_of(&fx, &src).status.code(), Some(0));
    let both = fx.write("both.txt", format!("{}{}", std::fs::read_to_string(&fx.key_file).unwrap(), std::fs::read_to_string(&k2).unwrap()));
    let out = fx.gitseal().env("SOPS_AGE_KEY_FILE", &both).args(["decrypt", "--kind", "Secret"]).arg(&src).output().unwrap();
    assert_success("decrypt --kind Secret with both shares", &out);
    assert_eq!(utf8(&out.stdout), SECRET_BACK);
}

#[test]
fn create_generic_kind_encrypted_secret_writes_one_directly() {
    let fx = Fixture::new();
    let o = fx.path("created.yaml");
    let out = fx
        .gitseal()
        .args(["create", "generic", "api", "-n", "team-a", "--from-literal", "password=hunter2-secret", "--label", "tier=backend"])
        .args(["--kind", "EncryptedSecret", "--scope", "namespace", "--age", &fx.recipient, "-o"])
        .arg(&o)
        .output()
        .unwrap();
    assert_success("create generic --kind EncryptedSecret", &out);
    assert!(stderr(&out).contains("EncryptedSecret (scope namespace)"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&o).unwrap();
    assert!(text.contains("kind: EncryptedSecret") && text.contains("  scope: namespace\n") && !text.contains("hunter2"), "{text}");
    let back = secret_of(&fx, &o);
    assert_success("decrypt --kind Secret", &back);
    assert_eq!(
        utf8(&back.stdout),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\n  namespace: team-a\n  labels:\n    tier: backend\ntype: Opaque\ndata:\n  password: aHVudGVyMi1zZWNyZXQ=\n"
    );
    fx.sops_decrypt(&o);
    // Without a namespace, strict scope has nothing to seal to; --readable-cert cannot apply.
    let out = fx.gitseal().args(["create", "generic", "api", "--random", "token", "--kind", "EncryptedSecret", "--age", &fx.recipient]).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("scope strict seals the EncryptedSecret to a namespace: give -n NAMESPACE"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = fx.gitseal().args(["create", "generic", "api", "--from-literal", "a=b", "--scope", "cluster", "--age", &fx.recipient]).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
}

#[test]
fn create_webhook_kind_encrypted_secret_to_stdout() {
    let fx = Fixture::new();
    let out = fx.gitseal().args(["create", "webhook", "--for", "flux-receiver", "--kind", "EncryptedSecret", "--age", &fx.recipient]).output().unwrap();
    assert_success("create webhook --kind EncryptedSecret", &out);
    let file = fx.write("hook.yaml", &out.stdout);
    let s = open_in_cluster(&fx, &file).unwrap();
    assert_eq!((s.name.as_str(), s.namespace.as_deref()), ("webhook-token", Some("flux-system")));
    assert_eq!(s.data["token"].len(), 64);
    // The hint for reading the token back names the EncryptedSecret's path.
    assert!(stderr(&out).contains(r#"["spec"]["data"]["token"]"#), "{}", stderr(&out));
}

#[test]
fn set_of_a_new_key_lands_sorted_and_opens_after_the_api_round_trip() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    for (key, value) in [("a-key", "first"), ("m-key", "middle"), ("zz-key", "last")] {
        let out = fx.gitseal().args(["set"]).arg(&es).arg(format!(r#"["spec"]["stringData"]["{key}"]"#)).arg(value).output().unwrap();
        assert_success("set", &out);
    }
    let out = fx.gitseal().args(["set", "--base64"]).arg(&es).arg(r#"["spec"]["data"]["a"]"#).arg("bytes").output().unwrap();
    assert_success("set --base64", &out);
    let text = std::fs::read_to_string(&es).unwrap();
    assert_eq!(keys_of(&text, "stringData"), ["a-key", "b-key", "m-key", "token", "zz-key"]);
    assert_eq!(keys_of(&text, "data"), ["a", "z"]);
    encrypted_secret::check_file("es.yaml", Format::Yaml, &text).unwrap();
    let s = open_in_cluster(&fx, &es).unwrap();
    assert_eq!(s.data["a-key"].as_slice(), b"first");
    assert_eq!(s.data["m-key"].as_slice(), b"middle");
    assert_eq!(s.data["a"].as_slice(), b"bytes");
    fx.sops_decrypt(&es);
    // unset keeps it opening.
    assert_success("unset", &fx.gitseal().args(["unset"]).arg(&es).arg(r#"["spec"]["stringData"]["m-key"]"#).output().unwrap());
    assert!(!open_in_cluster(&fx, &es).unwrap().data.contains_key("m-key"));
}

#[test]
fn set_of_a_non_base64_value_under_spec_data_is_refused() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let before = std::fs::read(&es).unwrap();
    let out = fx.gitseal().args(["set"]).arg(&es).arg(r#"["spec"]["data"]["raw"]"#).arg("not base64!").output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("spec.data.raw is not valid base64"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&es).unwrap(), before);
}

#[test]
fn set_of_a_template_label_reseals_the_binding() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let out = fx.gitseal().args(["set"]).arg(&es).arg(r#"["spec"]["template"]["metadata"]["labels"]["team"]"#).arg("blue").output().unwrap();
    assert_success("set label", &out);
    assert!(!stderr(&out).contains("stored in plaintext"), "{}", stderr(&out));
    let s = open_in_cluster(&fx, &es).unwrap();
    assert_eq!(s.labels["team"], "blue");
}

#[test]
fn edit_of_a_template_label_shows_in_the_secret() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let editor = sed_editor(&fx, "ed.sh", "s/app: receiver/app: webhook-receiver/");
    let out = fx.gitseal().env("EDITOR", &editor).arg("edit").arg(&es).output().unwrap();
    assert_success("edit", &out);
    let back = secret_of(&fx, &es);
    assert_success("decrypt --kind Secret", &back);
    assert!(utf8(&back.stdout).contains("  labels:\n    app: webhook-receiver\n"), "{}", utf8(&back.stdout));
    assert_eq!(open_in_cluster(&fx, &es).unwrap().labels["app"], "webhook-receiver");
}

#[test]
fn edit_that_reorders_keys_is_refused_naming_the_key() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let before = std::fs::read(&es).unwrap();
    // b-key renamed to zz-key in place: zz-key now comes before token.
    let editor = sed_editor(&fx, "ed.sh", "s/b-key: other/zz-key: other/");
    let out = fx.gitseal().env("EDITOR", &editor).arg("edit").arg(&es).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("spec.stringData.token is out of sorted key order (it follows spec.stringData.zz-key)"), "{err}");
    assert!(err.contains("left unchanged"), "{err}");
    assert_eq!(std::fs::read(&es).unwrap(), before);
}

#[test]
fn edit_that_adds_a_comment_under_spec_data_still_opens_in_the_cluster() {
    // sops encrypts the comment (it is under an encrypted key) but, with
    // mac_only_encrypted, leaves it out of the MAC: the API server dropping it changes nothing.
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let editor = sed_editor(&fx, "ed.sh", "s/^    z: aGVsbG8=$/    # the old one\\n    z: aGVsbG8=/");
    let out = fx.gitseal().env("EDITOR", &editor).arg("edit").arg(&es).output().unwrap();
    assert_success("edit adding a comment", &out);
    let text = std::fs::read_to_string(&es).unwrap();
    assert!(text.contains("  data:\n    #ENC[AES256_GCM,") && text.contains(",type:comment]\n    z: ENC["), "{text}");
    fx.sops_decrypt(&es);
    assert_eq!(open_in_cluster(&fx, &es).unwrap().data["z"].as_slice(), b"hello");
}

#[test]
fn hand_edited_template_is_a_template_mismatch() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let text = std::fs::read_to_string(&es).unwrap();
    std::fs::write(&es, text.replace("    type: Opaque\n", "    type: kubernetes.io/tls\n")).unwrap();
    // sops still opens it (the template is not under the MAC), the cluster would not.
    fx.sops_decrypt(&es);
    let out = secret_of(&fx, &es);
    assert_eq!(code(&out), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("spec.template type changed after the object was sealed"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn file_copied_into_another_namespace_is_a_scope_violation() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let text = std::fs::read_to_string(&es).unwrap();
    let copy = fx.write("copy.yaml", text.replace("  namespace: flux-system\n", "  namespace: team-b\n"));
    let out = secret_of(&fx, &copy);
    assert_eq!(code(&out), Some(12), "{}", stderr(&out));
    assert!(stderr(&out).contains("sealed for namespace flux-system, found in namespace team-b"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn rotate_updatekeys_and_rewrap_keep_it_opening() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let before = std::fs::read_to_string(&es).unwrap();
    assert_success("rotate", &fx.gitseal().args(["rotate", "-i"]).arg(&es).output().unwrap());
    let rotated = std::fs::read_to_string(&es).unwrap();
    assert_ne!(rotated, before);
    encrypted_secret::check_file("es.yaml", Format::Yaml, &rotated).unwrap();
    assert_eq!(open_in_cluster(&fx, &es).unwrap().data["token"].as_slice(), b"s3cr3t-value");

    let (s2, r2) = gitseal_core::keys::age::generate_identity();
    let k2 = fx.write("k2.txt", format!("{}\n", &*s2));
    fx.write(".sops.yaml", format!("creation_rules:\n  - age: {},{r2}\n", fx.recipient));
    assert_success("updatekeys", &fx.gitseal().args(["updatekeys", "-y"]).arg(&es).output().unwrap());
    let out = fx.gitseal().env("SOPS_AGE_KEY_FILE", &k2).args(["decrypt", "--kind", "Secret"]).arg(&es).output().unwrap();
    assert_success("decrypt with the added recipient", &out);
    assert_eq!(utf8(&out.stdout), SECRET_BACK);
    assert!(open_in_cluster(&fx, &es).is_ok());

    // No Vault Transit key wraps this file: rewrap has nothing to do and changes nothing.
    let now = std::fs::read(&es).unwrap();
    let out = fx.gitseal().args(["rewrap"]).arg(&es).output().unwrap();
    assert_success("rewrap", &out);
    assert_eq!(std::fs::read(&es).unwrap(), now);
}

#[test]
fn status_and_textconv_read_it() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let out = fx.gitseal().args(["status", "--format", "json"]).arg(&es).output().unwrap();
    assert_success("status", &out);
    let line: Value = serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["encrypted"], Value::Bool(true), "{line}");
    assert!(line.to_string().contains(&fx.recipient), "{line}");
    let out = fx.gitseal().arg("textconv").arg(&es).output().unwrap();
    assert_success("textconv", &out);
    assert!(utf8(&out.stdout).contains("    token: s3cr3t-value\n"), "{}", utf8(&out.stdout));
}

#[test]
fn check_reports_plaintext_under_spec_data_and_keys_out_of_order() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let text = std::fs::read_to_string(&es).unwrap();
    assert_success("check of a sound file", &fx.gitseal().args(["check"]).arg(&es).output().unwrap());

    // A value added by hand in plaintext: the MAC does not cover it, the cluster refuses it.
    let added = fx.write("added.yaml", text.replace("  data:\n", "  data:\n    evil: aGk=\n"));
    let out = fx.gitseal().args(["check"]).arg(&added).output().unwrap();
    assert_eq!(code(&out), Some(10), "{}", utf8(&out.stdout));
    let report = utf8(&out.stdout).to_owned();
    assert!(report.contains("added.yaml:9:") && report.contains(r#"["spec"]["data"]["evil"] is plaintext"#), "{report}");

    // Two entries swapped by hand: the order the cluster verifies the MAC in is lost.
    let lines: Vec<&str> = text.lines().collect();
    let i = lines.iter().position(|l| l.starts_with("    b-key:")).unwrap();
    let mut swapped = lines.clone();
    swapped.swap(i, i + 1);
    let swapped_file = fx.write("swapped.yaml", swapped.join("\n") + "\n");
    let out = fx.gitseal().args(["check"]).arg(&swapped_file).output().unwrap();
    assert_eq!(code(&out), Some(10), "{}", utf8(&out.stdout));
    let report = utf8(&out.stdout).to_owned();
    assert!(report.contains(&format!("swapped.yaml:{}:", i + 2)) && report.contains("spec.stringData.b-key is out of sorted key order"), "{report}");

    // A hand-edited template, with the key at hand to see it.
    let edited = fx.write("edited.yaml", text.replace("        app: receiver\n", "        app: other\n"));
    let out = fx.gitseal().args(["check"]).arg(&edited).output().unwrap();
    assert_eq!(code(&out), Some(10), "{}", utf8(&out.stdout));
    assert!(utf8(&out.stdout).contains("metadata.labels changed after the object was sealed"), "{}", utf8(&out.stdout));

    // An EncryptedSecret never encrypted.
    let plain = fx.write(
        "plain.yaml",
        "apiVersion: gitseal.dev/v1alpha1\nkind: EncryptedSecret\nmetadata:\n  name: x\n  namespace: y\nspec:\n  stringData:\n    token: abc\n",
    );
    let out = fx.gitseal().args(["check"]).arg(&plain).output().unwrap();
    assert_eq!(code(&out), Some(10), "{}", utf8(&out.stdout));
    assert!(utf8(&out.stdout).contains(r#"plain.yaml:8: EncryptedSecret "x": ["spec"]["stringData"]["token"] is plaintext"#), "{}", utf8(&out.stdout));
    assert!(!utf8(&out.stdout).contains("abc"), "a value reached the report");
}

#[test]
fn sops_rotate_keeps_it_valid_and_a_key_sops_set_appends_out_of_order_is_caught() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    // sops re-serializes the file (4-space indentation) but keeps its order and selection.
    assert_success("sops rotate", &fx.sops().args(["rotate", "-i"]).arg(&es).output().unwrap());
    assert_eq!(utf8(&secret_of(&fx, &es).stdout), SECRET_BACK);
    assert!(open_in_cluster(&fx, &es).is_ok());
    assert_success("check after sops rotate", &fx.gitseal().arg("check").arg(&es).output().unwrap());
    // sops set appends a new key at the end of its mapping: sops still opens the file, the
    // cluster would not, and gitseal says so before it is committed.
    assert_success("sops set", &fx.sops().args(["set"]).arg(&es).args([r#"["spec"]["stringData"]["a"]"#, r#""x""#]).output().unwrap());
    fx.sops_decrypt(&es);
    assert!(open_in_cluster(&fx, &es).is_err());
    let out = fx.gitseal().arg("check").arg(&es).output().unwrap();
    assert_eq!(code(&out), Some(10), "{}", utf8(&out.stdout));
    assert!(utf8(&out.stdout).contains("spec.stringData.a is out of sorted key order (it follows spec.stringData.token)"), "{}", utf8(&out.stdout));
    let out = secret_of(&fx, &es);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn vault_transit_wraps_an_encrypted_secret_and_rewrap_keeps_it_opening() {
    let fx = Fixture::new();
    let bao = vault_support::openbao::OpenBao::start();
    bao.create_transit_key("gitops");
    let vault = |mut c: std::process::Command| {
        c.env("VAULT_ADDR", bao.addr()).env("VAULT_TOKEN", bao.root_token());
        c
    };
    let src = fx.write("s.yaml", SECRET);
    let out = vault(fx.gitseal_without_key())
        .args(["encrypt", "-i", "--kind", "EncryptedSecret", "--hc-vault-transit", &bao.transit_uri("gitops")])
        .arg(&src)
        .output()
        .unwrap();
    assert_success("encrypt --kind EncryptedSecret --hc-vault-transit", &out);
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(text.contains("hc_vault:") && text.contains("vault:v1:") && !text.contains("age:"), "{text}");
    let mut sops = fx.sops();
    sops.env_remove("SOPS_AGE_KEY_FILE");
    let out = vault(sops).arg("decrypt").arg(&src).output().unwrap();
    assert_success("sops decrypt through Transit", &out);
    assert!(utf8(&out.stdout).contains("token: s3cr3t-value"), "{}", utf8(&out.stdout));

    bao.rotate_transit_key("gitops");
    assert_success("rewrap", &vault(fx.gitseal_without_key()).arg("rewrap").arg(&src).output().unwrap());
    let rewrapped = std::fs::read_to_string(&src).unwrap();
    assert!(rewrapped.contains("vault:v2:"), "{rewrapped}");
    encrypted_secret::check_file("s.yaml", Format::Yaml, &rewrapped).unwrap();
    let out = vault(fx.gitseal_without_key()).args(["decrypt", "--kind", "Secret"]).arg(&src).output().unwrap();
    assert_success("decrypt --kind Secret through Transit", &out);
    assert_eq!(utf8(&out.stdout), SECRET_BACK);
}

#[test]
fn encrypt_of_an_encrypted_secret_never_encrypted_is_refused() {
    let fx = Fixture::new();
    let plain = fx.write(
        "plain.yaml",
        "apiVersion: gitseal.dev/v1alpha1\nkind: EncryptedSecret\nmetadata:\n  name: x\n  namespace: y\nspec:\n  stringData:\n    token: abc\n",
    );
    let before = std::fs::read(&plain).unwrap();
    let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&plain).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("gitseal encrypt --kind EncryptedSecret"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&plain).unwrap(), before);
}

#[test]
fn encrypt_of_a_value_added_by_hand_keeps_the_order_the_cluster_verifies() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let text = std::fs::read_to_string(&es).unwrap();
    // Added where it sorts: encrypted, and the cluster opens the result.
    let token_line = text.lines().find(|l| l.starts_with("    token: ")).unwrap();
    std::fs::write(&es, text.replace(token_line, &format!("    c-key: added\n{token_line}"))).unwrap();
    assert_success("encrypt -i of an added value", &fx.gitseal().args(["encrypt", "-i"]).arg(&es).output().unwrap());
    assert!(!std::fs::read_to_string(&es).unwrap().contains("added"));
    assert_eq!(open_in_cluster(&fx, &es).unwrap().data["c-key"].as_slice(), b"added");
    // Added at the end of stringData, out of order: refused, the file left as it is.
    let now = std::fs::read_to_string(&es).unwrap();
    let token_line = now.lines().find(|l| l.starts_with("    token: ")).unwrap();
    let misplaced = now.replace(token_line, &format!("{token_line}\n    a-key: added"));
    std::fs::write(&es, &misplaced).unwrap();
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&es).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("spec.stringData.a-key is out of sorted key order (it follows spec.stringData.token)"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&es).unwrap(), misplaced);
}

#[test]
fn create_tls_and_docker_registry_kind_encrypted_secret() {
    let fx = Fixture::new();
    let openssl = common::require_peer("openssl");
    let gen = std::process::Command::new(&openssl)
        .current_dir(fx.dir.path())
        .args(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=app.example.com", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-keyout", "tls.key", "-out", "tls.crt"])
        .output()
        .unwrap();
    assert_success("openssl req", &gen);
    let out = fx
        .gitseal()
        .args([
            "create",
            "tls",
            "app-tls",
            "-n",
            "apps",
            "--cert",
            "tls.crt",
            "--key",
            "tls.key",
            "--kind",
            "EncryptedSecret",
            "--age",
            &fx.recipient,
            "-o",
            "tls.yaml",
        ])
        .output()
        .unwrap();
    assert_success("create tls --kind EncryptedSecret", &out);
    let s = encrypted_secret::open_object("apps/app-tls", &as_api_object(&std::fs::read_to_string(fx.path("tls.yaml")).unwrap()), &identities(&fx)).unwrap();
    assert_eq!(s.secret_type, "kubernetes.io/tls");
    assert_eq!(s.data["tls.key"].as_slice(), std::fs::read(fx.path("tls.key")).unwrap());
    let out = fx
        .gitseal()
        .args([
            "create",
            "tls",
            "app-tls",
            "--cert",
            "tls.crt",
            "--key",
            "tls.key",
            "--readable-cert",
            "--kind",
            "EncryptedSecret",
            "--scope",
            "cluster",
            "--age",
            &fx.recipient,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--readable-cert"), "{}", stderr(&out));

    let mut child = fx
        .gitseal()
        .args(["create", "docker-registry", "pull", "-n", "apps", "--docker-server", "harbor.example.com", "--docker-username", "ci", "--password-stdin"])
        .args(["--kind", "EncryptedSecret", "--age", &fx.recipient, "-o", "pull.yaml"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"registry-pw-7f3a\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success("create docker-registry --kind EncryptedSecret", &out);
    let text = std::fs::read_to_string(fx.path("pull.yaml")).unwrap();
    assert!(!text.contains("registry-pw-7f3a"), "{text}");
    let s = encrypted_secret::open_object("apps/pull", &as_api_object(&text), &identities(&fx)).unwrap();
    assert_eq!(s.secret_type, "kubernetes.io/dockerconfigjson");
    assert!(String::from_utf8(s.data[".dockerconfigjson"].to_vec()).unwrap().contains("harbor.example.com"));
}

#[test]
fn render_passes_an_encrypted_secret_through_encrypted() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let other = fx.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n");
    let out = fx.gitseal().arg("render").arg(&es).arg(&other).output().unwrap();
    assert_success("render", &out);
    let text = utf8(&out.stdout);
    assert!(!text.contains("s3cr3t-value"), "render decrypted an EncryptedSecret:\n{text}");
    assert!(text.starts_with(&std::fs::read_to_string(&es).unwrap()) && text.contains("---\napiVersion: v1\nkind: ConfigMap\n"), "{text}");
    // One the cluster would refuse is refused here too.
    let t = std::fs::read_to_string(&es).unwrap();
    let bad = fx.write("bad.yaml", t.replace("  data:\n", "  data:\n    evil: aGk=\n"));
    let out = fx.gitseal().arg("render").arg(&bad).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn decrypt_kind_secret_reads_standard_input_without_a_file_name() {
    let fx = Fixture::new();
    let es = sealed(&fx, &[]);
    let mut child = fx
        .gitseal()
        .args(["decrypt", "--kind", "Secret", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &std::fs::read(&es).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success("decrypt --kind Secret -", &out);
    assert_eq!(utf8(&out.stdout), SECRET_BACK);
}
