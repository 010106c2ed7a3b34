//! Field ownership: the FieldsV1 sets of `metadata.managedFields`, computed as
//! structured-merge-diff computes them, and server-side apply on top of them (merge what the
//! manager specifies, remove what it owned before and no longer specifies unless another
//! manager owns it, conflicts with other managers' fields unless forced).

use crate::clock;
use crate::json::to_sorted_string;
use crate::schema::ListKind;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// How a list at a field path merges (field names only).
pub type ListKindFn<'a> = &'a dyn Fn(&[String]) -> ListKind;

/// One element of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElement {
    /// `f:name`: a field of an object.
    Field(String),
    /// `k:{"type":"Ready"}`: an item of a map list, by its key fields (sorted JSON).
    Key(String),
    /// `v:"x"`: an item of a set list (JSON).
    Value(String),
}

impl PathElement {
    fn encode(&self) -> String {
        match self {
            PathElement::Field(f) => format!("f:{f}"),
            PathElement::Key(k) => format!("k:{k}"),
            PathElement::Value(v) => format!("v:{v}"),
        }
    }

    fn decode(s: &str) -> Option<Self> {
        let (tag, rest) = s.split_at_checked(2)?;
        match tag {
            "f:" => Some(PathElement::Field(rest.to_string())),
            "k:" => Some(PathElement::Key(to_sorted_string(&serde_json::from_str(rest).ok()?))),
            "v:" => Some(PathElement::Value(to_sorted_string(&serde_json::from_str(rest).ok()?))),
            _ => None,
        }
    }

    fn display(&self) -> String {
        match self {
            PathElement::Field(f) => format!(".{f}"),
            PathElement::Key(k) => {
                let v: Value = serde_json::from_str(k).unwrap_or(Value::Null);
                let parts: Vec<String> = v.as_object().map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect()).unwrap_or_default();
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(v) => format!("[={v}]"),
        }
    }
}

/// A set of field paths, as a tree; `member` says the node itself is in the set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSet {
    /// The node itself is in the set (`.` in FieldsV1 when it also has children).
    pub member: bool,
    /// Children by path element.
    pub children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// No path at all.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// The FieldsV1 JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (pe, child) in &self.children {
            if !child.is_empty() {
                m.insert(pe.encode(), child.to_fields_v1());
            }
        }
        Value::Object(m)
    }

    /// Reads FieldsV1 JSON; unknown elements are skipped.
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        let Some(m) = v.as_object() else {
            return set;
        };
        if m.is_empty() {
            set.member = true;
        }
        for (k, child) in m {
            if k == "." {
                set.member = true;
            } else if let Some(pe) = PathElement::decode(k) {
                set.children.insert(pe, FieldSet::from_fields_v1(child));
            }
        }
        set
    }

    /// Union with `other`.
    pub fn union(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (pe, child) in &other.children {
            self.children.entry(pe.clone()).or_default().union(child);
        }
    }

    /// Removes every path of `other`.
    pub fn subtract(&mut self, other: &FieldSet) {
        if other.member {
            self.member = false;
        }
        for (pe, child) in &other.children {
            if let Some(mine) = self.children.get_mut(pe) {
                mine.subtract(child);
                if mine.is_empty() {
                    self.children.remove(pe);
                }
            }
        }
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet { member: self.member && other.member, children: BTreeMap::new() };
        for (pe, child) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let i = child.intersection(o);
                if !i.is_empty() {
                    out.children.insert(pe.clone(), i);
                }
            }
        }
        out
    }

    /// Every member path, as `.spec.x` strings.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths(String::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: String, out: &mut Vec<String>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (pe, child) in &self.children {
            child.collect_paths(format!("{prefix}{}", pe.display()), out);
        }
    }

    fn child_mut(&mut self, pe: PathElement) -> &mut FieldSet {
        self.children.entry(pe).or_default()
    }

    /// Removes the fields the API server never tracks (`apiVersion`, `kind`, `metadata.name`,
    /// `metadata.namespace`, uid, resourceVersion, timestamps, generation, managedFields), and
    /// the `status` or everything but `status`, depending on which part a request may write.
    pub fn strip_untracked(&mut self, part: Part) {
        self.member = false;
        for f in ["apiVersion", "kind"] {
            self.children.remove(&PathElement::Field(f.into()));
        }
        if let Some(meta) = self.children.get_mut(&PathElement::Field("metadata".into())) {
            meta.member = false;
            for f in [
                "name",
                "namespace",
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "managedFields",
                "selfLink",
            ] {
                meta.children.remove(&PathElement::Field(f.into()));
            }
        }
        match part {
            Part::Whole => {}
            Part::MainResource => {
                self.children.remove(&PathElement::Field("status".into()));
            }
            Part::Status => self.children.retain(|pe, _| *pe == PathElement::Field("status".into())),
        }
        self.children.retain(|_, c| !c.is_empty());
    }
}

