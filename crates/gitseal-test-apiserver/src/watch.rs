//! Watches: a chunked stream of `{"type": ..., "object": ...}` lines from a resourceVersion
//! on (the kept history replayed first), ADDED/MODIFIED/DELETED as objects enter, change in
//! and leave the selection, periodic BOOKMARKs when asked, an ERROR with a 410 Expired
//! Status for a resourceVersion older than the history, and an end after `timeoutSeconds`.

use crate::api::{storage_key, Selectors};
use crate::error::{ApiError, ApiResult};
use crate::json::to_sorted_string;
use crate::objects;
use crate::resources::ResourceType;
use crate::store::{Change, EventType, StorageKey, Store};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

/// Turns a served object into what an event carries (the object, or a one-row Table).
pub type Render = Box<dyn Fn(&Value) -> Value + Send>;

/// A prepared watch: what to send first and where later changes come from.
pub struct Watch {
    ty: Arc<ResourceType>,
    version: String,
    storage: StorageKey,
    namespace: Option<String>,
    selectors: Selectors,
    render: Render,
    first: Vec<Bytes>,
    past: Vec<Arc<Change>>,
    changes: Option<broadcast::Receiver<Arc<Change>>>,
    last_rv: u64,
    bookmarks: Option<Duration>,
    deadline: Instant,
}

fn event_line(kind: &str, object: Value) -> Bytes {
    let mut line = to_sorted_string(&json!({"type": kind, "object": object}));
    line.push('\n');
    Bytes::from(line)
}

fn bookmark(ty: &ResourceType, version: &str, rv: u64, initial_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": ty.kind, "apiVersion": ty.api_version(version), "metadata": meta})
}

/// Prepares a watch under the store lock.
pub fn prepare(
    store: &Store,
    ty: &Arc<ResourceType>,
    version: &str,
    namespace: Option<&str>,
    q: &BTreeMap<String, String>,
    render: Render,
    bookmark_interval: Duration,
) -> ApiResult<Watch> {
    let selectors = Selectors::parse(ty, q)?;
    let flag = |k: &str| matches!(q.get(k).map(String::as_str), Some("true" | "1"));
    let timeout = match q.get("timeoutSeconds").map(String::as_str) {
        None | Some("") => Duration::from_secs(1800),
        Some(t) => Duration::from_secs(t.parse::<u64>().map_err(|_| ApiError::bad_request(format!("timeoutSeconds: Invalid value: \"{t}\"")))?),
    };
    let bookmarks = flag("allowWatchBookmarks").then_some(bookmark_interval);
    let send_initial = flag("sendInitialEvents");
    let rv_param = q.get("resourceVersion").map(String::as_str).unwrap_or("");
    if send_initial && (q.get("resourceVersionMatch").map(String::as_str) != Some("NotOlderThan") || bookmarks.is_none()) {
        return Err(ApiError::invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            vec![crate::error::FieldCause::forbidden(
                "sendInitialEvents",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks to true",
            )],
        ));
    }
    let storage = storage_key(ty);
    let mut w = Watch {
        ty: ty.clone(),
        version: version.to_string(),
        storage: storage.clone(),
        namespace: namespace.map(String::from),
        selectors,
        render,
        first: Vec::new(),
        past: Vec::new(),
        changes: None,
        last_rv: store.rv(),
        bookmarks,
        deadline: Instant::now() + timeout,
    };
    let from_now = send_initial || rv_param.is_empty() || rv_param == "0";
    if from_now {
        for (key, obj) in store.all(&storage) {
            if namespace.is_some_and(|ns| key.0 != ns) {
                continue;
            }
            let served = objects::present(ty, version, obj);
            if w.selectors.matches(&served) {
                w.first.push(event_line("ADDED", (w.render)(&served)));
            }
        }
        if send_initial {
            w.first.push(event_line("BOOKMARK", bookmark(ty, version, store.rv(), true)));
        }
        w.changes = Some(store.subscribe());
        return Ok(w);
    }
    let rv: u64 = rv_param.parse().map_err(|_| ApiError::bad_request(format!("resourceVersion: Invalid value: \"{rv_param}\": must be a number")))?;
    match store.changes_since(rv) {
        Some((past, rx)) => {
            w.past = past;
            w.changes = Some(rx);
        }
        None => {
            let status = ApiError::expired(format!("too old resource version: {rv} ({})", store.compacted + 1)).to_status();
            w.first.push(event_line("ERROR", status));
        }
    }
    Ok(w)
}

impl Watch {
    fn in_scope(&self, obj: &Value) -> Option<Value> {
        let served = objects::present(&self.ty, &self.version, obj);
        if let Some(ns) = &self.namespace {
            if crate::json::meta_str(&served, "namespace") != ns {
                return None;
            }
        }
        Some(served)
    }

    /// The line for one change, if this watch sees it.
    fn line_for(&self, c: &Change) -> Option<Bytes> {
        if c.storage != self.storage {
            return None;
        }
        let now = self.in_scope(&c.object).filter(|o| self.selectors.matches(o));
        let before = c.prev.as_ref().and_then(|p| self.in_scope(p)).filter(|o| self.selectors.matches(o));
        let kind = match (c.kind, &before, &now) {
            (EventType::Added, _, Some(_)) => "ADDED",
            (EventType::Deleted, _, Some(_)) => "DELETED",
            (EventType::Modified, Some(_), Some(_)) => "MODIFIED",
            (EventType::Modified, None, Some(_)) => "ADDED",
            (EventType::Modified, Some(_), None) => {
                let served = objects::present(&self.ty, &self.version, &c.object);
                return Some(event_line("DELETED", (self.render)(&served)));
            }
            _ => return None,
        };
        Some(event_line(kind, (self.render)(&now.expect("matched"))))
    }

    /// Streams the watch into `tx` until the client goes, the timeout passes or the server stops.
    pub async fn run(mut self, tx: mpsc::Sender<Bytes>) {
        for line in std::mem::take(&mut self.first) {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        for c in std::mem::take(&mut self.past) {
            self.last_rv = self.last_rv.max(c.rv);
            if let Some(line) = self.line_for(&c) {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        }
        let Some(mut rx) = self.changes.take() else {
            return;
        };
        let mut next_bookmark = self.bookmarks.map(|i| Instant::now() + i);
        loop {
            let bookmark_at = next_bookmark.unwrap_or(self.deadline);
            tokio::select! {
                got = rx.recv() => match got {
                    Ok(c) => {
                        self.last_rv = self.last_rv.max(c.rv);
                        if let Some(line) = self.line_for(&c) {
                            if tx.send(line).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let status = ApiError::expired("too old resource version: the watch fell behind").to_status();
                        let _ = tx.send(event_line("ERROR", status)).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep_until(bookmark_at), if next_bookmark.is_some() => {
                    let line = event_line("BOOKMARK", bookmark(&self.ty, &self.version, self.last_rv, false));
                    if tx.send(line).await.is_err() {
                        return;
                    }
                    next_bookmark = self.bookmarks.map(|i| Instant::now() + i);
                }
                _ = tokio::time::sleep_until(self.deadline) => return,
                _ = tx.closed() => return,
            }
        }
    }
}
