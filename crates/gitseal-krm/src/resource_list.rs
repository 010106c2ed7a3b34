//! The KRM Functions Specification's `ResourceList`: what kustomize sends an exec
//! function on stdin (`items`, the resources so far, and `functionConfig`, the generator
//! resource) and what the function sends back (the items, with generated ones appended,
//! and `results`).

use gitseal_core::document::yaml::value::{parse_documents, YamlNode};
use zeroize::Zeroizing;

use crate::error::KrmError;
use crate::yaml_writer::{write_double_quoted, write_seq_items};

/// The `apiVersion` kustomize writes; `v1alpha1` is the name older tools used.
const API_VERSIONS: [&str; 2] = ["config.kubernetes.io/v1", "config.kubernetes.io/v1alpha1"];

/// A `ResourceList` read from stdin.
#[derive(Debug)]
pub struct ResourceList {
    /// The resources kustomize passes in (none for a generator), kept as they are.
    pub items: Vec<YamlNode>,
    /// The function's config: the `SecretGenerator`.
    pub function_config: Option<YamlNode>,
}

impl ResourceList {
    /// Parses the `ResourceList` in `text`; `source` names it in messages.
    pub fn parse(text: &str, source: &str) -> Result<Self, KrmError> {
        let fail = |line: u32, msg: String| KrmError::Input { file: source.to_owned(), line, msg };
        let mut docs = parse_documents(text).map_err(|e| fail(e.line, format!("not YAML: {}", e.msg)))?;
        docs.retain(|d| !d.is_null());
        if docs.len() != 1 {
            return Err(fail(1, format!("expected one ResourceList document, found {}", docs.len())));
        }
        let Some(YamlNode::Map { entries, line }) = docs.pop() else {
            return Err(fail(1, "expected a ResourceList mapping".into()));
        };
        let mut items = Vec::new();
        let mut function_config = None;
        let (mut api_version, mut kind) = (None, None);
        for (key, value) in entries {
            match key.as_str() {
                Some("apiVersion") => api_version = value.as_str().map(str::to_owned),
                Some("kind") => kind = value.as_str().map(str::to_owned),
                Some("items") => match value {
                    YamlNode::Seq { items: list, .. } => items = list,
                    v if v.is_null() => {}
                    v => return Err(fail(v.line(), "items must be a list of resources".into())),
                },
                Some("functionConfig") => function_config = Some(value).filter(|v| !v.is_null()),
                _ => {}
            }
        }
        if kind.as_deref() != Some("ResourceList") || !api_version.as_deref().is_some_and(|v| API_VERSIONS.contains(&v)) {
            return Err(fail(
                line,
                format!(
                    "expected apiVersion config.kubernetes.io/v1, kind ResourceList; found {}, {} (run this program from kustomize: see docs/krm.md)",
                    api_version.as_deref().unwrap_or("(none)"),
                    kind.as_deref().unwrap_or("(none)")
                ),
            ));
        }
        Ok(ResourceList { items, function_config })
    }
}

/// One entry of the output's `results`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrmResult {
    /// What happened; names file and line, never a value.
    pub message: String,
    /// `error`, `warning` or `info`.
    pub severity: &'static str,
    /// The file concerned, when there is one.
    pub file: Option<String>,
}

/// The output `ResourceList`: `items` in order, then `results` when there are any.
/// The text may hold decrypted values: it is wiped when dropped.
pub fn write_resource_list(items: &[&YamlNode], results: &[KrmResult]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(4096));
    out.push_str("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n");
    if items.is_empty() {
        out.push_str("items: []\n");
    } else {
        out.push_str("items:\n");
        for item in items {
            // One item at a time, so borrowed items need not be gathered in a new list.
            write_seq_items(&mut out, std::slice::from_ref(*item), 0);
        }
    }
    if !results.is_empty() {
        out.push_str("results:\n");
        for r in results {
            out.push_str("- message: ");
            write_double_quoted(&mut out, &r.message);
            out.push_str("\n  severity: ");
            out.push_str(r.severity);
            out.push('\n');
            if let Some(file) = &r.file {
                out.push_str("  file:\n    path: ");
                write_double_quoted(&mut out, file);
                out.push('\n');
            }
        }
    }
    out
}

/// Resources as a YAML stream (`---` between documents), as legacy exec plugins print them.
pub fn write_stream(resources: &[YamlNode]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(4096));
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        crate::yaml_writer::write_document(&mut out, r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n    annotations:\n      config.kubernetes.io/index: '0'\n  data:\n    port: \"8080\"\n    n: 1\nfunctionConfig:\n  apiVersion: gitseal.dev/v1alpha1\n  kind: SecretGenerator\n";

    #[test]
    fn input_items_come_back_with_the_same_meaning() {
        let list = ResourceList::parse(INPUT, "<stdin>").expect("parsed");
        assert_eq!(list.items.len(), 1);
        assert!(list.function_config.as_ref().and_then(|c| c.get("kind")).is_some());
        let items: Vec<&YamlNode> = list.items.iter().collect();
        let out = write_resource_list(&items, &[]);
        let again = ResourceList::parse(&out, "out").expect("output parses as a ResourceList");
        let data = again.items[0].get("data").expect("data");
        let YamlNode::Scalar(port) = data.get("port").expect("port") else { panic!("scalar") };
        assert!(!port.plain && &*port.text == "8080", "a quoted number stays a string");
        let YamlNode::Scalar(n) = data.get("n").expect("n") else { panic!("scalar") };
        assert!(n.plain && &*n.text == "1", "a plain number stays a number");
        assert_eq!(
            again.items[0].get("metadata").and_then(|m| m.get("annotations")).and_then(|a| a.get("config.kubernetes.io/index")).and_then(YamlNode::as_str),
            Some("0")
        );
    }

    #[test]
    fn results_carry_message_severity_and_file() {
        let out = write_resource_list(&[], &[KrmResult { message: "a.yaml:3: \"bad\"".into(), severity: "error", file: Some("a.yaml".into()) }]);
        assert_eq!(&*out, "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nresults:\n- message: \"a.yaml:3: \\\"bad\\\"\"\n  severity: error\n  file:\n    path: \"a.yaml\"\n");
    }

    #[test]
    fn other_documents_are_not_a_resource_list() {
        let err = ResourceList::parse("apiVersion: v1\nkind: List\nitems: []\n", "<stdin>").expect_err("not a ResourceList");
        assert!(err.to_string().starts_with("<stdin>:1: expected apiVersion config.kubernetes.io/v1"), "{err}");
        assert!(ResourceList::parse("a: [\n", "<stdin>").is_err());
        assert!(ResourceList::parse("", "<stdin>").is_err());
    }
}