/// Which part of an object a request writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A type without a status subresource: everything.
    Whole,
    /// The main resource of a type with a status subresource: everything but `status`.
    MainResource,
    /// The `/status` subresource.
    Status,
}

fn key_element(item: &Value, keys: &[String]) -> PathElement {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    PathElement::Key(to_sorted_string(&Value::Object(m)))
}

/// The set of fields an applied configuration specifies (leaves, map-list items, set items).
pub fn set_of(v: &Value, lk: ListKindFn) -> FieldSet {
    let mut names = Vec::new();
    walk_set(v, &mut names, lk, false)
}

/// The set of every node of `v`, inner nodes included (what an Update adds).
fn full_set(v: &Value, names: &mut Vec<String>, lk: ListKindFn) -> FieldSet {
    walk_set(v, names, lk, true)
}

fn walk_set(v: &Value, names: &mut Vec<String>, lk: ListKindFn, inner_members: bool) -> FieldSet {
    let mut set = FieldSet::default();
    match v {
        Value::Object(m) if !m.is_empty() => {
            set.member = inner_members;
            for (k, c) in m {
                names.push(k.clone());
                let child = walk_set(c, names, lk, inner_members);
                names.pop();
                set.children.insert(PathElement::Field(k.clone()), child);
            }
        }
        Value::Array(items) if !items.is_empty() => match lk(names) {
            ListKind::Atomic => set.member = true,
            ListKind::Set => {
                set.member = inner_members;
                for i in items {
                    set.child_mut(PathElement::Value(to_sorted_string(i))).member = true;
                }
            }
            ListKind::Map(keys) => {
                set.member = inner_members;
                for i in items {
                    let mut child = walk_set(i, names, lk, inner_members);
                    child.member = true;
                    set.children.insert(key_element(i, &keys), child);
                }
            }
        },
        _ => set.member = true,
    }
    set
}

/// The fields changed (modified or added) and removed from `old` to `new`.
pub fn compare(old: &Value, new: &Value, lk: ListKindFn) -> (FieldSet, FieldSet) {
    let mut names = Vec::new();
    let mut changed = FieldSet::default();
    let mut removed = FieldSet::default();
    compare_node(Some(old), Some(new), &mut names, lk, &mut changed, &mut removed);
    changed.member = false;
    removed.member = false;
    (changed, removed)
}

