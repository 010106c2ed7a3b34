//! sops's index syntax for addressing a value: `["stringData"]["token"]`, `["list"][0]`.

use crate::document::{Document, Leaf};
use crate::sops::value::ValueType;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Parses `["a"]["b"][0]`.
pub fn parse(s: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err("empty path".into());
    }
    while !rest.is_empty() {
        rest = rest.strip_prefix('[').ok_or_else(|| format!("expected '[' in path {s:?}"))?;
        if let Some(r) = rest.strip_prefix('"').or_else(|| rest.strip_prefix('\'')) {
            let quote = rest.as_bytes()[0] as char;
            let mut key = String::new();
            let mut chars = r.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => {
                        if let Some((_, c)) = chars.next() {
                            key.push(c);
                        }
                    }
                    Some((i, c)) if c == quote => break i,
                    Some((_, c)) => key.push(c),
                    None => return Err(format!("unterminated string in path {s:?}")),
                }
            };
            rest = r[end + 1..].strip_prefix(']').ok_or_else(|| format!("expected ']' in path {s:?}"))?;
            steps.push(Step::Key(key));
        } else {
            let end = rest.find(']').ok_or_else(|| format!("expected ']' in path {s:?}"))?;
            let n = rest[..end].trim().parse::<usize>().map_err(|_| format!("expected a quoted key or a list index in path {s:?}"))?;
            steps.push(Step::Index(n));
            rest = &rest[end + 1..];
        }
    }
    Ok(steps)
}

/// Finds the scalar at `steps` in a document: `Ok(None)` when nothing is there, an error
/// when the path names a mapping or a list (gitseal extracts scalars) or indexes a list
/// before its end.
pub fn find<'a>(doc: &'a Document, src: &str, steps: &[Step]) -> Result<Option<&'a Leaf>, String> {
    let index = match steps.last() {
        Some(Step::Index(i)) => Some(*i),
        _ => None,
    };
    let key_steps = &steps[..steps.len() - usize::from(index.is_some())];
    if key_steps.iter().any(|s| matches!(s, Step::Index(_))) {
        return Err("list indices are supported only as the last step of a path".into());
    }
    let keys: Vec<&str> = key_steps
        .iter()
        .filter_map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            Step::Index(_) => None,
        })
        .collect();
    let values = doc.leaves.iter().filter(|l| l.ty != ValueType::Comment);
    fn full_path<'b>(doc: &'b Document, src: &'b str, l: &'b Leaf) -> Vec<&'b str> {
        doc.paths[l.parent as usize].keys.iter().map(|k| &**k).chain(l.key(src)).collect()
    }
    match index {
        None => {
            let mut exact = values.clone().filter(|l| l.key.is_some() && full_path(doc, src, l) == keys);
            if let Some(l) = exact.next() {
                return Ok(Some(l));
            }
            let below = values.clone().any(|l| {
                let p = full_path(doc, src, l);
                p.len() >= keys.len() && p[..keys.len()] == keys[..]
            });
            if below {
                return Err("the path names a mapping or a list, not a single value".into());
            }
            Ok(None)
        }
        Some(i) => {
            let items: Vec<&Leaf> =
                values.filter(|l| l.key.is_none() && doc.paths[l.parent as usize].keys.iter().map(|k| &**k).eq(keys.iter().copied())).collect();
            Ok(items.get(i).copied())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sops_syntax() {
        assert_eq!(parse(r#"["stringData"]["token"]"#).unwrap(), vec![Step::Key("stringData".into()), Step::Key("token".into())]);
        assert_eq!(parse(r#"["a"][2]"#).unwrap(), vec![Step::Key("a".into()), Step::Index(2)]);
        assert!(parse(r#"["a""#).is_err());
        assert!(parse("a.b").is_err());
    }
}
