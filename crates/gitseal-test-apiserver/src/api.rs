//! The verbs on resources: get, list, create, update (PUT), patch (merge, JSON, strategic,
//! apply), delete and deletecollection, on the main resource and the status subresource.

use crate::error::{ApiError, ApiResult, Target};
use crate::gc;
use crate::json::{meta_mut, meta_str};
use crate::managed::{self, Part, Write};
use crate::objects::{self, Validation};
use crate::patch;
use crate::resources::{ResourceType, Special};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{EventType, ObjectKey, StorageKey, Store};
use crate::{clock, crd};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a request carries besides its path.
pub struct Ctx<'a> {
    /// Decoded query parameters.
    pub query: &'a BTreeMap<String, String>,
    /// `User-Agent`, for the default field manager.
    pub user_agent: &'a str,
    /// `Content-Type` without parameters.
    pub content_type: &'a str,
    /// The body.
    pub body: &'a [u8],
}

impl Ctx<'_> {
    fn param(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.param(k), Some("true" | "1"))
    }

    fn dry_run(&self) -> ApiResult<bool> {
        match self.param("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!("dryRun: Unsupported value: \"{other}\": supported values: \"All\""))),
        }
    }

    /// The field manager: `fieldManager`, else the printable part of the User-Agent up to
    /// its first `/`, at most 128 characters.
    fn manager(&self) -> ApiResult<String> {
        match self.param("fieldManager") {
            Some(m) if m.chars().count() > 128 => Err(ApiError::invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                vec![crate::error::FieldCause::invalid("fieldManager", m, "must be no more than 128 characters")],
            )),
            Some(m) if !m.is_empty() => Ok(m.to_string()),
            _ => Ok(self.user_agent.split('/').next().unwrap_or("").chars().filter(|c| !c.is_control()).take(128).collect()),
        }
    }
}

/// A successful answer: code, body and warnings.
pub struct Outcome {
    /// HTTP status.
    pub code: u16,
    /// JSON body.
    pub body: Value,
    /// `Warning` headers.
    pub warnings: Vec<String>,
}

impl Outcome {
    fn ok(code: u16, body: Value) -> Self {
        Outcome { code, body, warnings: Vec::new() }
    }
}

/// An object's address: its type, the version requested, namespace ("" when cluster-scoped)
/// and name.
pub struct Addr {
    /// The type.
    pub ty: Arc<ResourceType>,
    /// The requested version.
    pub version: String,
    /// Namespace or "".
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl Addr {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }

    fn target(&self) -> Target<'_> {
        Target { group: &self.ty.group, plural: &self.ty.plural, name: &self.name }
    }
}

/// Storage key of a type (the two Event types share one).
pub fn storage_key(ty: &ResourceType) -> StorageKey {
    match ty.special {
        Special::Event => (String::new(), "events".into()),
        _ => (ty.group.clone(), ty.storage_plural.clone()),
    }
}

/// Parses a JSON or YAML body.
pub fn parse_body(content_type: &str, body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    if content_type == "application/vnd.kubernetes.protobuf" {
        return crate::protobuf::decode(body)
            .map_err(|e| ApiError::unsupported_media_type(&format!("{content_type}: {e}"), &["application/json", "application/yaml"]));
    }
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            if content_type.ends_with("yaml") {
                crate::yaml::parse(text).map_err(ApiError::bad_request)
            } else {
                Err(ApiError::bad_request(format!("error decoding the request body as JSON: {json_err}")))
            }
        }
    }
}

fn check_type(ty: &ResourceType, version: &str, obj: &Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!("the body of the request must be a {} object", ty.kind)));
    }
    let want = ty.api_version(version);
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != want => {
            return Err(ApiError::bad_request(format!("the API version in the data ({v}) does not match the expected API version ({want})")))
        }
        _ => {}
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if k != ty.kind => Err(ApiError::bad_request(format!("the kind in the data ({k}) does not match the expected kind ({})", ty.kind))),
        _ => Ok(()),
    }
}

