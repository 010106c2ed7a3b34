//! The CustomResourceDefinition of `EncryptedSecret`, assembled from the schemas of the Rust
//! types in [`crate::resource`] and made structural: every property typed, no `default:`
//! (a default the API server fills in makes Argo CD report drift forever) and no
//! `x-kubernetes-preserve-unknown-fields`.

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use crate::resource::{EncryptedSecret, API_VERSION, GROUP, KIND, PLURAL, SHORT_NAME, SINGULAR, VERSION};

/// The schema keywords kept from what schemars generates; the others (`$schema`, `title`,
/// `default`, `nullable`, `examples`, formats of unsigned integers) have no place in a CRD.
const KEPT_KEYWORDS: [&str; 7] = ["type", "description", "properties", "items", "additionalProperties", "required", "enum"];

/// The CRD as a JSON value.
pub fn crd() -> Value {
    let mut schema = openapi_schema();
    // The root's apiVersion, kind and metadata are validated by the API server itself.
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("apiVersion".into(), json!({"type": "string", "description": format!("`{API_VERSION}`.")}));
        props.insert("kind".into(), json!({"type": "string", "description": format!("`{KIND}`.")}));
        props.insert("metadata".into(), json!({"type": "object", "description": "Standard object metadata."}));
    }
    if let Some(root) = schema.as_object_mut() {
        root.insert("required".into(), json!(["spec", "sops"]));
    }
    let ready = r#".status.conditions[?(@.type=="Ready")]"#;
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{PLURAL}.{GROUP}")},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": format!("{KIND}List"),
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": [SHORT_NAME],
            },
            "scope": "Namespaced",
            // Written out because the API server would otherwise add it, which GitOps tools report as drift.
            "conversion": {"strategy": "None"},
            "versions": [{
                "name": VERSION,
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string", "jsonPath": format!("{ready}.status")},
                    {"name": "Reason", "type": "string", "jsonPath": format!("{ready}.reason")},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }],
        },
    })
}

/// The CRD as the YAML `gitseal-controller crd` prints and `deploy/crd.yaml` holds.
pub fn crd_yaml() -> String {
    let body = gitseal_core::document::yaml::json::from_json(&crd());
    format!("# The EncryptedSecret CRD, printed by `gitseal-controller crd` from the controller's Rust types.\n# Do not edit: a test fails when this file and the types differ.\n{body}")
}

/// The structural OpenAPI v3 schema of the whole object.
fn openapi_schema() -> Value {
    let generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
        })
        .into_generator();
    let root = generator.into_root_schema_for::<EncryptedSecret>();
    let mut value = serde_json::to_value(root).unwrap_or(Value::Null);
    structural(&mut value);
    value
}

/// Rewrites a schemars node into a structural schema node, recursively.
fn structural(node: &mut Value) {
    let Some(obj) = node.as_object_mut() else { return };
    // `Option<T>` comes out as `type: [T, "null"]` or with `nullable`: the field is optional, which `required` already says.
    if let Some(Value::Array(types)) = obj.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
        if kept.len() == 1 {
            obj.insert("type".into(), kept[0].clone());
        }
    }
    let integer = obj.get("type").and_then(Value::as_str) == Some("integer");
    let mut kept = Map::new();
    for (key, value) in std::mem::take(obj) {
        if KEPT_KEYWORDS.contains(&key.as_str()) {
            kept.insert(key, value);
        }
    }
    if integer {
        kept.insert("format".into(), "int64".into());
    }
    if kept.get("required").and_then(Value::as_array).is_some_and(Vec::is_empty) {
        kept.remove("required");
    }
    if let Some(Value::Object(props)) = kept.get_mut("properties") {
        props.values_mut().for_each(structural);
    }
    if let Some(items) = kept.get_mut("items") {
        structural(items);
    }
    if let Some(extra @ Value::Object(_)) = kept.get_mut("additionalProperties") {
        structural(extra);
    }
    *obj = kept;
}

/// What keeps a schema from being structural, as `path: problem` lines (empty when none).
pub fn structural_problems(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    walk_problems(schema, "openAPIV3Schema", &mut problems);
    problems
}