fn compare_node(old: Option<&Value>, new: Option<&Value>, names: &mut Vec<String>, lk: ListKindFn, changed: &mut FieldSet, removed: &mut FieldSet) {
    match (old, new) {
        (None, None) => {}
        (None, Some(n)) => *changed = full_set(n, names, lk),
        (Some(o), None) => *removed = full_set(o, names, lk),
        (Some(Value::Object(o)), Some(Value::Object(n))) if !o.is_empty() || !n.is_empty() => {
            if o.is_empty() || n.is_empty() {
                // An empty object is a leaf: becoming non-empty (or empty) changes the node itself.
                changed.member = true;
            }
            let keys: std::collections::BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for k in keys {
                names.push(k.clone());
                let (mut c, mut r) = (FieldSet::default(), FieldSet::default());
                compare_node(o.get(k), n.get(k), names, lk, &mut c, &mut r);
                names.pop();
                let pe = PathElement::Field(k.clone());
                if !c.is_empty() {
                    changed.children.insert(pe.clone(), c);
                }
                if !r.is_empty() {
                    removed.children.insert(pe, r);
                }
            }
        }
        (Some(Value::Array(o)), Some(Value::Array(n))) if !o.is_empty() && !n.is_empty() => match lk(names) {
            ListKind::Atomic => {
                if o != n {
                    changed.member = true;
                }
            }
            ListKind::Set => {
                for i in n.iter().filter(|i| !o.contains(i)) {
                    changed.child_mut(PathElement::Value(to_sorted_string(i))).member = true;
                }
                for i in o.iter().filter(|i| !n.contains(i)) {
                    removed.child_mut(PathElement::Value(to_sorted_string(i))).member = true;
                }
            }
            ListKind::Map(keys) => {
                let index = |items: &Vec<Value>| -> BTreeMap<PathElement, Value> { items.iter().map(|i| (key_element(i, &keys), i.clone())).collect() };
                let (oi, ni) = (index(o), index(n));
                let all: std::collections::BTreeSet<&PathElement> = oi.keys().chain(ni.keys()).collect();
                for pe in all {
                    let (mut c, mut r) = (FieldSet::default(), FieldSet::default());
                    compare_node(oi.get(pe), ni.get(pe), names, lk, &mut c, &mut r);
                    if !oi.contains_key(pe) {
                        c.member = true;
                    }
                    if !ni.contains_key(pe) {
                        r.member = true;
                    }
                    if !c.is_empty() {
                        changed.children.insert(pe.clone(), c);
                    }
                    if !r.is_empty() {
                        removed.children.insert(pe.clone(), r);
                    }
                }
            }
        },
        (Some(o), Some(n)) => {
            if o != n {
                *changed = full_set(n, names, lk);
                changed.member = true;
                if o.is_object() || o.is_array() {
                    *removed = full_set(o, names, lk);
                    removed.member = false;
                }
            }
        }
    }
}

/// The server-side apply merge of a configuration into a live object.
pub fn apply_merge(live: &Value, config: &Value, lk: ListKindFn) -> Value {
    let mut names = Vec::new();
    merge_node(live, config, &mut names, lk)
}

fn merge_node(live: &Value, config: &Value, names: &mut Vec<String>, lk: ListKindFn) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            let mut out = l.clone();
            for (k, cv) in c {
                if cv.is_null() {
                    out.remove(k);
                    continue;
                }
                names.push(k.clone());
                let merged = merge_node(l.get(k).unwrap_or(&Value::Null), cv, names, lk);
                names.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => match lk(names) {
            ListKind::Atomic => config.clone(),
            ListKind::Set => {
                let mut out = l.clone();
                for i in c {
                    if !out.contains(i) {
                        out.push(i.clone());
                    }
                }
                Value::Array(out)
            }
            ListKind::Map(keys) => {
                let mut out = l.clone();
                for i in c {
                    let pe = key_element(i, &keys);
                    match out.iter().position(|o| key_element(o, &keys) == pe) {
                        Some(p) => out[p] = merge_node(&out[p].clone(), i, names, lk),
                        None => out.push(i.clone()),
                    }
                }
                Value::Array(out)
            }
        },
        _ => config.clone(),
    }
}

