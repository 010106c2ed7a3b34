//! sops's index syntax for addressing a value: `["stringData"]["token"]`, `["list"][0]`.

use crate::document::{Document, Leaf};
use crate::sops::value::ValueType;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A map key (`["name"]`).
    Key(String),
    /// A 0-based list index (`[0]`).
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

/// The key path of every value of a document (comments and list items left out), in
/// document order, each once: `["stringData"]["token"]` as `["stringData", "token"]`.
pub fn key_paths(doc: &Document, src: &str) -> Vec<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for leaf in doc.leaves.iter().filter(|l| l.ty != ValueType::Comment) {
        let Some(key) = leaf.key(src) else { continue };
        let mut path: Vec<String> = doc.paths[leaf.parent as usize].keys.iter().map(|k| k.to_string()).collect();
        path.push(key.to_owned());
        if seen.insert(path.clone()) {
            out.push(path);
        }
    }
    out
}

/// A key path in sops's index syntax: `["a"]["b"]`.
pub fn render(keys: &[String]) -> String {
    keys.iter().map(|k| format!("[\"{}\"]", k.replace('\\', "\\\\").replace('"', "\\\""))).collect()
}

/// The Levenshtein distance between two strings, in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb)).min(row[j] + 1).min(up + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// Up to `n` of `candidates` nearest to `target` by edit distance (ties in the given
/// order); only those close enough to be a plausible typo (at most half of the longer
/// string differs), unless `always` asks for the nearest whatever their distance.
pub fn nearest<'a>(target: &str, candidates: impl IntoIterator<Item = &'a str>, n: usize, always: bool) -> Vec<&'a str> {
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (edit_distance(target, c), i, c))
        .filter(|(d, _, c)| always || *d * 2 <= target.chars().count().max(c.chars().count()))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    scored.into_iter().take(n).map(|(_, _, c)| c).collect()
}

#[cfg(test)]
mod nearest_tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("stringData", "stringData"), 0);
        assert_eq!(edit_distance("stringDta", "stringData"), 1);
        assert_eq!(edit_distance("tokn", "token"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn nearest_keeps_plausible_typos_only_unless_asked() {
        let c = ["token", "password", "username"];
        assert_eq!(nearest("tokn", c, 2, false), vec!["token"]);
        assert!(nearest("zzzzzzzz", c, 2, false).is_empty());
        assert_eq!(nearest("zzzzzzzz", c, 1, true).len(), 1);
    }
}
