//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`) and field selectors
//! (`metadata.name`, `metadata.namespace`, plus the few fields a resource adds).

use serde_json::Value;
use std::collections::BTreeMap;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    /// `key=value`, `key==value`, `key in (a,b)`.
    In(String, Vec<String>),
    /// `key!=value`, `key notin (a,b)`: matches objects without the key too.
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
}

/// A parsed label selector: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(pub Vec<Requirement>);

impl LabelSelector {
    /// Parses the `labelSelector` query parameter.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        p.ws();
        if p.done() {
            return Ok(LabelSelector(reqs));
        }
        loop {
            p.ws();
            let negated = p.eat("!");
            p.ws();
            let key = p.word();
            if key.is_empty() {
                return Err(format!("unable to parse requirement: found '{}', expected: identifier", p.rest()));
            }
            validate_key(&key)?;
            p.ws();
            if negated {
                reqs.push(Requirement::DoesNotExist(key));
            } else if p.eat("==") || p.eat("=") {
                p.ws();
                let v = p.word();
                validate_value(&v)?;
                reqs.push(Requirement::In(key, vec![v]));
            } else if p.eat("!=") {
                p.ws();
                let v = p.word();
                validate_value(&v)?;
                reqs.push(Requirement::NotIn(key, vec![v]));
            } else if p.eat_keyword("notin") {
                reqs.push(Requirement::NotIn(key, p.set()?));
            } else if p.eat_keyword("in") {
                reqs.push(Requirement::In(key, p.set()?));
            } else {
                reqs.push(Requirement::Exists(key));
            }
            p.ws();
            if p.done() {
                break;
            }
            if !p.eat(",") {
                return Err(format!("found '{}', expected: ',' or 'end of string'", p.rest()));
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether labels satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }

    /// Whether an object's `metadata.labels` satisfy the selector.
    pub fn matches_object(&self, obj: &Value) -> bool {
        if self.0.is_empty() {
            return true;
        }
        self.matches(&labels_of(obj))
    }
}

/// `metadata.labels` as a map.
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

fn validate_key(key: &str) -> Result<(), String> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() || prefix.len() > 253 {
                return Err(format!("invalid label key \"{key}\": prefix part must be a DNS-1123 subdomain"));
            }
            name
        }
        None => key,
    };
    if name.is_empty() || name.len() > 63 || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("invalid label key \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'"));
    }
    Ok(())
}

fn validate_value(v: &str) -> Result<(), String> {
    if v.len() > 63 || (!v.is_empty() && (!v.starts_with(|c: char| c.is_ascii_alphanumeric()) || !v.ends_with(|c: char| c.is_ascii_alphanumeric()))) {
        return Err(format!("invalid label value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"));
    }
    Ok(())
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..]).into_owned()
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, t: &str) -> bool {
        if self.s[self.i..].starts_with(t.as_bytes()) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn eat_keyword(&mut self, kw: &str) -> bool {
        let save = self.i;
        if self.eat(kw) {
            let next = self.s.get(self.i).copied();
            if next.is_none() || next.is_some_and(|c| c.is_ascii_whitespace() || c == b'(') {
                return true;
            }
        }
        self.i = save;
        false
    }
    fn word(&mut self) -> String {
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || b"-_./".contains(&self.s[self.i])) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn set(&mut self) -> Result<Vec<String>, String> {
        self.ws();
        if !self.eat("(") {
            return Err(format!("found '{}', expected: '('", self.rest()));
        }
        let mut vals = Vec::new();
        loop {
            self.ws();
            let v = self.word();
            validate_value(&v)?;
            vals.push(v);
            self.ws();
            if self.eat(")") {
                break;
            }
            if !self.eat(",") {
                return Err(format!("found '{}', expected: ',', or ')'", self.rest()));
            }
        }
        Ok(vals)
    }
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldTerm {
    /// Field path (`metadata.name`).
    pub field: String,
    /// Wanted value.
    pub value: String,
    /// `!=` instead of `=`/`==`.
    pub negated: bool,
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(pub Vec<FieldTerm>);

impl FieldSelector {
    /// Parses `fieldSelector`; `supported` lists the fields this resource can be selected by.
    pub fn parse(text: &str, supported: &[&str]) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value, negated) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, false)
            } else {
                return Err(format!("invalid selector: '{part}'; can't understand '{part}'"));
            };
            let field = field.trim();
            if !supported.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push(FieldTerm { field: field.to_string(), value: value.trim().to_string(), negated });
        }
        Ok(FieldSelector(terms))
    }

    /// Whether `obj` satisfies every term.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.0.iter().all(|t| {
            let pointer = format!("/{}", t.field.replace('.', "/"));
            let actual = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == t.value) != t.negated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_operator_parses() {
        let s = LabelSelector::parse("a=1, b==2,c!=3,d in (x, y),e notin (z),f,!g,example.com/h").unwrap();
        assert_eq!(
            s.0,
            vec![
                Requirement::In("a".into(), vec!["1".into()]),
                Requirement::In("b".into(), vec!["2".into()]),
                Requirement::NotIn("c".into(), vec!["3".into()]),
                Requirement::In("d".into(), vec!["x".into(), "y".into()]),
                Requirement::NotIn("e".into(), vec!["z".into()]),
                Requirement::Exists("f".into()),
                Requirement::DoesNotExist("g".into()),
                Requirement::Exists("example.com/h".into()),
            ]
        );
    }

    #[test]
    fn matching_follows_kubernetes_semantics() {
        let s = LabelSelector::parse("app in (web,api),tier!=db,!legacy").unwrap();
        assert!(s.matches(&labels(&[("app", "web")])));
        assert!(s.matches(&labels(&[("app", "api"), ("tier", "fe")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("legacy", "")])));
        assert!(!s.matches(&labels(&[("app", "batch")])));
        assert!(!s.matches(&labels(&[])));
        let notin = LabelSelector::parse("env notin (prod)").unwrap();
        assert!(notin.matches(&labels(&[])), "notin matches objects without the key");
        assert!(LabelSelector::parse("").unwrap().matches(&labels(&[])));
    }

    #[test]
    fn bad_selectors_are_refused() {
        for bad in ["a in x", "a in (b", "=b", "a=b c", "a=-b-", "a,,b"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn field_selectors_match_metadata() {
        let fields = ["metadata.name", "metadata.namespace"];
        let s = FieldSelector::parse("metadata.name=web,metadata.namespace!=kube-system", &fields).unwrap();
        assert!(s.matches_object(&json!({"metadata": {"name": "web", "namespace": "default"}})));
        assert!(!s.matches_object(&json!({"metadata": {"name": "web", "namespace": "kube-system"}})));
        assert!(!s.matches_object(&json!({"metadata": {"name": "db", "namespace": "default"}})));
        assert_eq!(FieldSelector::parse("spec.x=1", &fields).unwrap_err(), "field label not supported: spec.x");
    }
}
