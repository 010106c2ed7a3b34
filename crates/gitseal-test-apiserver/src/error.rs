//! API errors as the Kubernetes API reports them: a `Status` object with a reason and code.

use serde_json::{json, Value};

/// One failed request: rendered as a `v1 Status` with `status: Failure`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    /// HTTP status code (404, 409, ...).
    pub code: u16,
    /// The `reason` field (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// Human-readable message, as kubectl prints it after `Error from server (Reason):`.
    pub message: String,
    /// The `details` object (name, group, kind, causes), when there is one.
    pub details: Option<Value>,
}

/// Names one resource in an error's `details`: its group, its plural (`kind` in most
/// details, as the API server writes it) and the object's name.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// API group ("" for core).
    pub group: &'a str,
    /// Plural resource name.
    pub plural: &'a str,
    /// Object name.
    pub name: &'a str,
}

impl Target<'_> {
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn details(&self) -> Value {
        let mut d = json!({"name": self.name, "kind": self.plural});
        if !self.group.is_empty() {
            d["group"] = json!(self.group);
        }
        d
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 404 for a path that names no resource.
    pub fn no_resource() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
    }

    /// 404 NotFound for one object.
    pub fn not_found(t: &Target) -> Self {
        let mut e = Self::new(404, "NotFound", format!("{} \"{}\" not found", t.qualified(), t.name));
        e.details = Some(t.details());
        e
    }

    /// 409 AlreadyExists.
    pub fn already_exists(t: &Target) -> Self {
        let mut e = Self::new(409, "AlreadyExists", format!("{} \"{}\" already exists", t.qualified(), t.name));
        e.details = Some(t.details());
        e
    }

    /// 409 Conflict on a stale resourceVersion or failed precondition.
    pub fn conflict(t: &Target, why: &str) -> Self {
        let mut e = Self::new(409, "Conflict", format!("Operation cannot be fulfilled on {} \"{}\": {why}", t.qualified(), t.name));
        e.details = Some(t.details());
        e
    }

    /// 409 Conflict of a server-side apply: one cause per field owned by another manager
    /// ((manager as displayed, field path) pairs), worded as the API server words them.
    pub fn apply_conflicts(t: &Target, conflicts: &[(String, String)]) -> Self {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(manager, field)| json!({"type": "FieldManagerConflict", "message": format!("conflict with {manager}"), "field": field}))
            .collect();
        let message = if conflicts.len() == 1 {
            format!("Apply failed with 1 conflict: conflict with {}: {}", conflicts[0].0, conflicts[0].1)
        } else {
            let mut managers: Vec<&String> = conflicts.iter().map(|(m, _)| m).collect();
            managers.sort();
            managers.dedup();
            let mut lines = Vec::new();
            for m in managers {
                lines.push(format!("conflicts with {m}:"));
                lines.extend(conflicts.iter().filter(|(cm, _)| cm == m).map(|(_, f)| format!("- {f}")));
            }
            format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
        };
        let mut details = t.details();
        details["causes"] = Value::Array(causes);
        ApiError { code: 409, reason: "Conflict", message, details: Some(details) }
    }

    /// 410 Gone (reason Expired): a resourceVersion or continue token older than the kept history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large() -> Self {
        Self::new(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format ({content_type}) - accepted media types include: {}", accepted.join(", ")),
        )
    }

    /// 406 NotAcceptable.
    pub fn not_acceptable(accept: &str) -> Self {
        Self::new(406, "NotAcceptable", format!("only the following media types are accepted: application/json, application/yaml ({accept})"))
    }

    /// 422 Invalid: `Kind "name" is invalid: field: message`, one cause per field.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<FieldCause>) -> Self {
        let text: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        let message =
            if text.len() == 1 { format!("{kind} \"{name}\" is invalid: {}", text[0]) } else { format!("{kind} \"{name}\" is invalid: [{}]", text.join(", ")) };
        let mut details = json!({"name": name, "kind": kind});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        details["causes"] = causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect();
        ApiError { code: 422, reason: "Invalid", message, details: Some(details) }
    }

    /// The `Status` object of this error.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

/// One cause of a 422 Invalid.
#[derive(Debug, Clone)]
pub struct FieldCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueForbidden`, ...
    pub reason: &'static str,
    /// Field path (`metadata.name`, `data[key]`).
    pub field: String,
    /// `Invalid value: "x": must be ...` as the API server phrases it.
    pub message: String,
}

impl FieldCause {
    /// A FieldValueInvalid cause.
    pub fn invalid(field: impl Into<String>, value: &str, why: &str) -> Self {
        FieldCause { reason: "FieldValueInvalid", field: field.into(), message: format!("Invalid value: \"{value}\": {why}") }
    }

    /// A FieldValueRequired cause.
    pub fn required(field: impl Into<String>, why: &str) -> Self {
        FieldCause { reason: "FieldValueRequired", field: field.into(), message: format!("Required value: {why}") }
    }

    /// A FieldValueForbidden cause.
    pub fn forbidden(field: impl Into<String>, why: &str) -> Self {
        FieldCause { reason: "FieldValueForbidden", field: field.into(), message: format!("Forbidden: {why}") }
    }
}

/// Result of an API operation.
pub type ApiResult<T> = Result<T, ApiError>;
