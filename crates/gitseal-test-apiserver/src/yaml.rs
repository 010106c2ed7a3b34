//! YAML request bodies (`application/yaml`, `application/apply-patch+yaml`) read into JSON
//! values, with the YAML 1.2 core schema for plain scalars (as the API server's decoder).

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

/// Reads one YAML document into a JSON value; the error names the line.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Value)> = Vec::new();
    let mut root: Option<Value> = None;
    let mut documents = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| format!("yaml: line {}: {}", e.marker().line(), e.info()))?;
        let line = span.start.line();
        let value = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(format!("yaml: line {line}: a request body holds one document"));
                }
                continue;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::MappingStart(anchor, _) => {
                stack.push(Frame { anchor, map: Some(Map::new()), seq: Vec::new(), key: None });
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame { anchor, map: None, seq: Vec::new(), key: None });
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let frame = stack.pop().ok_or("yaml: unbalanced collection")?;
                let anchor = frame.anchor;
                let v = match frame.map {
                    Some(m) => Value::Object(m),
                    None => Value::Array(frame.seq),
                };
                if anchor > 0 {
                    anchors.push((anchor, v.clone()));
                }
                v
            }
            Event::Alias(id) => anchors.iter().rev().find(|(a, _)| *a == id).map(|(_, v)| v.clone()).ok_or(format!("yaml: line {line}: unknown anchor"))?,
            Event::Scalar(text, style, anchor, tag) => {
                let tagged = tag.as_ref().map(|t| t.suffix.as_str());
                let v = scalar(&text, style, tagged).map_err(|e| format!("yaml: line {line}: {e}"))?;
                if anchor > 0 {
                    anchors.push((anchor, v.clone()));
                }
                v
            }
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(frame) => match &mut frame.map {
                Some(map) => match frame.key.take() {
                    None => {
                        let key = match value {
                            Value::String(s) => s,
                            Value::Null => "null".into(),
                            Value::Bool(b) => b.to_string(),
                            Value::Number(n) => n.to_string(),
                            _ => return Err(format!("yaml: line {line}: mapping keys must be scalars")),
                        };
                        if map.contains_key(&key) {
                            return Err(format!("yaml: line {line}: key {key:?} already set in map"));
                        }
                        frame.key = Some(key);
                    }
                    Some(key) => {
                        map.insert(key, value);
                    }
                },
                None => frame.seq.push(value),
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

struct Frame {
    anchor: usize,
    map: Option<Map<String, Value>>,
    seq: Vec<Value>,
    key: Option<String>,
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Result<Value, String> {
    match tag {
        Some("str") => return Ok(Value::String(text.into())),
        Some("int") => return text.parse::<i64>().map(Value::from).map_err(|_| format!("cannot read {text:?} as !!int")),
        Some("bool") => return parse_bool(text).map(Value::Bool).ok_or(format!("cannot read {text:?} as !!bool")),
        Some("null") => return Ok(Value::Null),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.into()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = parse_bool(text) {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = text.parse::<i64>() {
        if !text.starts_with('+') {
            return Ok(Value::from(i));
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Ok(Value::from(i));
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Ok(Value::from(i));
        }
    }
    let looks_numeric =
        text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.' || c == '+') && text.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
    if looks_numeric {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Ok(Value::Number(n));
        }
    }
    Ok(Value::String(text.into()))
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifests_read_as_the_api_server_reads_them() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  labels: {a: \"1\", b: yes}\nstringData:\n  n: 5\n  q: '5'\n  f: 1.5\n  t: true\n  z: ~\nlist:\n- x\n- &a {k: v}\n- *a\n";
        assert_eq!(
            parse(text).unwrap(),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"a": "1", "b": "yes"}}, "stringData": {"n": 5, "q": "5", "f": 1.5, "t": true, "z": null}, "list": ["x", {"k": "v"}, {"k": "v"}]})
        );
    }

    #[test]
    fn duplicate_keys_and_several_documents_are_refused() {
        assert!(parse("a: 1\na: 2\n").unwrap_err().contains("line 2"));
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }
}
