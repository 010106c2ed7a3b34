//! The object store: every object by type, namespace and name, one global resourceVersion
//! counter (as etcd's revision), and the history of changes that watches replay.

use crate::resources::{builtin_types, ResourceType};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

/// One change, kept in the history.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// Storage key of the type (group, storage plural).
    pub storage: StorageKey,
    /// The object after the change (before it, for deletions), in its storage form.
    pub object: Value,
    /// The object before a modification.
    pub prev: Option<Value>,
}

/// Receives the changes after a subscription.
pub type ChangeReceiver = broadcast::Receiver<Arc<Change>>;

/// (group, storage plural).
pub type StorageKey = (String, String);

/// (namespace, name); namespace is "" for cluster-scoped objects.
pub type ObjectKey = (String, String);

/// Everything the server holds.
pub struct Store {
    rv: u64,
    /// Served types.
    pub types: Vec<Arc<ResourceType>>,
    objects: BTreeMap<StorageKey, BTreeMap<ObjectKey, Value>>,
    history: VecDeque<Arc<Change>>,
    /// Every change with rv <= compacted is gone from the history.
    pub compacted: u64,
    history_limit: usize,
    changes: broadcast::Sender<Arc<Change>>,
}

impl Store {
    /// A store with the built-in types and no objects.
    pub fn new(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(4096);
        Store {
            rv: 0,
            types: builtin_types().into_iter().map(Arc::new).collect(),
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            compacted: 0,
            history_limit: history_limit.max(1),
            changes,
        }
    }

    /// The current resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// A type by group, version and plural.
    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types.iter().find(|t| t.group == group && t.plural == plural && t.serves(version)).cloned()
    }

    /// Every object of a storage key, in (namespace, name) order.
    pub fn all(&self, storage: &StorageKey) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.objects.get(storage).into_iter().flatten()
    }

    /// One object.
    pub fn get(&self, storage: &StorageKey, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(storage).and_then(|m| m.get(key))
    }

    /// Every storage key holding objects.
    pub fn storage_keys(&self) -> Vec<StorageKey> {
        self.objects.keys().cloned().collect()
    }

    /// Stores `object` (created or changed) with the next resourceVersion; returns it.
    pub fn put(&mut self, storage: &StorageKey, key: ObjectKey, mut object: Value, kind: EventType) -> Value {
        self.rv += 1;
        crate::json::meta_mut(&mut object).insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        let prev = self.objects.entry(storage.clone()).or_default().insert(key, object.clone());
        self.record(storage, kind, object.clone(), prev);
        object
    }

    /// Removes an object; the DELETED event carries the next resourceVersion.
    pub fn remove(&mut self, storage: &StorageKey, key: &ObjectKey) -> Option<Value> {
        let mut object = self.objects.get_mut(storage)?.remove(key)?;
        self.rv += 1;
        crate::json::meta_mut(&mut object).insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        self.record(storage, EventType::Deleted, object.clone(), None);
        Some(object)
    }

    /// Removes an object whose last write is `last` (an update that emptied the finalizers
    /// of an object being deleted): one DELETED event carrying `last`.
    pub fn remove_as(&mut self, storage: &StorageKey, key: &ObjectKey, mut last: Value) -> Option<Value> {
        self.objects.get_mut(storage)?.remove(key)?;
        self.rv += 1;
        crate::json::meta_mut(&mut last).insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        self.record(storage, EventType::Deleted, last.clone(), None);
        Some(last)
    }

    fn record(&mut self, storage: &StorageKey, kind: EventType, object: Value, prev: Option<Value>) {
        let change = Arc::new(Change { rv: self.rv, kind, storage: storage.clone(), object, prev });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        let _ = self.changes.send(change);
    }

    /// The changes after `rv` still in the history, and a receiver of the later ones (taken
    /// under the same lock, so none is missed); `None` when `rv` is older than the history.
    pub fn changes_since(&self, rv: u64) -> Option<(Vec<Arc<Change>>, ChangeReceiver)> {
        if rv < self.compacted {
            return None;
        }
        let past = self.history.iter().filter(|c| c.rv > rv).cloned().collect();
        Some((past, self.changes.subscribe()))
    }

    /// A receiver of the changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }
}