/// GET of one object (or its status).
pub fn get(store: &Store, a: &Addr) -> ApiResult<Value> {
    let stored = store.get(&storage_key(&a.ty), &a.key()).ok_or_else(|| ApiError::not_found(&a.target()))?;
    Ok(objects::present(&a.ty, &a.version, stored))
}

/// A page of a list.
pub struct ListPage {
    /// The objects, served form.
    pub items: Vec<Value>,
    /// resourceVersion of the list.
    pub rv: u64,
    /// Continue token when more remain.
    pub next: Option<String>,
    /// Items after this page.
    pub remaining: usize,
}

/// Parsed selectors of a list or watch.
pub struct Selectors {
    /// labelSelector.
    pub labels: LabelSelector,
    /// fieldSelector.
    pub fields: FieldSelector,
}

impl Selectors {
    /// From the query.
    pub fn parse(ty: &ResourceType, query: &BTreeMap<String, String>) -> ApiResult<Self> {
        let labels = LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let fields =
            FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or(""), &ty.field_selectors()).map_err(ApiError::bad_request)?;
        Ok(Selectors { labels, fields })
    }

    /// Whether a served object matches.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches_object(obj) && self.fields.matches_object(obj)
    }
}

/// LIST, in (namespace, name) order, with `limit` and `continue`.
pub fn list(store: &Store, ty: &ResourceType, version: &str, namespace: Option<&str>, q: &BTreeMap<String, String>) -> ApiResult<ListPage> {
    let sel = Selectors::parse(ty, q)?;
    let limit: usize = match q.get("limit").map(String::as_str) {
        None | Some("") | Some("0") => usize::MAX,
        Some(l) => l.parse().map_err(|_| ApiError::bad_request(format!("limit: Invalid value: \"{l}\"")))?,
    };
    let after: Option<ObjectKey> = match q.get("continue").map(String::as_str) {
        None | Some("") => None,
        Some(token) => Some(decode_continue(token)?),
    };
    let mut matching = Vec::new();
    for (key, obj) in store.all(&storage_key(ty)) {
        if namespace.is_some_and(|ns| key.0 != ns) || after.as_ref().is_some_and(|a| key <= a) {
            continue;
        }
        let served = objects::present(ty, version, obj);
        if sel.matches(&served) {
            matching.push((key.clone(), served));
        }
    }
    let remaining = matching.len().saturating_sub(limit);
    let next = if remaining > 0 { matching.get(limit - 1).map(|(k, _)| encode_continue(k)) } else { None };
    matching.truncate(limit);
    Ok(ListPage { items: matching.into_iter().map(|(_, v)| v).collect(), rv: store.rv(), next, remaining })
}

fn encode_continue(k: &ObjectKey) -> String {
    let raw = format!("{}\u{0}{}", k.0, k.1);
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> ApiResult<ObjectKey> {
    let bad = || ApiError::bad_request("continue key is not valid: illegal base64 data");
    if token.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len()).step_by(2).map(|i| u8::from_str_radix(&token[i..i + 2], 16)).collect();
    let text = String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())?;
    let (ns, name) = text.split_once('\u{0}').ok_or_else(bad)?;
    Ok((ns.to_string(), name.to_string()))
}

/// The list object of a page.
pub fn list_object(ty: &ResourceType, version: &str, page: ListPage) -> Value {
    let mut meta = json!({"resourceVersion": page.rv.to_string()});
    if let Some(next) = page.next {
        meta["continue"] = json!(next);
        meta["remainingItemCount"] = json!(page.remaining);
    }
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|mut i| {
            if ty.special != Special::Custom {
                if let Some(m) = i.as_object_mut() {
                    m.remove("apiVersion");
                    m.remove("kind");
                }
            }
            i
        })
        .collect();
    json!({"kind": ty.list_kind, "apiVersion": ty.api_version(version), "metadata": meta, "items": items})
}

/// How a write is recorded.
struct WriteCtx {
    manager: String,
    part: Part,
    dry_run: bool,
    validation: Validation,
    /// Managed fields already computed (apply).
    entries: Option<Vec<managed::Entry>>,
}

