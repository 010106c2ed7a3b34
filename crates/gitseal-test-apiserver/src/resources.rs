//! The resource types the server serves: the built-in ones, and those a
//! CustomResourceDefinition registers.

use crate::schema::{builtin_list_kind, crd_list_kind, ListKind};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a built-in type needs beyond the generic behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// `v1 Namespace`: phase, `kubernetes` finalizer, terminating content.
    Namespace,
    /// `v1 Secret`: `stringData` folded into base64 `data`, `type`, `immutable`.
    Secret,
    /// `v1 ConfigMap`: `immutable`.
    ConfigMap,
    /// `apiextensions.k8s.io/v1 CustomResourceDefinition`: registers a type.
    Crd,
    /// `v1 Event` and `events.k8s.io/v1 Event`: one store, two shapes.
    Event,
    /// Nothing special (ServiceAccount, Lease).
    Plain,
    /// A custom resource.
    Custom,
}

/// One column of the Table output.
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type: string, integer, number, boolean, date.
    pub type_: String,
    /// Optional format (`name` for the name column).
    pub format: String,
    /// Description shown by `kubectl explain`-like tools.
    pub description: String,
    /// 0 shows by default, higher only with `-o wide`.
    pub priority: i64,
    /// Simple JSONPath (`.spec.x`) of the value.
    pub json_path: String,
}

/// A served resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// Served versions; the first is the storage version.
    pub versions: Vec<String>,
    /// Plural name, the path segment.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Kind of the list (`SecretList`).
    pub list_kind: String,
    /// Short names (`ns`, `cm`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Namespaced or cluster scoped.
    pub namespaced: bool,
    /// Whether `/status` is a subresource (and main-resource writes leave status alone).
    pub status_subresource: bool,
    /// Whether objects carry `metadata.generation`.
    pub has_generation: bool,
    /// Plural of the storage the objects live in (the same for both Event types).
    pub storage_plural: String,
    /// Behaviour beyond the generic one.
    pub special: Special,
    /// Printer columns per version (custom resources).
    pub columns: BTreeMap<String, Vec<PrinterColumn>>,
    /// `openAPIV3Schema` per version (custom resources).
    pub schemas: BTreeMap<String, Value>,
}

impl ResourceType {
    fn builtin(group: &str, version: &str, plural: &str, kind: &str, short: &[&str], namespaced: bool, special: Special) -> Self {
        ResourceType {
            group: group.into(),
            versions: vec![version.into()],
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: Vec::new(),
            namespaced,
            status_subresource: false,
            has_generation: false,
            storage_plural: plural.into(),
            special,
            columns: BTreeMap::new(),
            schemas: BTreeMap::new(),
        }
    }

    /// `group/version` or `version` for the core group.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// The storage version's apiVersion.
    pub fn storage_api_version(&self) -> String {
        self.api_version(&self.versions[0])
    }

    /// Whether `version` is served.
    pub fn serves(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
    }

    /// How the list at `path` merges.
    pub fn list_kind(&self, path: &[String]) -> ListKind {
        match self.special {
            Special::Custom => crd_list_kind(self.schemas.get(&self.versions[0]), path),
            _ => builtin_list_kind(&self.kind, path),
        }
    }

    /// Field selectors this type supports.
    pub fn field_selectors(&self) -> Vec<&'static str> {
        let mut f = vec!["metadata.name"];
        if self.namespaced {
            f.push("metadata.namespace");
        }
        match self.special {
            Special::Secret => f.push("type"),
            Special::Namespace => f.push("status.phase"),
            Special::Event if self.group.is_empty() => f.extend([
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ]),
            Special::Event => f.extend(["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "type", "reportingController"]),
            _ => {}
        }
        f
    }
}

/// The built-in types.
pub fn builtin_types() -> Vec<ResourceType> {
    let mut ns = ResourceType::builtin("", "v1", "namespaces", "Namespace", &["ns"], false, Special::Namespace);
    ns.status_subresource = true;
    let mut crd =
        ResourceType::builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", &["crd", "crds"], false, Special::Crd);
    crd.status_subresource = true;
    crd.has_generation = true;
    let mut events_v1 = ResourceType::builtin("events.k8s.io", "v1", "events", "Event", &["ev"], true, Special::Event);
    events_v1.storage_plural = "events".into();
    vec![
        ns,
        ResourceType::builtin("", "v1", "secrets", "Secret", &[], true, Special::Secret),
        ResourceType::builtin("", "v1", "configmaps", "ConfigMap", &["cm"], true, Special::ConfigMap),
        ResourceType::builtin("", "v1", "serviceaccounts", "ServiceAccount", &["sa"], true, Special::Plain),
        ResourceType::builtin("", "v1", "events", "Event", &["ev"], true, Special::Event),
        events_v1,
        ResourceType::builtin("coordination.k8s.io", "v1", "leases", "Lease", &[], true, Special::Plain),
        crd,
    ]
}

/// The type a CRD registers, or why it cannot.
pub fn from_crd(crd: &Value) -> Result<ResourceType, String> {
    let spec = crd.get("spec").ok_or("spec is required")?;
    let names = spec.get("names").ok_or("spec.names is required")?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let list = |v: &Value, k: &str| -> Vec<String> {
        v.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
    };
    let group = s(spec, "group");
    let plural = s(names, "plural");
    let kind = s(names, "kind");
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Err("spec.group, spec.names.plural and spec.names.kind are required".into());
    }
    let singular = match s(names, "singular") {
        x if x.is_empty() => kind.to_lowercase(),
        x => x,
    };
    let list_kind = match s(names, "listKind") {
        x if x.is_empty() => format!("{kind}List"),
        x => x,
    };
    let mut versions = Vec::new();
    let mut storage = None;
    let mut status_subresource = false;
    let mut columns = BTreeMap::new();
    let mut schemas = BTreeMap::new();
    for v in spec.get("versions").and_then(Value::as_array).into_iter().flatten() {
        let name = s(v, "name");
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage = Some(name.clone());
        }
        if v.pointer("/subresources/status").is_some() {
            status_subresource = true;
        }
        if let Some(schema) = v.pointer("/schema/openAPIV3Schema") {
            schemas.insert(name.clone(), schema.clone());
        }
        let cols: Vec<PrinterColumn> = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .map(|c| PrinterColumn {
                        name: s(c, "name"),
                        type_: s(c, "type"),
                        format: s(c, "format"),
                        description: s(c, "description"),
                        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        json_path: s(c, "jsonPath"),
                    })
                    .collect()
            })
            .unwrap_or_else(|| {
                vec![PrinterColumn {
                    name: "Age".into(),
                    type_: "date".into(),
                    format: String::new(),
                    description: "CreationTimestamp is a timestamp representing the server time when this object was created.".into(),
                    priority: 0,
                    json_path: ".metadata.creationTimestamp".into(),
                }]
            });
        columns.insert(name.clone(), cols);
        versions.push(name);
    }
    let storage = storage.ok_or("exactly one version must be the storage version")?;
    versions.retain(|v| *v != storage);
    versions.insert(0, storage);
    Ok(ResourceType {
        group,
        versions,
        storage_plural: plural.clone(),
        plural,
        singular,
        kind,
        list_kind,
        short_names: list(names, "shortNames"),
        categories: list(names, "categories"),
        namespaced: s(spec, "scope") != "Cluster",
        status_subresource,
        has_generation: true,
        special: Special::Custom,
        columns,
        schemas,
    })
}
