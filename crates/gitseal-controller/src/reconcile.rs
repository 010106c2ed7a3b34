//! The reconcile of one EncryptedSecret: verify and decrypt it, apply its Secret, report
//! the outcome in `status` and in an Event.
//!
//! Decrypting happens only when the object's generation or the keys changed, or when the
//! Secret drifted (edited or deleted): per object the controller remembers the uid,
//! generation and keys version it last decrypted, the digest of the Secret it applied and
//! the Secret's resourceVersion after the apply. A resync, or the controller's own status
//! and Secret writes coming back as watch events, find everything as remembered and do
//! nothing; an object decrypted again to the same digest while its Secret is untouched
//! (after a change of keys) writes nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource, ResourceExt};
use serde_json::{json, Map, Value};
use tracing::{debug, info, warn};

use crate::keys::KeyState;
use crate::metrics::{FailureReason, Metrics};
use crate::opening::{self, MaterializedSecret};
use crate::refresh::{self, Rounds};
use crate::resource::EncryptedSecret;
use crate::secret::{is_owned_by, zeroize_secret, Owner, SecretManifest, SecretParts, FIELD_MANAGER};
use crate::status::{reason_for, status_for, truncate, Progress, Reason};
use crate::vault::VaultAccess;

/// How long to wait before looking again at an object whose Secret name is taken by a
/// Secret the controller does not own (that Secret carries no label the controller watches).
pub const SECRET_EXISTS_RECHECK: Duration = Duration::from_secs(60);
/// The first retry after a transient failure; it doubles with each failure in a row.
pub const BACKOFF_START: Duration = Duration::from_secs(1);
/// The longest wait between retries.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// When Vault refused a reference or a key (denied, not found) of an object that is not
/// refreshed, how long until it is tried again (a policy may have been fixed meanwhile).
pub const VAULT_RECHECK: Duration = Duration::from_secs(300);
/// How many objects are opened at once: opening is CPU work (and Vault calls), and each
/// one in flight holds a parsed copy of its object.
pub const OPENING_SLOTS: usize = 4;

/// A failed reconcile, retried by [`error_policy`].
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A request to the API server failed.
    #[error("Kubernetes API request failed: {0}")]
    Kube(#[from] kube::Error),
    /// Opening the object failed for a reason that may pass (Vault unavailable).
    #[error("{reason}: {message}")]
    Transient {
        /// The reason reported in the status.
        reason: Reason,
        /// What failed; it names keys or paths, never a value.
        message: String,
    },
}

impl ReconcileError {
    /// Whether trying again may help: network failures, conflicts, throttling, server
    /// errors, an unavailable Vault. Refusals of the API server (forbidden, invalid) are not.
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::Kube(kube::Error::Api(response)) => matches!(response.code, 409 | 429 | 500..=599),
            ReconcileError::Kube(_) => true,
            ReconcileError::Transient { .. } => true,
        }
    }
}

/// Namespace and name of an object.
pub type ObjectKey = (String, String);

/// What the controller last did with an object, to tell a change from a resync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The object's uid (a deleted and recreated object is a new one).
    pub uid: String,
    /// The generation decrypted.
    pub generation: Option<i64>,
    /// The keys version used.
    pub keys_version: u64,
    /// What came of it.
    pub outcome: Outcome,
    /// When its Vault values are read again (objects with references and a refresh
    /// interval, or refused by Vault); `None`: only on a change.
    pub next_refresh: Option<Instant>,
}

/// The outcome remembered for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The Secret was applied: its digest and its resourceVersion afterwards.
    Applied {
        /// SHA-256 of the applied Secret ([`SecretManifest::digest`]).
        digest: [u8; 32],
        /// The Secret's resourceVersion after the apply.
        secret_version: Option<String>,
    },
    /// The object was refused (bad input, wrong key): it waits for a change.
    Refused(Reason),
}

/// What the reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Publishes Events about EncryptedSecrets.
    pub recorder: Recorder,
    keys: RwLock<KeyState>,
    observed: Mutex<HashMap<ObjectKey, Observed>>,
    failures: Mutex<HashMap<ObjectKey, u32>>,
    metrics: Arc<Metrics>,
    recipients: Mutex<Option<Vec<String>>>,
    vault: Option<Arc<VaultAccess>>,
    rounds: Rounds,
    min_refresh_interval: Duration,
    opening_slots: tokio::sync::Semaphore,
}