impl WriteCtx {
    fn from(ctx: &Ctx, ty: &ResourceType, status: bool) -> ApiResult<Self> {
        Ok(WriteCtx {
            manager: ctx.manager()?,
            part: part_of(ty, status),
            dry_run: ctx.dry_run()?,
            validation: Validation::parse(ctx.param("fieldValidation"))?,
            entries: None,
        })
    }

    fn write<'a>(&'a self, api_version: &'a str) -> Write<'a> {
        Write { manager: &self.manager, subresource: if self.part == Part::Status { "status" } else { "" }, api_version, part: self.part }
    }
}

fn part_of(ty: &ResourceType, status: bool) -> Part {
    match (status, ty.status_subresource) {
        (true, _) => Part::Status,
        (false, true) => Part::MainResource,
        (false, false) => Part::Whole,
    }
}

fn list_kind_fn(ty: &ResourceType) -> impl Fn(&[String]) -> crate::schema::ListKind + '_ {
    move |p: &[String]| ty.list_kind(p)
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut bytes = [0u8; 5];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

/// A random RFC 4122 version 4 UUID.
pub fn new_uid() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Checks that a namespace exists and is not terminating.
fn namespace_accepts(store: &Store, ns: &str) -> ApiResult<()> {
    let key = (String::new(), "namespaces".to_string());
    match store.get(&key, &(String::new(), ns.to_string())) {
        None => Err(ApiError::not_found(&Target { group: "", plural: "namespaces", name: ns })),
        Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
            let mut e = ApiError::forbidden(format!("unable to create new content in namespace {ns} because it is being terminated"));
            e.details = Some(
                json!({"name": ns, "kind": "namespaces", "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]}),
            );
            Err(e)
        }
        Some(_) => Ok(()),
    }
}

/// POST: create.
pub fn create(store: &mut Store, ty: &Arc<ResourceType>, version: &str, namespace: Option<&str>, ctx: &Ctx) -> ApiResult<Outcome> {
    let obj = parse_body(ctx.content_type, ctx.body)?;
    check_type(ty, version, &obj)?;
    let w = WriteCtx::from(ctx, ty, false)?;
    let (obj, warnings) = commit_create(store, ty, version, namespace, obj, w)?;
    Ok(Outcome { code: 201, body: objects::present(ty, version, &obj), warnings })
}

fn commit_create(
    store: &mut Store,
    ty: &Arc<ResourceType>,
    version: &str,
    namespace: Option<&str>,
    mut obj: Value,
    w: WriteCtx,
) -> ApiResult<(Value, Vec<String>)> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let body_ns = meta_str(&obj, "namespace").to_string();
    if ty.namespaced {
        let ns = namespace.ok_or_else(ApiError::method_not_allowed)?;
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
        }
        namespace_accepts(store, ns)?;
        meta_mut(&mut obj).insert("namespace".into(), json!(ns));
    } else {
        meta_mut(&mut obj).remove("namespace");
    }
    if !meta_str(&obj, "resourceVersion").is_empty() {
        return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
    }
    if meta_str(&obj, "name").is_empty() {
        let prefix = meta_str(&obj, "generateName").to_string();
        if !prefix.is_empty() {
            meta_mut(&mut obj).insert("name".into(), json!(format!("{prefix}{}", random_suffix())));
        }
    }
    let warnings = objects::drop_unknown_fields(ty, version, &mut obj, w.validation)?;
    let explicit_managed = managed::decode(&obj).map_err(ApiError::bad_request)?;
    {
        let meta = meta_mut(&mut obj);
        for f in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink", "managedFields"] {
            meta.remove(f);
        }
    }
    obj = objects::to_storage(ty, obj);
    objects::defaults_on_create(ty, &mut obj);
    objects::normalize(ty, &mut obj)?;
    objects::validate(ty, &obj, None)?;
    let name = meta_str(&obj, "name").to_string();
    let key = (if ty.namespaced { namespace.unwrap_or("").to_string() } else { String::new() }, name.clone());
    let sk = storage_key(ty);
    if store.get(&sk, &key).is_some() {
        return Err(ApiError::already_exists(&Target { group: &ty.group, plural: &ty.plural, name: &name }));
    }
    {
        let meta = meta_mut(&mut obj);
        meta.insert("uid".into(), json!(new_uid()));
        meta.insert("creationTimestamp".into(), json!(clock::now_rfc3339()));
        if ty.has_generation {
            meta.insert("generation".into(), json!(1));
        }
        if ty.special == Special::Crd {
            meta.insert("finalizers".into(), json!([crd::CLEANUP_FINALIZER]));
        }
    }
    let api_version = ty.api_version(version);
    let entries = match (w.entries.clone(), explicit_managed.is_empty()) {
        (Some(e), _) => e,
        (None, false) => explicit_managed,
        (None, true) => {
            let mut e = Vec::new();
            let lk = list_kind_fn(ty);
            let served = objects::present(ty, version, &obj);
            managed::record_update(&mut e, &json!({}), &served, &w.write(&api_version), &lk);
            e
        }
    };
    set_managed(&mut obj, &entries);
    if w.dry_run {
        return Ok((obj, warnings));
    }
    let stored = store.put(&sk, key.clone(), obj, EventType::Added);
    after_write(store, ty, &key);
    let latest = store.get(&sk, &key).cloned().unwrap_or(stored);
    Ok((latest, warnings))
}

