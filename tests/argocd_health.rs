//! The Argo CD health check of EncryptedSecret (examples/argocd-health/health.lua), run in
//! the reference Lua 5.1 (Argo CD's gopher-lua is a Lua 5.1) against status samples of
//! each state the controller reports.

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

fn example(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/argocd-health")).join(name)
}

/// `v` as a Lua table constructor (what Argo CD hands the script as `obj`).
fn lua_literal(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // A JSON string is a valid Lua string literal for the ASCII text used here.
        Value::String(s) => serde_json::to_string(s).unwrap(),
        Value::Array(items) => format!("{{{}}}", items.iter().map(lua_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("[{}] = {}", serde_json::to_string(k).unwrap(), lua_literal(v))).collect::<Vec<_>>().join(", "))
        }
    }
}

/// Runs the health check on `obj` and returns (status, message).
fn health(obj: &Value) -> (String, String) {
    let lua = common::require_peer("lua5.1");
    let script = std::fs::read_to_string(example("health.lua")).unwrap();
    let program = format!("obj = {}\nlocal hs = (function()\n{script}\nend)()\nio.write(hs.status, \"\\n\", hs.message or \"\", \"\\n\")\n", lua_literal(obj));
    let out = Command::new(lua)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(program.as_bytes())?;
            child.wait_with_output()
        });
    let out = out.unwrap();
    assert!(out.status.success(), "lua failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (lines.next().unwrap_or_default().to_owned(), lines.next().unwrap_or_default().to_owned())
}

fn object(generation: u64, status: Value) -> Value {
    json!({
        "apiVersion": "gitseal.dev/v1alpha1",
        "kind": "EncryptedSecret",
        "metadata": {"name": "hook", "namespace": "flux-system", "generation": generation},
        "status": status,
    })
}

fn ready(status: &str, reason: &str, message: &str, observed: u64) -> Value {
    json!({
        "observedGeneration": observed,
        "conditions": [
            {"type": "Ready", "status": status, "reason": reason, "message": message, "observedGeneration": observed, "lastTransitionTime": "2026-12-01T10:00:00Z"}
        ]
    })
}

#[test]
fn a_decrypted_current_generation_is_healthy() {
    let (status, message) = health(&object(3, ready("True", "Decrypted", "Secret flux-system/hook is up to date", 3)));
    assert_eq!(status, "Healthy");
    assert_eq!(message, "Secret flux-system/hook is up to date");
}

#[test]
fn a_refused_object_is_degraded_with_the_controllers_reason() {
    let (status, message) = health(&object(2, ready("False", "MacMismatch", "the MAC does not match", 2)));
    assert_eq!(status, "Degraded");
    assert_eq!(message, "MacMismatch: the MAC does not match");
    let (status, message) = health(&object(1, ready("False", "NoMatchingKey", "no identity opens the data key; encrypted to age:age1xyz", 1)));
    assert_eq!(status, "Degraded");
    assert!(message.starts_with("NoMatchingKey: "), "{message}");
}

#[test]
fn an_object_the_controller_has_not_seen_is_progressing() {
    assert_eq!(health(&object(1, Value::Null)).0, "Progressing");
    assert_eq!(health(&object(1, json!({}))).0, "Progressing");
    // Ready for an older generation: the new one is not decrypted yet.
    let (status, message) = health(&object(4, ready("True", "Decrypted", "ok", 3)));
    assert_eq!(status, "Progressing");
    assert!(message.contains("generation 4"), "{message}");
    // A Ready condition that is Unknown.
    assert_eq!(health(&object(1, ready("Unknown", "Progressing", "decrypting", 1))).0, "Progressing");
    // Conditions without Ready.
    assert_eq!(health(&object(1, json!({"observedGeneration": 1, "conditions": [{"type": "Other", "status": "True"}]}))).0, "Progressing");
}

#[test]
fn the_argocd_cm_patch_carries_the_same_script() {
    let script = std::fs::read_to_string(example("health.lua")).unwrap();
    let patch = std::fs::read_to_string(example("argocd-cm-patch.yaml")).unwrap();
    let key = "  resource.customizations.health.gitseal.dev_EncryptedSecret: |\n";
    let block = &patch[patch.find(key).expect("the patch sets the health customization") + key.len()..];
    let embedded: String = block.lines().map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l))).collect();
    assert_eq!(embedded.trim_end(), script.trim_end(), "examples/argocd-health/argocd-cm-patch.yaml and health.lua differ");
}
