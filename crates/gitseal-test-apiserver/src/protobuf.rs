//! Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`),
//! which kubectl's typed clients send for `kubectl create secret|configmap|namespace|
//! serviceaccount`: the `k8s\0` envelope, `runtime.Unknown`, and the messages of those four
//! types, read into the JSON form of the object.

use crate::clock;
use crate::objects::base64_encode;
use serde_json::{json, Map, Value};

const MAGIC: &[u8] = b"k8s\x00";

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b, i: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.i).ok_or("protobuf: truncated varint")?;
            self.i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("protobuf: varint too long".into())
    }

    /// The next (field number, value), or None at the end.
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, String> {
        if self.i >= self.b.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (num, wire) = (key >> 3, key & 7);
        let field = match wire {
            0 => Field::Varint(self.varint()?),
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                self.i += n;
                if self.i > self.b.len() {
                    return Err("protobuf: truncated fixed field".into());
                }
                Field::Varint(0)
            }
            2 => {
                let len = self.varint()? as usize;
                let end = self.i.checked_add(len).filter(|e| *e <= self.b.len()).ok_or("protobuf: truncated field")?;
                let s = &self.b[self.i..end];
                self.i = end;
                Field::Bytes(s)
            }
            other => return Err(format!("protobuf: unsupported wire type {other}")),
        };
        Ok(Some((num, field)))
    }
}

fn text(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "protobuf: a string field is not UTF-8".to_string())
}

fn bytes_of(f: Field<'_>) -> Result<&[u8], String> {
    match f {
        Field::Bytes(b) => Ok(b),
        Field::Varint(_) => Err("protobuf: expected a length-delimited field".into()),
    }
}

fn varint_of(f: Field) -> Result<u64, String> {
    match f {
        Field::Varint(v) => Ok(v),
        Field::Bytes(_) => Err("protobuf: expected a varint field".into()),
    }
}

/// A map entry (key = 1, value = 2).
fn entry(b: &[u8]) -> Result<(String, &[u8]), String> {
    let mut r = Reader::new(b);
    let (mut k, mut v): (String, &[u8]) = (String::new(), &[]);
    while let Some((n, f)) = r.next()? {
        match n {
            1 => k = text(bytes_of(f)?)?,
            2 => v = bytes_of(f)?,
            _ => {}
        }
    }
    Ok((k, v))
}

fn insert_entry(obj: &mut Map<String, Value>, field: &str, b: &[u8], as_base64: bool) -> Result<(), String> {
    let (k, v) = entry(b)?;
    let value = if as_base64 { json!(base64_encode(v)) } else { json!(text(v)?) };
    obj.entry(field).or_insert_with(|| json!({}))[k.as_str()] = value;
    Ok(())
}

fn push(obj: &mut Map<String, Value>, field: &str, v: Value) {
    if let Some(a) = obj.entry(field).or_insert_with(|| json!([])).as_array_mut() {
        a.push(v);
    }
}

fn time(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let mut secs = 0i64;
    while let Some((n, f)) = r.next()? {
        if n == 1 {
            secs = varint_of(f)? as i64;
        }
    }
    Ok(json!(clock::rfc3339(secs)))
}

fn owner_reference(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let mut o = Map::new();
    while let Some((n, f)) = r.next()? {
        match n {
            1 => o.insert("kind".into(), json!(text(bytes_of(f)?)?)),
            3 => o.insert("name".into(), json!(text(bytes_of(f)?)?)),
            4 => o.insert("uid".into(), json!(text(bytes_of(f)?)?)),
            5 => o.insert("apiVersion".into(), json!(text(bytes_of(f)?)?)),
            6 => o.insert("controller".into(), json!(varint_of(f)? != 0)),
            7 => o.insert("blockOwnerDeletion".into(), json!(varint_of(f)? != 0)),
            _ => None,
        };
    }
    Ok(Value::Object(o))
}