impl Context {
    /// A context with no keys loaded yet (`keys` names the keys Secret for messages).
    pub fn new(client: Client, recorder: Recorder, keys: KeyState) -> Self {
        Context {
            client,
            recorder,
            keys: RwLock::new(keys),
            observed: Mutex::default(),
            failures: Mutex::default(),
            metrics: Arc::default(),
            recipients: Mutex::default(),
            vault: None,
            rounds: Rounds::new(Instant::now()),
            min_refresh_interval: refresh::DEFAULT_MIN_REFRESH_INTERVAL,
            opening_slots: tokio::sync::Semaphore::new(OPENING_SLOTS),
        }
    }

    /// Uses `vault` for Transit-wrapped data keys and KV references (built with this
    /// context's [`Context::rounds`] and [`Context::metrics`]).
    pub fn with_vault(mut self, vault: Arc<VaultAccess>) -> Self {
        self.vault = Some(vault);
        let keys = std::mem::replace(self.keys.get_mut().unwrap_or_else(PoisonError::into_inner), KeyState::missing(""));
        self.set_keys(keys);
        self
    }

    /// Honours no `spec.refreshInterval` shorter than `min`.
    pub fn with_min_refresh_interval(mut self, min: Duration) -> Self {
        self.min_refresh_interval = min;
        self
    }

    /// The refresh rounds, counted from the context's creation.
    pub fn rounds(&self) -> Rounds {
        self.rounds
    }