fn set_managed(obj: &mut Value, entries: &[managed::Entry]) {
    let encoded = managed::encode(entries);
    let meta = meta_mut(obj);
    if encoded.as_array().is_some_and(Vec::is_empty) {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), encoded);
    }
}

fn after_write(store: &mut Store, ty: &Arc<ResourceType>, key: &ObjectKey) {
    if ty.special == Special::Crd {
        crd::reconcile(store, &key.1);
    }
    gc::after_write(store, &storage_key(ty), key);
}

/// PUT of the object or its status.
pub fn replace(store: &mut Store, a: &Addr, status: bool, ctx: &Ctx) -> ApiResult<Outcome> {
    let new = parse_body(ctx.content_type, ctx.body)?;
    check_type(&a.ty, &a.version, &new)?;
    let old = store.get(&storage_key(&a.ty), &a.key()).cloned().ok_or_else(|| ApiError::not_found(&a.target()))?;
    if a.ty.special == Special::Custom && meta_str(&new, "resourceVersion").is_empty() {
        return Err(ApiError::invalid(
            &a.ty.kind,
            &a.ty.group,
            &a.name,
            vec![crate::error::FieldCause::invalid("metadata.resourceVersion", "0x0", "must be specified for an update")],
        ));
    }
    let w = WriteCtx::from(ctx, &a.ty, status)?;
    let (obj, warnings) = commit_update(store, a, &old, new, w)?;
    Ok(Outcome { code: 200, body: objects::present(&a.ty, &a.version, &obj), warnings })
}