fn object_meta(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let mut m = Map::new();
    while let Some((n, f)) = r.next()? {
        match n {
            1 => _ = m.insert("name".into(), json!(text(bytes_of(f)?)?)),
            2 => _ = m.insert("generateName".into(), json!(text(bytes_of(f)?)?)),
            3 => _ = m.insert("namespace".into(), json!(text(bytes_of(f)?)?)),
            5 => _ = m.insert("uid".into(), json!(text(bytes_of(f)?)?)),
            6 => _ = m.insert("resourceVersion".into(), json!(text(bytes_of(f)?)?)),
            7 => _ = m.insert("generation".into(), json!(varint_of(f)?)),
            8 => _ = m.insert("creationTimestamp".into(), time(bytes_of(f)?)?),
            11 => insert_entry(&mut m, "labels", bytes_of(f)?, false)?,
            12 => insert_entry(&mut m, "annotations", bytes_of(f)?, false)?,
            13 => push(&mut m, "ownerReferences", owner_reference(bytes_of(f)?)?),
            14 => push(&mut m, "finalizers", json!(text(bytes_of(f)?)?)),
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

fn reference(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let mut o = Map::new();
    while let Some((n, f)) = r.next()? {
        // LocalObjectReference: name = 1; ObjectReference: kind 1, namespace 2, name 3, ...
        if let (1..=7, Field::Bytes(b)) = (n, f) {
            o.insert(format!("#{n}"), json!(text(b)?));
        }
    }
    Ok(Value::Object(o))
}

fn rename_reference(v: Value, local: bool) -> Value {
    let names: &[(&str, &str)] = if local {
        &[("#1", "name")]
    } else {
        &[("#1", "kind"), ("#2", "namespace"), ("#3", "name"), ("#4", "uid"), ("#5", "apiVersion"), ("#6", "resourceVersion"), ("#7", "fieldPath")]
    };
    let mut out = Map::new();
    for (k, v) in v.as_object().into_iter().flatten() {
        if let Some((_, name)) = names.iter().find(|(from, _)| from == k) {
            out.insert((*name).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Reads a protobuf request body into JSON; the error says why it cannot.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let inner = body.strip_prefix(MAGIC).ok_or("protobuf: the body does not start with the k8s envelope")?;
    let mut r = Reader::new(inner);
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) = (String::new(), String::new(), &[]);
    while let Some((n, f)) = r.next()? {
        match n {
            1 => {
                let mut t = Reader::new(bytes_of(f)?);
                while let Some((tn, tf)) = t.next()? {
                    match tn {
                        1 => api_version = text(bytes_of(tf)?)?,
                        2 => kind = text(bytes_of(tf)?)?,
                        _ => {}
                    }
                }
            }
            2 => raw = bytes_of(f)?,
            _ => {}
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    let mut r = Reader::new(raw);
    while let Some((n, f)) = r.next()? {
        if n == 1 {
            obj.insert("metadata".into(), object_meta(bytes_of(f)?)?);
            continue;
        }
        match (api_version.as_str(), kind.as_str(), n) {
            ("v1", "Secret", 2) => insert_entry(&mut obj, "data", bytes_of(f)?, true)?,
            ("v1", "Secret", 3) => _ = obj.insert("type".into(), json!(text(bytes_of(f)?)?)),
            ("v1", "Secret", 4) => insert_entry(&mut obj, "stringData", bytes_of(f)?, false)?,
            ("v1", "Secret", 5) | ("v1", "ConfigMap", 4) => _ = obj.insert("immutable".into(), json!(varint_of(f)? != 0)),
            ("v1", "ConfigMap", 2) => insert_entry(&mut obj, "data", bytes_of(f)?, false)?,
            ("v1", "ConfigMap", 3) => insert_entry(&mut obj, "binaryData", bytes_of(f)?, true)?,
            ("v1", "Namespace", 2) => {
                let mut s = Reader::new(bytes_of(f)?);
                let mut finalizers = Vec::new();
                while let Some((sn, sf)) = s.next()? {
                    if sn == 1 {
                        finalizers.push(json!(text(bytes_of(sf)?)?));
                    }
                }
                obj.insert("spec".into(), json!({"finalizers": finalizers}));
            }
            ("v1", "Namespace", 3) => {}
            ("v1", "ServiceAccount", 2) => push(&mut obj, "secrets", rename_reference(reference(bytes_of(f)?)?, false)),
            ("v1", "ServiceAccount", 3) => push(&mut obj, "imagePullSecrets", rename_reference(reference(bytes_of(f)?)?, true)),
            ("v1", "ServiceAccount", 4) => _ = obj.insert("automountServiceAccountToken".into(), json!(varint_of(f)? != 0)),
            ("v1", "Secret" | "ConfigMap" | "Namespace" | "ServiceAccount", _) => {}
            _ => return Err(format!("protobuf bodies are read for v1 Secret, ConfigMap, Namespace and ServiceAccount only, not {api_version} {kind}")),
        }
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    fn map_entry(n: u64, k: &str, v: &[u8]) -> Vec<u8> {
        let mut e = field(1, k.as_bytes());
        e.extend(field(2, v));
        field(n, &e)
    }

    #[test]
    fn a_secret_from_kubectl_create_decodes() {
        let mut meta = field(1, b"s1");
        meta.extend(field(3, b"team-a"));
        meta.extend(map_entry(11, "app", b"web"));
        let mut secret = field(1, &meta);
        secret.extend(map_entry(2, "token", b"\x00\xffraw"));
        secret.extend(field(3, b"Opaque"));
        let mut type_meta = field(1, b"v1");
        type_meta.extend(field(2, b"Secret"));
        let mut unknown = field(1, &type_meta);
        unknown.extend(field(2, &secret));
        let mut body = MAGIC.to_vec();
        body.extend(unknown);
        assert_eq!(
            decode(&body).unwrap(),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1", "namespace": "team-a", "labels": {"app": "web"}}, "data": {"token": base64_encode(b"\x00\xffraw")}, "type": "Opaque"})
        );
        assert!(decode(b"{}").is_err());
    }
}