    /// The keys in use.
    pub fn keys(&self) -> KeyState {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the keys in use, giving them Vault Transit when Vault is configured (`keys`
    /// is a state just built, whose identities nothing else holds yet).
    pub fn set_keys(&self, mut keys: KeyState) {
        if let Some(vault) = &self.vault {
            match Arc::get_mut(&mut keys.identities) {
                Some(identities) => identities.set_transit(vault.transit()),
                None => warn!(keys_secret = keys.secret, "the identities are in use elsewhere; Vault Transit is not attached to them"),
            }
        }
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
    }

    /// How many times an object was decrypted since the start.
    pub fn decrypts(&self) -> u64 {
        self.metrics.decrypts()
    }

    /// The public recipients of the keys in use, once keys were loaded.
    pub fn recipients(&self) -> Option<Vec<String>> {
        self.recipients.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records the public recipients of the keys in use.
    pub fn set_recipients(&self, recipients: Vec<String>) {
        *self.recipients.lock().unwrap_or_else(PoisonError::into_inner) = Some(recipients);
    }

    /// The metrics the reconciles update.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// How many objects the controller remembers.
    pub fn observed_count(&self) -> usize {
        self.observed.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn observed(&self, key: &ObjectKey) -> Option<Observed> {
        self.observed.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    fn remember(&self, key: ObjectKey, observed: Observed) {
        let applied = matches!(observed.outcome, Outcome::Applied { .. });
        let previous = self.observed.lock().unwrap_or_else(PoisonError::into_inner).insert(key.clone(), observed);
        let was_applied = previous.is_some_and(|p| matches!(p.outcome, Outcome::Applied { .. }));
        self.metrics.add_managed_secrets(i64::from(applied) - i64::from(was_applied));
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
    }

    /// Forgets a deleted object.
    pub fn forget(&self, key: &ObjectKey) {
        let previous = self.observed.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
        if previous.is_some_and(|p| matches!(p.outcome, Outcome::Applied { .. })) {
            self.metrics.add_managed_secrets(-1);
        }
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Counts a failure of `key` in a row and returns how long to wait before the next try.
    fn next_backoff(&self, key: &ObjectKey) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let n = failures.entry(key.clone()).or_insert(0);
        *n = n.saturating_add(1);
        backoff(*n)
    }
}

/// The wait before retry number `failures` (1 for the first): doubling from
/// [`BACKOFF_START`] up to [`BACKOFF_MAX`].
pub fn backoff(failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
    BACKOFF_START.saturating_mul(factor).min(BACKOFF_MAX)
}

fn object_key(obj: &EncryptedSecret) -> ObjectKey {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

/// What the reconcile needs from the live Secret (its values are zeroized right after reading).
struct LiveSecret {
    owned: bool,
    immutable: bool,
    resource_version: Option<String>,
}

/// Reconciles one EncryptedSecret, counted and timed in the metrics.
pub async fn reconcile(obj: Arc<EncryptedSecret>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let start = Instant::now();
    let result = reconcile_object(obj, ctx.clone()).await;
    ctx.metrics.reconciled(start.elapsed());
    // Refusals and transient opening failures were counted by `refuse` under their reason.
    if let Err(ReconcileError::Kube(_)) = &result {
        ctx.metrics.failed(FailureReason::ApiError);
    }
    result
}

async fn reconcile_object(obj: Arc<EncryptedSecret>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let key = object_key(&obj);
    let (namespace, name) = (key.0.clone(), key.1.clone());
    let uid = obj.uid().unwrap_or_default();
    let generation = obj.metadata.generation;
    let keys = ctx.keys();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);

    let live = secrets.get_opt(&name).await?.map(|mut s| {
        let info = LiveSecret { owned: is_owned_by(&s, &uid), immutable: s.immutable == Some(true), resource_version: s.metadata.resource_version.clone() };
        zeroize_secret(&mut s);
        info
    });
    if live.as_ref().is_some_and(|l| !l.owned) {
        let message =
            format!("Secret {namespace}/{name} exists and is not owned by this EncryptedSecret; it is left as it is (delete it, or rename one of the two)");
        refuse(&ctx, &obj, Reason::SecretExists, Progress::Stalled, &message).await?;
        return Ok(Action::requeue(SECRET_EXISTS_RECHECK));
    }

    let interval = match refresh_interval(&obj, ctx.min_refresh_interval) {
        Ok(interval) => interval,
        Err(message) => {
            refuse(&ctx, &obj, Reason::InvalidData, Progress::Stalled, &message).await?;
            ctx.remember(key, Observed { uid, generation, keys_version: keys.version, outcome: Outcome::Refused(Reason::InvalidData), next_refresh: None });
            return Ok(Action::await_change());
        }
    };

    let now = Instant::now();
    let seen = ctx.observed(&key).filter(|seen| seen.uid == uid);
    if let Some(seen) = &seen {
        let refresh_due = seen.next_refresh.is_some_and(|at| now >= at);
        if seen.generation == generation && seen.keys_version == keys.version && !refresh_due {
            match &seen.outcome {
                Outcome::Refused(_) => return Ok(wait_until(seen.next_refresh, now)),
                Outcome::Applied { secret_version, .. } if live.as_ref().is_some_and(|l| &l.resource_version == secret_version) => {
                    return Ok(wait_until(seen.next_refresh, now));
                }
                Outcome::Applied { .. } => info!(namespace, name, "the Secret was edited or deleted; restoring it"),
            }
        } else if refresh_due {
            debug!(namespace, name, "reading the Vault values again");
        }
    }

    debug!(namespace, name, generation, keys_version = keys.version, decrypts = ctx.decrypts() + 1, "decrypting");
    let decrypt_start = Instant::now();
    let opening = open_in_slot(&ctx, &obj, &keys, interval.map(|i| i.interval)).await;
    ctx.metrics.decrypted(decrypt_start.elapsed());
    let (opened, references) = match opening {
        Ok(opened) => opened,
        Err(failure) => {
            let OpenFailure { reason, message, transient } = failure;
            refuse(&ctx, &obj, reason, if transient { Progress::Retrying } else { Progress::Stalled }, &message).await?;
            if transient {
                return Err(ReconcileError::Transient { reason, message });
            }
            // Vault's answer may change without the object changing (a policy fixed, a path written).
            let next_refresh = (reason == Reason::VaultError).then(|| now + interval.map_or(VAULT_RECHECK, |i| i.interval));
            ctx.remember(key, Observed { uid, generation, keys_version: keys.version, outcome: Outcome::Refused(reason), next_refresh });
            return Ok(wait_until(next_refresh, now));
        }
    };
    let next_refresh = match (references, interval) {
        (0, _) | (_, None) => None,
        (_, Some(i)) => Some(ctx.rounds.next_due(i.interval, &uid, Instant::now())),
    };

    let entries = opened.data.len();
    let parts =
        SecretParts { secret_type: opened.secret_type, labels: opened.labels, annotations: opened.annotations, immutable: opened.immutable, data: opened.data };
    let manifest = SecretManifest::build(&namespace, Owner { name: name.clone(), uid: uid.clone() }, parts);
    let digest = manifest.digest();
    // Decrypted again (new keys, a new generation) to the same Secret that is still in place: nothing to write.
    let unchanged = match seen.as_ref().map(|s| &s.outcome) {
        Some(Outcome::Applied { digest: previous, secret_version }) => {
            *previous == digest && live.as_ref().is_some_and(|l| &l.resource_version == secret_version)
        }
        _ => false,
    };
    let applied = match unchanged {
        true => Ok(live.as_ref().and_then(|l| l.resource_version.clone())),
        false => apply_secret(&secrets, &manifest, live.as_ref().is_some_and(|l| l.immutable)).await,
    };
    let secret_version = match applied {
        Ok(version) => version,
        Err(kube::Error::Api(response)) if matches!(response.code, 400 | 422) => {
            let message = format!("the API server refused Secret {namespace}/{name}: {}", response.message);
            refuse(&ctx, &obj, Reason::InvalidData, Progress::Stalled, &message).await?;
            ctx.remember(key, Observed { uid, generation, keys_version: keys.version, outcome: Outcome::Refused(Reason::InvalidData), next_refresh: None });
            return Ok(Action::await_change());
        }
        Err(e) => return Err(e.into()),
    };
    let mut message = format!("Secret {name} is up to date ({entries} entries)");
    if references > 0 {
        message = match interval {
            Some(i) => format!("{message}; {references} from Vault, read again every {}{}", describe_duration(i.interval), i.note),
            None => format!("{message}; {references} from Vault, read again when the object or the keys change"),
        };
    }
    set_status(&ctx, &obj, Reason::Decrypted, Progress::Stalled, &message, Some(&name)).await?;
    ctx.remember(key, Observed { uid, generation, keys_version: keys.version, outcome: Outcome::Applied { digest, secret_version }, next_refresh });
    if unchanged {
        debug!(namespace, name, entries, "Secret unchanged");
    } else {
        info!(namespace, name, entries, "Secret applied");
    }
    Ok(wait_until(next_refresh, Instant::now()))
}

/// The refresh interval of an object and what to say about it.
#[derive(Debug, Clone, Copy)]
struct RefreshInterval {
    interval: Duration,
    /// A note for the status when the interval given was raised to the minimum.
    note: &'static str,
}

/// `spec.refreshInterval`, raised to `min`; an unreadable one is an error message.
fn refresh_interval(obj: &EncryptedSecret, min: Duration) -> Result<Option<RefreshInterval>, String> {
    let Some(text) = obj.spec.refresh_interval.as_deref() else { return Ok(None) };
    let given =
        gitseal_core::duration::parse_go_duration(text).ok_or_else(|| format!("spec.refreshInterval {text:?} is not a duration (e.g. 30s, 15m, 1h)"))?;
    Ok(Some(match given < min {
        true => RefreshInterval { interval: min, note: " (the controller's minimum, above spec.refreshInterval)" },
        false => RefreshInterval { interval: given, note: "" },
    }))
}

fn describe_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{}ms", d.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Wait for a change, or until `at` (a little after, so the round has begun).
fn wait_until(at: Option<Instant>, now: Instant) -> Action {
    match at {
        Some(at) => Action::requeue(at.saturating_duration_since(now) + Duration::from_millis(50)),
        None => Action::await_change(),
    }
}

/// Why an object could not be opened, as the status reports it.
struct OpenFailure {
    reason: Reason,
    message: String,
    transient: bool,
}

/// Opens the object off the async threads (it is CPU work and may call Vault), at most
/// [`OPENING_SLOTS`] at a time, and resolves its Vault references. Returns the Secret and
/// how many of its values came from Vault.
async fn open_in_slot(
    ctx: &Arc<Context>,
    obj: &EncryptedSecret,
    keys: &KeyState,
    interval: Option<Duration>,
) -> Result<(MaterializedSecret, usize), OpenFailure> {
    let (namespace, name) = object_key(obj);
    let label = format!("EncryptedSecret {namespace}/{name}");
    let json = obj.to_json();
    let identities = keys.identities.clone();
    let vault = ctx.vault.clone();
    let _slot = ctx.opening_slots.acquire().await.map_err(|_| OpenFailure {
        reason: Reason::InvalidData,
        message: "the controller is stopping".into(),
        transient: true,
    })?;
    let task = tokio::task::spawn_blocking(move || {
        let mut opened = opening::open(&label, &json, &identities).map_err(|err| OpenFailure {
            reason: reason_for(&err),
            message: err.to_string(),
            transient: err.is_transient(),
        })?;
        let vault_failure = |message: String, transient: bool| OpenFailure { reason: Reason::VaultError, message: format!("{label}: {message}"), transient };
        let references = match &vault {
            Some(vault) => vault.resolve(&namespace, &mut opened, interval).map_err(|e| vault_failure(e.message.clone(), e.is_transient()))?,
            None => match gitseal_core::render::materialized_references(&opened) {
                Ok(paths) if paths.is_empty() => 0,
                Ok(paths) => {
                    let message = format!("a value references Vault KV ({}) but the controller has no Vault settings (--vault-addr or VAULT_ADDR)", paths[0]);
                    return Err(vault_failure(message, false));
                }
                Err(e) => return Err(vault_failure(e.message, false)),
            },
        };
        Ok((opened, references))
    });
    task.await.unwrap_or_else(|e| Err(OpenFailure { reason: Reason::InvalidData, message: format!("opening the object failed: {e}"), transient: true }))
}

/// Server-side applies the Secret (field manager `gitseal`, forced), removes data entries
/// someone else added, and returns the Secret's resourceVersion afterwards. An immutable
/// Secret whose content must change is deleted and created again, as the API requires.
async fn apply_secret(secrets: &Api<Secret>, manifest: &SecretManifest, live_immutable: bool) -> Result<Option<String>, kube::Error> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut applied = match secrets.patch(&manifest.name, &params, &Patch::Apply(manifest)).await {
        Err(kube::Error::Api(response)) if response.code == 422 && live_immutable => {
            info!(namespace = manifest.namespace, name = manifest.name, "the Secret is immutable; creating it again");
            secrets.delete(&manifest.name, &DeleteParams::default()).await?;
            secrets.patch(&manifest.name, &params, &Patch::Apply(manifest)).await?
        }
        other => other?,
    };
    let extra = manifest.extra_keys(&applied);
    let mut version = applied.metadata.resource_version.clone();
    zeroize_secret(&mut applied);
    if !extra.is_empty() {
        let removals: Map<String, Value> = extra.into_iter().map(|k| (k, Value::Null)).collect();
        let mut patched = secrets.patch(&manifest.name, &PatchParams::default(), &Patch::Merge(json!({ "data": removals }))).await?;
        version = patched.metadata.resource_version.clone();
        zeroize_secret(&mut patched);
    }
    Ok(version)
}

/// Reports a failure: `Ready=False` with `reason`, a Warning Event and a log line, unless
/// the status already says exactly this (this failure was reported for this generation).
async fn refuse(ctx: &Context, obj: &EncryptedSecret, reason: Reason, progress: Progress, message: &str) -> Result<(), kube::Error> {
    let (namespace, name) = object_key(obj);
    ctx.metrics.failed(FailureReason::Refused(reason));
    if !set_status(ctx, obj, reason, progress, message, None).await? {
        debug!(namespace, name, reason = reason.as_str(), "still not ready");
        return Ok(());
    }
    warn!(namespace, name, reason = reason.as_str(), message, "not ready");
    let event =
        Event { type_: EventType::Warning, reason: reason.as_str().into(), note: Some(truncate(message, 1000)), action: "Decrypt".into(), secondary: None };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        warn!(error = %e, "cannot publish an Event");
    }
    Ok(())
}

/// Writes the status through the status subresource unless it already says the same;
/// returns whether it wrote.
async fn set_status(
    ctx: &Context,
    obj: &EncryptedSecret,
    reason: Reason,
    progress: Progress,
    message: &str,
    secret_name: Option<&str>,
) -> Result<bool, kube::Error> {
    let now = k8s_openapi::chrono::Utc::now().to_rfc3339_opts(k8s_openapi::chrono::SecondsFormat::Secs, true);
    let mut status = status_for(obj.status.as_ref(), obj.metadata.generation, reason, progress, message, secret_name, &now);
    if status.secret_name.is_none() {
        status.secret_name = obj.status.as_ref().and_then(|s| s.secret_name.clone());
    }
    if obj.status.as_ref() == Some(&status) {
        return Ok(false);
    }
    let api: Api<EncryptedSecret> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    api.patch_status(&obj.name_any(), &PatchParams::default(), &Patch::Merge(json!({ "status": status }))).await?;
    Ok(true)
}

/// What to do after a failed reconcile: retry with exponential backoff.
pub fn error_policy(obj: Arc<EncryptedSecret>, err: &ReconcileError, ctx: Arc<Context>) -> Action {
    let key = object_key(&obj);
    let wait = ctx.next_backoff(&key);
    warn!(namespace = key.0, name = key.1, error = %err, transient = err.is_transient(), retry_in_s = wait.as_secs_f64(), "reconcile failed");
    Action::requeue(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes() {
        let waits: Vec<u64> = (1..=11).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    fn api_error(code: u16) -> ReconcileError {
        ReconcileError::Kube(kube::Error::Api(kube::core::ErrorResponse { status: "Failure".into(), message: "m".into(), reason: "r".into(), code }))
    }

    #[test]
    fn conflicts_throttling_and_server_errors_are_transient_and_refusals_are_not() {
        for code in [409, 429, 500, 503] {
            assert!(api_error(code).is_transient(), "{code}");
        }
        for code in [400, 403, 404, 422] {
            assert!(!api_error(code).is_transient(), "{code}");
        }
        assert!(ReconcileError::Transient { reason: Reason::VaultError, message: "unavailable".into() }.is_transient());
    }
}