fn commit_update(store: &mut Store, a: &Addr, old: &Value, mut new: Value, w: WriteCtx) -> ApiResult<(Value, Vec<String>)> {
    let ty = &a.ty;
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = json!({});
    }
    let name = meta_str(&new, "name");
    if !name.is_empty() && name != a.name {
        return Err(ApiError::bad_request(format!("the name of the object ({name}) does not match the name on the URL ({})", a.name)));
    }
    let ns = meta_str(&new, "namespace");
    if ty.namespaced && !ns.is_empty() && ns != a.namespace {
        return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
    }
    let rv = meta_str(&new, "resourceVersion");
    if !rv.is_empty() && rv != meta_str(old, "resourceVersion") {
        return Err(ApiError::conflict(&a.target(), "the object has been modified; please apply your changes to the latest version and try again"));
    }
    let warnings = objects::drop_unknown_fields(ty, &a.version, &mut new, w.validation)?;
    let explicit = explicit_managed_fields(old, &new).map_err(ApiError::bad_request)?;
    let mut new = objects::to_storage(ty, new);
    match w.part {
        Part::Whole => {}
        Part::MainResource => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        },
        Part::Status => {
            let status = new.get("status").cloned();
            new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
    }
    {
        let meta = meta_mut(&mut new);
        meta.insert("name".into(), json!(a.name));
        if ty.namespaced {
            meta.insert("namespace".into(), json!(a.namespace));
        } else {
            meta.remove("namespace");
        }
        let old_meta = old.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
        for f in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "resourceVersion"] {
            match old_meta.get(f) {
                Some(v) => meta.insert(f.into(), v.clone()),
                None => meta.remove(f),
            };
        }
        meta.remove("selfLink");
    }
    if ty.special == Special::Namespace && w.part != Part::Status {
        new["spec"] = old.get("spec").cloned().unwrap_or(json!({}));
    }
    if ty.special == Special::Crd && w.part != Part::Status {
        if let Some(s) = old.get("status") {
            new["status"] = s.clone();
        }
    }
    objects::normalize(ty, &mut new)?;
    objects::validate(ty, &new, Some(old))?;
    let api_version = ty.api_version(&a.version);
    let entries = match w.entries.clone() {
        Some(e) => e,
        None => {
            let mut e = match explicit {
                Some(e) => e,
                None => managed::decode(old).unwrap_or_default(),
            };
            let lk = list_kind_fn(ty);
            let (old_served, new_served) = (objects::present(ty, &a.version, old), objects::present(ty, &a.version, &new));
            managed::record_update(&mut e, &old_served, &new_served, &w.write(&api_version), &lk);
            e
        }
    };
    set_managed(&mut new, &entries);
    if ty.has_generation && objects::generation_changes(ty, old, &new) {
        let g = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0) + 1;
        meta_mut(&mut new).insert("generation".into(), json!(g));
    }
    if new == *old {
        return Ok((old.clone(), warnings));
    }
    if w.dry_run {
        return Ok((new, warnings));
    }
    let sk = storage_key(ty);
    let key = a.key();
    let deleting = new.pointer("/metadata/deletionTimestamp").is_some();
    let no_finalizers = new.pointer("/metadata/finalizers").and_then(Value::as_array).is_none_or(Vec::is_empty);
    if deleting && no_finalizers && ty.special != Special::Namespace {
        let removed = store.remove_as(&sk, &key, new).expect("the object exists");
        gc::sweep(store);
        return Ok((removed, warnings));
    }
    let stored = store.put(&sk, key.clone(), new, EventType::Modified);
    after_write(store, ty, &key);
    if deleting {
        gc::sweep(store);
    }
    let latest = store.get(&sk, &key).cloned().unwrap_or(stored);
    Ok((latest, warnings))
}

/// Managed fields the request sets itself (different from the live ones), if any; a list
/// holding one empty entry resets them.
fn explicit_managed_fields(old: &Value, new: &Value) -> Result<Option<Vec<managed::Entry>>, String> {
    let Some(list) = new.pointer("/metadata/managedFields") else {
        return Ok(None);
    };
    if list.as_array().is_some_and(Vec::is_empty) || old.pointer("/metadata/managedFields") == Some(list) {
        return Ok(None);
    }
    if list.as_array().is_some_and(|a| a.len() == 1 && a[0].as_object().is_some_and(|o| o.is_empty())) {
        return Ok(Some(Vec::new()));
    }
    managed::decode(new).map(Some)
}

