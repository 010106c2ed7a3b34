//! YAML and JSON values, both ways, for programs that read Kubernetes manifests into typed
//! structures or print generated ones (the controller's CRD): plain scalars are typed by
//! the YAML 1.2 core schema as go-yaml v3 (and so kubectl) reads them, and strings are
//! written as gitseal writes every generated manifest (`k8s_create::push_scalar`): plain
//! only where YAML 1.1 and 1.2 readers alike take them for strings.

use serde_json::{Map, Number, Value};

use super::scan::plain_type;
use super::value::YamlNode;
use crate::sops::value::ValueType;

/// The JSON value of a YAML node. Mapping keys become strings; a later duplicate key wins,
/// as in go-yaml's decoding into a map.
pub fn to_json(node: &YamlNode) -> Value {
    match node {
        YamlNode::Map { entries, .. } => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match k {
                    YamlNode::Scalar(s) => s.text.to_string(),
                    other => to_json(other).to_string(),
                };
                map.insert(key, to_json(v));
            }
            Value::Object(map)
        }
        YamlNode::Seq { items, .. } => Value::Array(items.iter().map(to_json).collect()),
        YamlNode::Scalar(s) => {
            let text: &str = &s.text;
            match s.tag.as_deref() {
                Some("!!str") => return Value::String(text.to_owned()),
                Some("!!null") => return Value::Null,
                _ if s.null => return Value::Null,
                _ if !s.plain => return Value::String(text.to_owned()),
                _ => {}
            }
            match plain_type(text) {
                ValueType::Bool => Value::Bool(text.eq_ignore_ascii_case("true")),
                ValueType::Int => text
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| crate::sops::value::parse_go_int(text).map_or_else(|| Value::String(text.to_owned()), Value::from)),
                ValueType::Float => text.parse::<f64>().ok().and_then(Number::from_f64).map_or_else(|| Value::String(text.to_owned()), Value::Number),
                _ => Value::String(text.to_owned()),
            }
        }
    }
}

/// `value` as a block-style YAML document (no `---`), ending in a newline.
pub fn from_json(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            write_inline(&mut out, other);
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize) {
    for (k, v) in map {
        out.push_str(&" ".repeat(indent));
        write_string(out, k);
        out.push(':');
        write_nested(out, v, indent, false);
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            // A mapping starts on the dash's line: "- key: value", the rest aligned under it.
            Value::Object(m) if !m.is_empty() => {
                out.push(' ');
                let mut first = true;
                for (k, v) in m {
                    if !first {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    first = false;
                    write_string(out, k);
                    out.push(':');
                    write_nested(out, v, indent + 2, false);
                }
            }
            other => write_nested(out, other, indent, true),
        }
    }
}

/// Writes the value after `key:` (or `-`) at `indent`: scalars and empty collections on the
/// same line, others below (sequences under a key at the key's indentation, as kubectl does).
fn write_nested(out: &mut String, value: &Value, indent: usize, in_seq: bool) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, if in_seq { indent + 2 } else { indent });
        }
        other => {
            out.push(' ');
            write_inline(out, other);
            out.push('\n');
        }
    }
}

fn write_inline(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// A string plain when it can only be read back as that string, else double-quoted.
fn write_string(out: &mut String, s: &str) {
    crate::k8s_create::push_scalar(out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::yaml::value::parse_documents;

    fn parsed(src: &str) -> Value {
        to_json(&parse_documents(src).unwrap()[0])
    }

    #[test]
    fn plain_scalars_are_typed_by_the_core_schema_and_quoted_ones_stay_strings() {
        let v = parsed("a: 8080\nb: \"8080\"\nc: true\nd: ~\ne: 1.5\nf: yes\ng: !!str 12\nh:\n  - x\n  - -12\ni: 'null'\nj:\n");
        assert_eq!(
            v,
            serde_json::json!({"a": 8080, "b": "8080", "c": true, "d": null, "e": 1.5, "f": "yes", "g": "12", "h": ["x", -12], "i": "null", "j": null})
        );
    }

    #[test]
    fn written_yaml_reads_back_as_the_same_value() {
        let value = serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "spec": {"names": {"shortNames": ["es"], "plural": "encryptedsecrets"}, "versions": [{"name": "v1alpha1", "served": true, "schema": {"type": "object", "required": ["spec", "sops"]}}, {"empty": {}, "none": []}]},
            "odd": ["yes", "no", "on", "8080", "1.5", "2026-01-01", "a: b", " lead", "#x", "", "true", "null", "x\ny", "`code` (text)", "é"],
            "n": 3, "f": -2.5, "z": null,
        });
        let text = from_json(&value);
        assert_eq!(parsed(&text), value, "{text}");
        assert!(text.contains("apiVersion: apiextensions.k8s.io/v1\n"), "{text}");
        assert!(text.contains("  versions:\n  - name: v1alpha1\n    schema:\n      required:\n      - spec\n"), "{text}");
        assert!(text.contains("- \"yes\"\n"), "{text}");
    }
}