fn walk_problems(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        problems.push(format!("{path}: not a schema object"));
        return;
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("object" | "array" | "string" | "integer" | "number" | "boolean") => {}
        _ => problems.push(format!("{path}: no single type")),
    }
    for banned in ["default", "x-kubernetes-preserve-unknown-fields", "nullable", "anyOf", "oneOf", "allOf", "$ref"] {
        if obj.contains_key(banned) {
            problems.push(format!("{path}: has {banned}"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            walk_problems(prop, &format!("{path}.{name}"), problems);
        }
    }
    if let Some(items) = obj.get("items") {
        walk_problems(items, &format!("{path}[]"), problems);
    }
    if let Some(extra @ Value::Object(_)) = obj.get("additionalProperties") {
        walk_problems(extra, &format!("{path}{{}}"), problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_schema() -> Value {
        crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
    }

    fn find_key(node: &Value, key: &str, path: &str, found: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == key {
                        found.push(path.to_owned());
                    }
                    find_key(v, key, &format!("{path}.{k}"), found);
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| find_key(v, key, &format!("{path}[{i}]"), found)),
            _ => {}
        }
    }

    #[test]
    fn the_crd_has_no_default_anywhere() {
        let mut found = Vec::new();
        find_key(&crd(), "default", "", &mut found);
        assert!(found.is_empty(), "default at {found:?}");
    }

    #[test]
    fn the_schema_is_structural_with_every_property_typed() {
        assert_eq!(structural_problems(&root_schema()), Vec::<String>::new());
        let mut found = Vec::new();
        find_key(&crd(), "x-kubernetes-preserve-unknown-fields", "", &mut found);
        assert!(found.is_empty(), "preserve-unknown-fields at {found:?}");
    }

    #[test]
    fn a_schema_with_an_untyped_property_or_a_default_is_reported() {
        let bad = json!({"type": "object", "properties": {"a": {"description": "x"}, "b": {"type": "string", "default": "z"}}});
        let problems = structural_problems(&bad);
        assert_eq!(problems, vec!["openAPIV3Schema.a: no single type".to_owned(), "openAPIV3Schema.b: has default".to_owned()]);
    }

    #[test]
    fn every_sops_metadata_field_is_declared() {
        let sops = &root_schema()["properties"]["sops"]["properties"];
        for field in [
            "shamir_threshold",
            "key_groups",
            "kms",
            "gcp_kms",
            "hckms",
            "azure_kv",
            "hc_vault",
            "age",
            "lastmodified",
            "mac",
            "pgp",
            "unencrypted_suffix",
            "encrypted_suffix",
            "unencrypted_regex",
            "encrypted_regex",
            "unencrypted_comment_regex",
            "encrypted_comment_regex",
            "mac_only_encrypted",
            "version",
        ] {
            assert!(sops.get(field).is_some(), "sops.{field} missing");
        }
        assert_eq!(sops["mac_only_encrypted"]["type"], "boolean");
        assert_eq!(sops["shamir_threshold"]["type"], "integer");
        let group = &sops["key_groups"]["items"]["properties"];
        for field in ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "age", "pgp"] {
            assert!(group.get(field).is_some(), "key_groups[].{field} missing");
        }
        let vault = &sops["hc_vault"]["items"]["properties"];
        for field in ["vault_address", "engine_path", "key_name", "created_at", "enc"] {
            assert_eq!(vault[field]["type"], "string", "hc_vault[].{field}");
        }
    }

    #[test]
    fn spec_and_status_have_the_documented_fields() {
        let root = root_schema();
        let spec = &root["properties"]["spec"]["properties"];
        assert_eq!(spec["data"]["additionalProperties"]["type"], "string");
        assert_eq!(spec["stringData"]["additionalProperties"]["type"], "string");
        assert_eq!(spec["scope"]["type"], "string");
        assert_eq!(spec["binding"]["type"], "string");
        let template = &spec["template"]["properties"];
        assert_eq!(template["type"]["type"], "string");
        assert_eq!(template["immutable"]["type"], "boolean");
        assert_eq!(template["metadata"]["properties"]["labels"]["additionalProperties"]["type"], "string");
        let status = &root["properties"]["status"]["properties"];
        assert_eq!(status["observedGeneration"]["type"], "integer");
        assert_eq!(status["secretName"]["type"], "string");
        let condition = &status["conditions"]["items"];
        for field in ["type", "status", "reason", "message", "lastTransitionTime", "observedGeneration"] {
            assert!(condition["properties"].get(field).is_some(), "condition.{field} missing");
        }
        let mut required: Vec<&str> = root["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        required.sort_unstable();
        assert_eq!(required, ["sops", "spec"]);
    }

    #[test]
    fn the_crd_is_namespaced_with_status_subresource_short_name_and_columns() {
        let c = crd();
        assert_eq!(c["metadata"]["name"], "encryptedsecrets.gitseal.dev");
        assert_eq!(c["spec"]["scope"], "Namespaced");
        assert_eq!(c["spec"]["names"]["shortNames"], json!(["esec"]));
        let version = &c["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["subresources"]["status"], json!({}));
        let columns: Vec<&str> = version["additionalPrinterColumns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(columns, ["Ready", "Reason", "Age"]);
    }
}