const PATCH_TYPES: &[&str] =
    &["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];

/// PATCH of the object or its status.
pub fn patch(store: &mut Store, a: &Addr, status: bool, ctx: &Ctx) -> ApiResult<Outcome> {
    let ty = &a.ty;
    let strategic_ok = ty.special != Special::Custom;
    if !PATCH_TYPES.contains(&ctx.content_type) || (ctx.content_type == "application/strategic-merge-patch+json" && !strategic_ok) {
        let accepted: Vec<&str> = PATCH_TYPES.iter().copied().filter(|t| strategic_ok || !t.contains("strategic")).collect();
        return Err(ApiError::unsupported_media_type(ctx.content_type, &accepted));
    }
    let body = parse_body(ctx.content_type, ctx.body)?;
    let mut w = WriteCtx::from(ctx, ty, status)?;
    let old = store.get(&storage_key(ty), &a.key()).cloned();
    let api_version = ty.api_version(&a.version);
    if ctx.content_type == "application/apply-patch+yaml" {
        if ctx.param("fieldManager").is_none_or(str::is_empty) {
            return Err(ApiError::invalid(
                "PatchOptions",
                "meta.k8s.io",
                "",
                vec![crate::error::FieldCause::required("fieldManager", "is required for apply patch")],
            ));
        }
        check_type(ty, &a.version, &body)?;
        if body.get("apiVersion").is_none() || body.get("kind").is_none() {
            return Err(ApiError::bad_request("apiVersion and kind must be set in an apply patch"));
        }
        let body_name = meta_str(&body, "name");
        if body_name != a.name {
            return Err(ApiError::bad_request(format!("the name of the object ({body_name}) does not match the name on the URL ({})", a.name)));
        }
        if body.pointer("/metadata/managedFields").is_some_and(|m| !m.is_null()) {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        // A resourceVersion in an applied configuration is a precondition.
        let wanted_rv = meta_str(&body, "resourceVersion");
        if !wanted_rv.is_empty() && old.as_ref().is_none_or(|o| meta_str(o, "resourceVersion") != wanted_rv) {
            return Err(match &old {
                Some(_) => ApiError::conflict(&a.target(), "the object has been modified; please apply your changes to the latest version and try again"),
                None => ApiError::not_found(&a.target()),
            });
        }
        let force = ctx.flag("force");
        let lk = list_kind_fn(ty);
        let live = match &old {
            Some(o) => objects::present(ty, &a.version, o),
            None if status => return Err(ApiError::not_found(&a.target())),
            None => json!({}),
        };
        let mut entries = managed::decode(&live).unwrap_or_default();
        let merged = managed::apply(&live, &body, &mut entries, &w.write(&api_version), force, &lk).map_err(|c| ApiError::apply_conflicts(&a.target(), &c))?;
        w.entries = Some(entries);
        return match old {
            None => {
                let mut merged = merged;
                if let Some(m) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("managedFields");
                }
                let ns = if ty.namespaced { Some(a.namespace.as_str()) } else { None };
                let (obj, warnings) = commit_create(store, ty, &a.version, ns, merged, w)?;
                Ok(Outcome { code: 201, body: objects::present(ty, &a.version, &obj), warnings })
            }
            Some(old) => {
                let mut merged = merged;
                meta_mut(&mut merged).remove("resourceVersion");
                let (obj, warnings) = commit_update(store, a, &old, merged, w)?;
                Ok(Outcome { code: 200, body: objects::present(ty, &a.version, &obj), warnings })
            }
        };
    }
    let old = old.ok_or_else(|| ApiError::not_found(&a.target()))?;
    let live = objects::present(ty, &a.version, &old);
    let patched = match ctx.content_type {
        "application/merge-patch+json" => patch::merge_patch(&live, &body),
        "application/json-patch+json" => {
            patch::json_patch(&live, &body).map_err(|e| ApiError::invalid(&ty.kind, &ty.group, &a.name, vec![crate::error::FieldCause::invalid("", "", &e)]))?
        }
        _ => {
            let lk = list_kind_fn(ty);
            patch::strategic_merge_patch(&live, &body, &lk).map_err(ApiError::bad_request)?
        }
    };
    if !patched.is_object() {
        return Err(ApiError::bad_request("the patched object is not an object"));
    }
    check_type(ty, &a.version, &patched)?;
    let (obj, warnings) = commit_update(store, a, &old, patched, w)?;
    Ok(Outcome { code: 200, body: objects::present(ty, &a.version, &obj), warnings })
}

/// Deletion options from the body or the query.
struct DeleteOptions {
    propagation: String,
    uid: Option<String>,
    rv: Option<String>,
    dry_run: bool,
}

fn delete_options(ctx: &Ctx) -> ApiResult<DeleteOptions> {
    let body = if ctx.body.iter().all(u8::is_ascii_whitespace) { json!({}) } else { parse_body(ctx.content_type, ctx.body)? };
    let orphan = body.get("orphanDependents").and_then(Value::as_bool).or(ctx.param("orphanDependents").map(|v| v == "true"));
    let propagation = body.get("propagationPolicy").and_then(Value::as_str).or(ctx.param("propagationPolicy")).map(String::from);
    let propagation = match (propagation, orphan) {
        (Some(p), _) => p,
        (None, Some(true)) => "Orphan".into(),
        _ => "Background".into(),
    };
    if !["Background", "Foreground", "Orphan"].contains(&propagation.as_str()) {
        return Err(ApiError::invalid(
            "DeleteOptions",
            "",
            "",
            vec![crate::error::FieldCause {
                reason: "FieldValueNotSupported",
                field: "propagationPolicy".into(),
                message: format!("Unsupported value: \"{propagation}\": supported values: \"Foreground\", \"Background\", \"Orphan\""),
            }],
        ));
    }
    let dry = body.get("dryRun").and_then(Value::as_array).is_some_and(|d| d.iter().any(|x| x == "All")) || ctx.dry_run()?;
    Ok(DeleteOptions {
        propagation,
        uid: body.pointer("/preconditions/uid").and_then(Value::as_str).map(String::from),
        rv: body.pointer("/preconditions/resourceVersion").and_then(Value::as_str).map(String::from),
        dry_run: dry,
    })
}

/// DELETE of one object.
pub fn delete(store: &mut Store, a: &Addr, ctx: &Ctx) -> ApiResult<Outcome> {
    let opts = delete_options(ctx)?;
    let sk = storage_key(&a.ty);
    let old = store.get(&sk, &a.key()).cloned().ok_or_else(|| ApiError::not_found(&a.target()))?;
    if let Some(uid) = &opts.uid {
        if uid != meta_str(&old, "uid") {
            return Err(ApiError::conflict(
                &a.target(),
                &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta_str(&old, "uid")),
            ));
        }
    }
    if let Some(rv) = &opts.rv {
        if rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(
                &a.target(),
                &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", meta_str(&old, "resourceVersion")),
            ));
        }
    }
    if opts.dry_run {
        return Ok(Outcome::ok(200, objects::present(&a.ty, &a.version, &old)));
    }
    match gc::start_deletion(store, &a.ty, &a.key(), &opts.propagation) {
        gc::Deletion::Removed(obj) => {
            let mut details = json!({"name": a.name, "kind": a.ty.plural, "uid": meta_str(&obj, "uid")});
            if !a.ty.group.is_empty() {
                details["group"] = json!(a.ty.group);
            }
            Ok(Outcome::ok(200, json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})))
        }
        gc::Deletion::Pending(obj) => Ok(Outcome::ok(200, objects::present(&a.ty, &a.version, &obj))),
    }
}