/// Removes the member paths of `gone` from `obj`, except nodes under which `keep` still
/// owns something (those lose only their unowned children); objects emptied by the removal
/// go too.
pub fn remove_fields(obj: &mut Value, gone: &FieldSet, keep: &FieldSet) {
    let empty = FieldSet::default();
    match obj {
        Value::Object(m) => {
            for (pe, child) in &gone.children {
                let PathElement::Field(k) = pe else { continue };
                let kept = keep.children.get(pe).unwrap_or(&empty);
                if child.member && kept.is_empty() {
                    m.remove(k);
                } else if let Some(v) = m.get_mut(k) {
                    let was_empty = v.as_object().is_some_and(Map::is_empty);
                    remove_fields(v, child, kept);
                    if !was_empty && v.as_object().is_some_and(Map::is_empty) && kept.is_empty() {
                        m.remove(k);
                    }
                }
            }
        }
        Value::Array(items) => {
            for (pe, child) in &gone.children {
                let kept = keep.children.get(pe).unwrap_or(&empty);
                match pe {
                    PathElement::Value(v) => {
                        if kept.is_empty() {
                            items.retain(|i| to_sorted_string(i) != *v);
                        }
                    }
                    PathElement::Key(k) => {
                        let key: Value = serde_json::from_str(k).unwrap_or(Value::Null);
                        let keys: Vec<String> = key.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
                        if child.member && kept.is_empty() {
                            items.retain(|i| key_element(i, &keys) != *pe);
                        } else {
                            for i in items.iter_mut().filter(|i| key_element(i, &keys) == *pe) {
                                remove_fields(i, child, kept);
                            }
                        }
                    }
                    PathElement::Field(_) => {}
                }
            }
        }
        _ => {}
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the fields are expressed in.
    pub api_version: String,
    /// Last time this entry changed.
    pub time: String,
    /// `status` for the status subresource, else empty.
    pub subresource: String,
    /// The owned fields.
    pub set: FieldSet,
}

impl Entry {
    fn same_key(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }

    /// The manager as conflict messages name it: `"name"`, plus the subresource, plus the
    /// apiVersion for an Update.
    pub fn display(&self) -> String {
        let mut s = format!("\"{}\"", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource \"{}\"", self.subresource));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.set.to_fields_v1(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }
}

/// Decodes `metadata.managedFields`; `None` when it is not a list of entries.
pub fn decode(obj: &Value) -> Result<Vec<Entry>, String> {
    let Some(list) = obj.pointer("/metadata/managedFields") else {
        return Ok(Vec::new());
    };
    let Some(items) = list.as_array() else {
        return Err("metadata.managedFields must be a list".into());
    };
    let s = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = Vec::new();
    for e in items {
        if !e.is_object() {
            return Err("metadata.managedFields entries must be objects".into());
        }
        let op = s(e, "operation");
        if !op.is_empty() && op != "Apply" && op != "Update" {
            return Err(format!("metadata.managedFields: operation must be Apply or Update, not {op}"));
        }
        out.push(Entry {
            manager: s(e, "manager"),
            operation: op,
            api_version: s(e, "apiVersion"),
            time: s(e, "time"),
            subresource: s(e, "subresource"),
            set: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
        });
    }
    Ok(out)
}

/// Encodes entries sorted as the API server sorts them (Apply first, then by time, manager).
pub fn encode(entries: &[Entry]) -> Value {
    let mut sorted: Vec<&Entry> = entries.iter().filter(|e| !e.set.is_empty()).collect();
    sorted.sort_by(|a, b| {
        (&a.operation, &a.time, &a.manager, &a.api_version, &a.subresource).cmp(&(&b.operation, &b.time, &b.manager, &b.api_version, &b.subresource))
    });
    Value::Array(sorted.into_iter().map(Entry::to_json).collect())
}

/// A request's write, to be recorded in the managed fields.
pub struct Write<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// `status` or "".
    pub subresource: &'a str,
    /// apiVersion of the request.
    pub api_version: &'a str,
    /// Part the request may write.
    pub part: Part,
}

/// Records an Update from `old` to `new` (an empty object for a create) in `entries`.
pub fn record_update(entries: &mut Vec<Entry>, old: &Value, new: &Value, w: &Write, lk: ListKindFn) {
    let (mut changed, mut removed) = compare(old, new, lk);
    changed.strip_untracked(w.part);
    removed.strip_untracked(Part::Whole);
    for e in entries.iter_mut() {
        if !e.same_key(w.manager, "Update", w.subresource) {
            e.set.subtract(&changed);
            e.set.subtract(&removed);
        }
    }
    let mine = match entries.iter().position(|e| e.same_key(w.manager, "Update", w.subresource)) {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: w.manager.into(),
                operation: "Update".into(),
                api_version: w.api_version.into(),
                time: String::new(),
                subresource: w.subresource.into(),
                set: FieldSet::default(),
            });
            entries.len() - 1
        }
    };
    let e = &mut entries[mine];
    e.set.subtract(&removed);
    if !changed.is_empty() {
        e.set.union(&changed);
        e.time = clock::now_rfc3339();
        e.api_version = w.api_version.into();
    }
    entries.retain(|e| !e.set.is_empty());
}

/// A field owned by another manager that an apply would change: (manager as displayed, field path).
pub type Conflict = (String, String);