/// DELETE of a collection: every object matching the selectors.
pub fn delete_collection(store: &mut Store, ty: &Arc<ResourceType>, version: &str, namespace: Option<&str>, ctx: &Ctx) -> ApiResult<Outcome> {
    let opts = delete_options(ctx)?;
    let page = list(store, ty, version, namespace, ctx.query)?;
    let mut items = Vec::new();
    for item in page.items {
        let key = (meta_str(&item, "namespace").to_string(), meta_str(&item, "name").to_string());
        if opts.dry_run {
            items.push(item);
            continue;
        }
        match gc::start_deletion(store, ty, &key, &opts.propagation) {
            gc::Deletion::Removed(o) | gc::Deletion::Pending(o) => items.push(objects::present(ty, version, &o)),
        }
    }
    let page = ListPage { items, rv: store.rv(), next: None, remaining: 0 };
    Ok(Outcome::ok(200, list_object(ty, version, page)))
}

/// Creates a namespace at start-up, as the API server's own bootstrap does.
pub fn seed_namespace(store: &mut Store, name: &str) {
    let Some(ty) = store.find_type("", "v1", "namespaces") else {
        return;
    };
    let w = WriteCtx { manager: "kube-apiserver".into(), part: Part::MainResource, dry_run: false, validation: Validation::Ignore, entries: None };
    let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    let _ = commit_create(store, &ty, "v1", None, obj, w);
}