/// Server-side apply of `config` onto `live` (an empty object when creating): the new
/// object and its managed fields, or the conflicts when `force` is false.
pub fn apply(live: &Value, config: &Value, entries: &mut Vec<Entry>, w: &Write, force: bool, lk: ListKindFn) -> Result<Value, Vec<Conflict>> {
    let mut config = config.clone();
    if let Some(m) = config.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    match w.part {
        Part::MainResource => {
            if let Some(m) = config.as_object_mut() {
                m.remove("status");
            }
        }
        Part::Status => {
            let status = config.get("status").cloned();
            let mut reduced = json!({});
            if let Some(s) = status {
                reduced["status"] = s;
            }
            config = reduced;
        }
        Part::Whole => {}
    }
    let mut new_set = set_of(&config, lk);
    new_set.strip_untracked(w.part);
    let mut merged = apply_merge(live, &config, lk);
    let me = entries.iter().position(|e| e.same_key(w.manager, "Apply", w.subresource));
    if let Some(i) = me {
        let mut gone = entries[i].set.clone();
        let mut keep = new_set.clone();
        for (j, e) in entries.iter().enumerate() {
            if j != i {
                keep.union(&e.set);
            }
        }
        gone.subtract(&keep);
        remove_fields(&mut merged, &gone, &keep);
    }
    let (mut changed, mut removed) = compare(live, &merged, lk);
    changed.strip_untracked(Part::Whole);
    removed.strip_untracked(Part::Whole);
    let mut conflicts = Vec::new();
    let mut conflict_sets = Vec::new();
    for (j, e) in entries.iter().enumerate() {
        if Some(j) == me {
            continue;
        }
        let c = e.set.intersection(&changed);
        if !c.is_empty() {
            for p in c.paths() {
                conflicts.push((e.display(), p));
            }
            conflict_sets.push((j, c));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for (j, c) in conflict_sets {
        entries[j].set.subtract(&c);
    }
    for (j, e) in entries.iter_mut().enumerate() {
        if Some(j) != me {
            e.set.subtract(&removed);
        }
    }
    let now = clock::now_rfc3339();
    match me {
        Some(i) => {
            if entries[i].set != new_set || !changed.is_empty() || !removed.is_empty() {
                entries[i].time = now;
            }
            entries[i].set = new_set;
            entries[i].api_version = w.api_version.into();
        }
        None => entries.push(Entry {
            manager: w.manager.into(),
            operation: "Apply".into(),
            api_version: w.api_version.into(),
            time: now,
            subresource: w.subresource.into(),
            set: new_set,
        }),
    }
    entries.retain(|e| !e.set.is_empty());
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(path: &[String]) -> ListKind {
        match path.join(".").as_str() {
            "status.conditions" => ListKind::Map(vec!["type".into()]),
            "metadata.finalizers" => ListKind::Set,
            _ => ListKind::Atomic,
        }
    }

    fn write<'a>(manager: &'a str) -> Write<'a> {
        Write { manager, subresource: "", api_version: "v1", part: Part::Whole }
    }

    #[test]
    fn apply_sets_are_leaves_items_and_set_values() {
        let cfg = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "d", "labels": {"a": "1"}, "finalizers": ["f"]},
            "data": {"k": "v"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            "list": [1, 2]
        });
        let mut set = set_of(&cfg, &kinds);
        set.strip_untracked(Part::Whole);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:data": {"f:k": {}},
                "f:list": {},
                "f:metadata": {"f:finalizers": {"v:\"f\"": {}}, "f:labels": {"f:a": {}}},
                "f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}}}
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&set.to_fields_v1()), set);
    }

    #[test]
    fn update_sets_mark_added_inner_nodes() {
        let old = json!({"metadata": {"name": "x"}});
        let new = json!({"metadata": {"name": "x", "annotations": {"a": "1"}}, "data": {"k": "v"}});
        let mut entries = Vec::new();
        record_update(&mut entries, &old, &new, &write("kubectl-create"), &kinds);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].set.to_fields_v1(), json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:annotations": {".": {}, "f:a": {}}}}));
    }

    #[test]
    fn apply_conflicts_with_a_field_another_manager_changed() {
        let live0 = json!({"metadata": {"name": "x"}});
        let mut entries = Vec::new();
        let created = apply(&live0, &json!({"metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}}), &mut entries, &write("alice"), false, &kinds).unwrap();
        // bob applies the same value for a: shared ownership, no conflict
        let shared = apply(&created, &json!({"metadata": {"name": "x"}, "data": {"a": "1"}}), &mut entries, &write("bob"), false, &kinds).unwrap();
        assert_eq!(shared, created);
        assert_eq!(entries.len(), 2);
        // bob changes b, owned by alice: conflict naming the field and alice
        let err = apply(&shared, &json!({"metadata": {"name": "x"}, "data": {"b": "3"}}), &mut entries.clone(), &write("bob"), false, &kinds).unwrap_err();
        assert_eq!(err, vec![("\"alice\"".to_string(), ".data.b".to_string())]);
        // forced: bob takes b over, alice keeps a
        let forced = apply(&shared, &json!({"metadata": {"name": "x"}, "data": {"b": "3"}}), &mut entries, &write("bob"), true, &kinds).unwrap();
        assert_eq!(forced["data"], json!({"a": "1", "b": "3"}));
        let alice = entries.iter().find(|e| e.manager == "alice").unwrap();
        assert_eq!(alice.set.to_fields_v1(), json!({"f:data": {"f:a": {}}}));
    }

    #[test]
    fn apply_removes_fields_the_manager_no_longer_specifies_unless_shared() {
        let mut entries = Vec::new();
        let live = apply(&json!({}), &json!({"data": {"a": "1", "b": "2", "c": "3"}}), &mut entries, &write("alice"), false, &kinds).unwrap();
        let live = apply(&live, &json!({"data": {"c": "3"}}), &mut entries, &write("bob"), false, &kinds).unwrap();
        let live = apply(&live, &json!({"data": {"a": "1"}}), &mut entries, &write("alice"), false, &kinds).unwrap();
        assert_eq!(live["data"], json!({"a": "1", "c": "3"}), "b removed, c kept because bob owns it too");
        let live = apply(&live, &json!({"metadata": {"labels": {"x": "y"}}}), &mut entries, &write("alice"), false, &kinds).unwrap();
        assert_eq!(live["data"], json!({"c": "3"}));
    }

    #[test]
    fn apply_keeps_a_parent_the_manager_owned_as_a_whole_while_it_still_owns_children() {
        let mut entries = vec![Entry {
            manager: "kubectl".into(),
            operation: "Apply".into(),
            api_version: "v1".into(),
            time: String::new(),
            subresource: String::new(),
            set: FieldSet::from_fields_v1(&json!({"f:spec": {".": {}, "f:color": {}, "f:size": {}}, "f:metadata": {"f:annotations": {".": {}, "f:last": {}}}})),
        }];
        entries.push(Entry {
            manager: "other".into(),
            set: FieldSet::from_fields_v1(&json!({"f:metadata": {"f:annotations": {"f:last": {}}}})),
            ..entries[0].clone()
        });
        let live = json!({"metadata": {"annotations": {"last": "x"}}, "spec": {"color": "red", "size": 3}});
        let got = apply(&live, &json!({"spec": {"size": 7}}), &mut entries, &write("kubectl"), false, &kinds).unwrap();
        assert_eq!(got, json!({"metadata": {"annotations": {"last": "x"}}, "spec": {"size": 7}}));
    }

    #[test]
    fn apply_merges_map_lists_by_key() {
        let mut entries = Vec::new();
        let live = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "B", "status": "True"}]}});
        record_update(&mut entries, &json!({}), &live, &write("ctrl"), &kinds);
        let got = apply(&live, &json!({"status": {"conditions": [{"type": "A", "status": "True"}]}}), &mut entries.clone(), &write("me"), false, &kinds);
        assert_eq!(got.unwrap_err(), vec![("\"ctrl\" using v1".to_string(), ".status.conditions[type=\"A\"].status".to_string())]);
        let got = apply(&live, &json!({"status": {"conditions": [{"type": "C", "status": "True"}]}}), &mut entries, &write("me"), false, &kinds).unwrap();
        assert_eq!(got["status"]["conditions"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn an_update_takes_changed_fields_from_other_managers() {
        let mut entries = Vec::new();
        let live = apply(&json!({}), &json!({"data": {"a": "1", "b": "2"}}), &mut entries, &write("alice"), false, &kinds).unwrap();
        let mut new = live.clone();
        new["data"]["a"] = json!("9");
        new["data"].as_object_mut().unwrap().remove("b");
        record_update(&mut entries, &live, &new, &write("editor"), &kinds);
        assert!(entries.iter().all(|e| e.manager != "alice"), "alice lost a (changed) and b (removed): {entries:?}");
        assert_eq!(entries[0].set.to_fields_v1(), json!({"f:data": {"f:a": {}}}));
    }
}
