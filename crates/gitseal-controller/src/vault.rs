//! Vault inside the cluster: Transit-wrapped data keys and `<path:...>` references to Vault
//! KV, with the controller's own settings only.
//!
//! The settings come from the command line, then the environment, then the ConfigMap named
//! by `--vault-config`, under the Vault CLI's variable names (`VAULT_ADDR`,
//! `VAULT_K8S_ROLE`, ...). Never from an EncryptedSecret: a tenant must not point the
//! controller at a server or a role of its choosing. So
//! - an `hc_vault` entry naming another server than the configured one is refused before any
//!   request (the controller's token never leaves for a server an object names);
//! - references may only read paths under the configured prefixes, where `{namespace}`
//!   stands for the object's namespace (`secret/data/{namespace}/`): a team reads its own
//!   paths, not another team's;
//! - a ConfigMap holding a token or a secret id is refused (secrets belong in a Secret, given
//!   to the pod as environment variables).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gitseal_core::encrypted_secret::MaterializedSecret;
use gitseal_core::keys::TransitKey;
use gitseal_core::ports::{ServiceError, ServiceErrorKind, TransitBackend};
use gitseal_core::render::{self, KvPath, KvRead, ReferenceError};
use gitseal_vault::blocking::VaultPool;
use gitseal_vault::{VaultAuth, VaultConfig, VaultError};
use zeroize::Zeroizing;

use crate::metrics::{Metrics, VaultOperation};
use crate::refresh::Rounds;

/// The variable that lists the KV path prefixes references may read, comma-separated.
pub const KV_PREFIXES_VAR: &str = "GITSEAL_VAULT_KV_PREFIXES";
/// The controller's default limit of one Vault request (the Vault CLI's is 60 s; a
/// reconcile should not wait that long for a server that is down).
pub const DEFAULT_REQUEST_TIMEOUT: &str = "10s";

/// The variables a `--vault-config` ConfigMap may set.
pub const CONFIGMAP_KEYS: [&str; 16] = [
    "VAULT_ADDR",
    "VAULT_NAMESPACE",
    "VAULT_CACERT",
    "VAULT_CAPATH",
    "VAULT_SKIP_VERIFY",
    // Paths of files mounted into the pod (the key from a Secret volume), not the key.
    "VAULT_CLIENT_CERT",
    "VAULT_CLIENT_KEY",
    "VAULT_TLS_SERVER_NAME",
    "VAULT_CLIENT_TIMEOUT",
    "VAULT_MAX_RETRIES",
    "VAULT_K8S_ROLE",
    "VAULT_K8S_MOUNT",
    "VAULT_K8S_TOKEN_PATH",
    "VAULT_APPROLE_MOUNT",
    "VAULT_ROLE_ID",
    KV_PREFIXES_VAR,
];
/// Variables that hold credentials: accepted from the environment (a Secret given to the
/// pod), never from a ConfigMap.
pub const SECRET_VARS: [&str; 2] = ["VAULT_TOKEN", "VAULT_SECRET_ID"];

/// Settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VaultSettingsError {
    /// The ConfigMap names a variable it may not hold.
    #[error("ConfigMap {configmap}: {message}")]
    ConfigMap {
        /// `namespace/name`.
        configmap: String,
        /// What is wrong.
        message: String,
    },
    /// The Vault client refused the settings.
    #[error("Vault settings: {0}")]
    Client(#[from] VaultError),
    /// A KV prefix is not usable.
    #[error("{KV_PREFIXES_VAR} / --vault-kv-prefix {prefix:?}: {message}")]
    Prefix {
        /// The prefix as given.
        prefix: String,
        /// What is wrong.
        message: String,
    },
}

/// Checks a `--vault-config` ConfigMap's data; returns it when every key is allowed.
pub fn configmap_settings(configmap: &str, data: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, VaultSettingsError> {
    let refuse = |message: String| VaultSettingsError::ConfigMap { configmap: configmap.to_owned(), message };
    if let Some(key) = data.keys().find(|k| SECRET_VARS.contains(&k.as_str())) {
        return Err(refuse(format!("{key} is a credential: give it to the pod from a Secret (an environment variable), not in a ConfigMap")));
    }
    if let Some(key) = data.keys().find(|k| !CONFIGMAP_KEYS.contains(&k.as_str())) {
        return Err(refuse(format!("unknown key {key:?} (expected one of {})", CONFIGMAP_KEYS.join(", "))));
    }
    Ok(data)
}

/// The settings in effect: `flags` first, then `env`, then `configmap`. `None` when no
/// layer names a Vault address (Vault is not used; objects that need it are refused).
pub fn resolve_settings(
    flags: &BTreeMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
    configmap: &BTreeMap<String, String>,
) -> Result<Option<VaultSettings>, VaultSettingsError> {
    let get = |name: &str| -> Option<String> {
        flags.get(name).cloned().or_else(|| env(name).filter(|v| !v.is_empty())).or_else(|| configmap.get(name).cloned()).filter(|v| !v.is_empty())
    };
    if get("VAULT_ADDR").is_none() {
        return Ok(None);
    }
    let config = VaultConfig::from_lookup(|name| match name {
        "VAULT_CLIENT_TIMEOUT" => get(name).or_else(|| Some(DEFAULT_REQUEST_TIMEOUT.to_owned())),
        // No `~/.vault-token` in a controller: a token is given explicitly or a login is made.
        "HOME" => None,
        _ => get(name),
    })?;
    let prefixes = get(KV_PREFIXES_VAR).map(|list| list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()).unwrap_or_default();
    let prefixes = KvPrefixes::new(prefixes)?;
    Ok(Some(VaultSettings { config, prefixes }))
}

/// What the controller uses to reach Vault.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// The client's configuration.
    pub config: VaultConfig,
    /// Where references may read.
    pub prefixes: KvPrefixes,
}

impl VaultSettings {
    /// How the controller logs in, for the start-up log (no secret in it).
    pub fn auth_method(&self) -> &'static str {
        match self.config.auth {
            VaultAuth::Token(_) => "token",
            VaultAuth::AppRole { .. } => "approle",
            VaultAuth::Kubernetes { .. } => "kubernetes",
            VaultAuth::None => "none",
        }
    }
}

/// The KV path prefixes references may read; `{namespace}` stands for the object's namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvPrefixes(Vec<String>);

impl KvPrefixes {
    /// Checks each prefix: `MOUNT/...`, no empty, `.` or `..` segment.
    pub fn new(prefixes: Vec<String>) -> Result<Self, VaultSettingsError> {
        for prefix in &prefixes {
            let bad = |message: &str| VaultSettingsError::Prefix { prefix: prefix.clone(), message: message.to_owned() };
            let trimmed = prefix.trim_end_matches('/');
            if trimmed.is_empty() || trimmed.starts_with('/') {
                return Err(bad("expected MOUNT/PATH, e.g. secret/data/{namespace}/"));
            }
            if trimmed.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
                return Err(bad("empty, '.' or '..' path segment"));
            }
            if prefix.replace("{namespace}", "").contains(['{', '}']) {
                return Err(bad("the only placeholder is {namespace}"));
            }
        }
        Ok(KvPrefixes(prefixes))
    }

    /// The prefixes as given.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether an object in `namespace` may read `path`. A prefix matches whole segments:
    /// `secret/data/team-a` allows `secret/data/team-a/db`, not `secret/data/team-ab`.
    pub fn check(&self, namespace: &str, path: &str) -> Result<(), String> {
        let clean = path.trim();
        if clean.starts_with('/') || clean.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(format!("the path {path:?} has an empty, '.' or '..' segment"));
        }
        if clean.chars().any(|c| c.is_control() || c.is_whitespace() || matches!(c, '%' | '\\' | '?' | '#')) {
            return Err(format!("the path {path:?} holds a character Vault paths here may not ('%', '\\', '?', '#', spaces)"));
        }
        if self.0.is_empty() {
            return Err(format!("references to Vault KV are not enabled: the controller allows no path (set {KV_PREFIXES_VAR} or --vault-kv-prefix)"));
        }
        let allowed = self.0.iter().any(|template| {
            let prefix = template.replace("{namespace}", namespace);
            let prefix = prefix.trim_end_matches('/');
            clean == prefix || clean.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
        });
        match allowed {
            true => Ok(()),
            false => Err(format!("the path {path} is outside what objects in namespace {namespace} may read ({})", self.describe(namespace))),
        }
    }

    fn describe(&self, namespace: &str) -> String {
        self.0.iter().map(|t| t.replace("{namespace}", namespace)).collect::<Vec<_>>().join(", ")
    }
}

/// One read kept for the objects of the same round.
struct CachedRead {
    read_at: Instant,
    result: KvRead,
}

/// A failed read is shared for this long only, so a retry after backoff asks Vault again.
const FAILED_READ_REUSE: Duration = Duration::from_secs(1);
/// After Vault was found unavailable, calls fail at once for this long without a request:
/// a thousand objects retrying against a server that is down must not each wait out its
/// timeouts (and hold the opening slots the other objects need).
pub const UNAVAILABLE_PAUSE: Duration = Duration::from_secs(5);

/// The controller's connection to Vault, shared by every reconcile. Its calls block: run
/// them in `spawn_blocking`.
pub struct VaultAccess {
    address: String,
    pool: VaultPool,
    prefixes: KvPrefixes,
    rounds: Rounds,
    /// The reads of the current rounds. The lock is held while a missing path is read, so
    /// objects of one round that reference the same path wait for the one read.
    cache: Mutex<HashMap<KvPath, CachedRead>>,
    /// How long entries stay: the longest refresh interval seen (at least the shared window).
    keep_for: Mutex<Duration>,
    /// Until when calls fail without a request, and the failure they report.
    paused: Mutex<Option<(Instant, ServiceError)>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for VaultAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultAccess").field("address", &self.address).field("prefixes", &self.prefixes).finish_non_exhaustive()
    }
}

fn normalize_address(addr: &str) -> String {
    addr.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl VaultAccess {
    /// Connects (lazily) with `settings`; fails at once on settings the client refuses
    /// (an unreadable CA file, a bad address).
    pub fn new(settings: VaultSettings, rounds: Rounds, metrics: Arc<Metrics>) -> Result<Self, VaultSettingsError> {
        let address = settings.config.addr.clone().unwrap_or_default();
        for warning in settings.config.warnings() {
            tracing::warn!("{warning}");
        }
        let pool = VaultPool::new(settings.config);
        pool.default_client()?;
        Ok(VaultAccess {
            address: normalize_address(&address),
            pool,
            prefixes: settings.prefixes,
            rounds,
            cache: Mutex::default(),
            keep_for: Mutex::new(crate::refresh::SHARED_READ_WINDOW),
            paused: Mutex::default(),
            metrics,
        })
    }

    /// The configured server address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The Transit backend for the identities: decrypts only, only on the configured server.
    pub fn transit(self: &Arc<Self>) -> Arc<dyn TransitBackend> {
        Arc::new(ConfinedTransit(self.clone()))
    }

    /// Resolves the references of `secret` (an object in `namespace`, refreshed every
    /// `interval` if at all), reading each path at most once per round. Returns how many
    /// values were resolved.
    pub fn resolve(&self, namespace: &str, secret: &mut MaterializedSecret, interval: Option<Duration>) -> Result<usize, ReferenceError> {
        let paths = render::materialized_references(secret)?;
        if paths.is_empty() {
            return Ok(0);
        }
        for p in &paths {
            self.prefixes.check(namespace, &p.path).map_err(|message| ReferenceError { message, service: Some(ServiceErrorKind::Denied) })?;
        }
        if let Some(interval) = interval {
            let mut keep = self.keep_for.lock().unwrap_or_else(PoisonError::into_inner);
            *keep = (*keep).max(interval);
        }
        let not_before = self.rounds.not_before(interval, Instant::now());
        render::resolve_materialized(secret, &mut |path| self.read(path, not_before))
    }

    /// Runs one Vault call, unless Vault was found unavailable in the last
    /// [`UNAVAILABLE_PAUSE`]; an unavailable answer starts such a pause.
    fn call<T>(&self, operation: VaultOperation, request: impl FnOnce() -> Result<T, ServiceError>) -> Result<T, ServiceError> {
        if let Some((until, error)) = self.paused.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            if Instant::now() < *until {
                // The same failure, word for word: the status of the objects it fails does not flap.
                return Err(error.clone());
            }
        }
        let result = request();
        self.metrics.vault_request(operation, result.is_ok());
        if let Err(e) = &result {
            if e.kind() == ServiceErrorKind::Unavailable {
                *self.paused.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now() + UNAVAILABLE_PAUSE, e.clone()));
            }
        }
        result
    }

    /// The value of `path` read at or after `not_before`, from the cache or from Vault.
    fn read(&self, path: &KvPath, not_before: Instant) -> KvRead {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let keep_for = *self.keep_for.lock().unwrap_or_else(PoisonError::into_inner);
        cache.retain(|_, c| now.saturating_duration_since(c.read_at) <= keep_for);
        if let Some(c) = cache.get(path) {
            let usable = c.read_at >= not_before && (c.result.is_ok() || now.saturating_duration_since(c.read_at) < FAILED_READ_REUSE);
            if usable {
                return c.result.clone();
            }
        }
        let read_at = Instant::now();
        let result = self.call(VaultOperation::KvRead, || {
            self.pool.default_client().map_err(ServiceError::from).and_then(|client| Ok(client.kv_read(&path.path, path.version)?.data))
        });
        let result = Arc::new(result);
        cache.insert(path.clone(), CachedRead { read_at, result: result.clone() });
        result
    }
}

/// Transit for the identities of the controller: decrypt on the configured server only.
struct ConfinedTransit(Arc<VaultAccess>);

impl ConfinedTransit {
    fn confine(&self, key: &TransitKey) -> Result<(), ServiceError> {
        match normalize_address(&key.address) == self.0.address {
            true => Ok(()),
            false => Err(ServiceError::new(
                ServiceErrorKind::Denied,
                format!("the object's hc_vault key names the server {}; this controller talks only to {} (its own setting)", key.address, self.0.address),
            )),
        }
    }
}

impl TransitBackend for ConfinedTransit {
    fn encrypt(&self, _key: &TransitKey, _data_key: &[u8]) -> Result<String, ServiceError> {
        Err(ServiceError::new(ServiceErrorKind::Denied, "the controller never encrypts"))
    }

    fn decrypt(&self, key: &TransitKey, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        self.confine(key)?;
        self.0.call(VaultOperation::TransitDecrypt, || {
            self.0
                .pool
                .default_client()
                .map_err(ServiceError::from)
                .and_then(|client| client.transit_decrypt(&key.engine_path, &key.key_name, ciphertext).map_err(ServiceError::from))
        })
    }

    fn rewrap(&self, _key: &TransitKey, _ciphertext: &str) -> Result<String, ServiceError> {
        Err(ServiceError::new(ServiceErrorKind::Denied, "the controller never re-encrypts files"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_configmap() {
        let flags = map(&[("VAULT_ADDR", "https://flag:8200")]);
        let cm = map(&[("VAULT_ADDR", "https://cm:8200"), ("VAULT_K8S_ROLE", "gitseal"), (KV_PREFIXES_VAR, "secret/data/{namespace}/, kv/shared")]);
        let env = |name: &str| (name == "VAULT_NAMESPACE").then(|| "team".to_owned());
        let s = resolve_settings(&flags, env, &cm).unwrap().unwrap();
        assert_eq!(s.config.addr.as_deref(), Some("https://flag:8200"));
        assert_eq!(s.config.namespace.as_deref(), Some("team"));
        assert_eq!(s.auth_method(), "kubernetes");
        assert_eq!(s.prefixes.as_slice(), ["secret/data/{namespace}/", "kv/shared"]);
        assert_eq!(s.config.timeout, Duration::from_secs(10), "the controller's shorter default");
        let s = resolve_settings(&BTreeMap::new(), |_| None, &cm).unwrap().unwrap();
        assert_eq!(s.config.addr.as_deref(), Some("https://cm:8200"));
        assert!(resolve_settings(&BTreeMap::new(), |_| None, &BTreeMap::new()).unwrap().is_none(), "no address: no Vault");
        let token = |name: &str| (name == "VAULT_TOKEN").then(|| "t".to_owned());
        assert_eq!(resolve_settings(&flags, token, &BTreeMap::new()).unwrap().unwrap().auth_method(), "token");
    }

    #[test]
    fn a_configmap_may_not_hold_credentials_or_unknown_keys() {
        for (key, expected) in [("VAULT_TOKEN", "credential"), ("VAULT_SECRET_ID", "credential"), ("VAULT_ADR", "unknown key")] {
            let err = configmap_settings("gitseal-system/vault", map(&[(key, "x")])).unwrap_err().to_string();
            assert!(err.contains(expected) && err.contains("gitseal-system/vault"), "{err}");
            assert!(!err.contains("\"x\""), "{err}");
        }
        assert!(configmap_settings("ns/cm", map(&[("VAULT_ADDR", "https://v"), ("VAULT_ROLE_ID", "r")])).is_ok());
    }

    #[test]
    fn references_read_only_under_the_prefixes_of_their_namespace() {
        let p = KvPrefixes::new(vec!["secret/data/{namespace}/".into(), "kv/shared".into()]).unwrap();
        assert!(p.check("team-a", "secret/data/team-a/db").is_ok());
        assert!(p.check("team-a", "kv/shared/registry").is_ok());
        assert!(p.check("team-a", "kv/shared").is_ok());
        for path in [
            "secret/data/team-b/db",
            "secret/data/team-ab/db",
            "kv/sharedx/y",
            "secret/data/team-a/../team-b/db",
            "secret/data/team-a//x",
            "/secret/data/team-a/x",
            "secret/data/team-a/%2e%2e/x",
        ] {
            assert!(p.check("team-a", path).is_err(), "{path}");
        }
        let err = KvPrefixes::default().check("a", "secret/data/a/x").unwrap_err();
        assert!(err.contains("not enabled"), "{err}");
        for bad in ["", "/secret", "secret//x", "secret/{name}/"] {
            assert!(KvPrefixes::new(vec![bad.into()]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_unavailable_vault_is_not_asked_again_for_a_few_seconds() {
        // Nothing listens on port 1: the first read fails at once as unavailable.
        let settings = resolve_settings(
            &map(&[("VAULT_ADDR", "http://127.0.0.1:1"), ("VAULT_MAX_RETRIES", "0"), ("VAULT_TOKEN", "t"), (KV_PREFIXES_VAR, "secret/data/{namespace}/")]),
            |_| None,
            &BTreeMap::new(),
        )
        .unwrap()
        .unwrap();
        let metrics = Arc::new(Metrics::default());
        let access = VaultAccess::new(settings, Rounds::new(Instant::now()), metrics.clone()).unwrap();
        let path = KvPath { path: "secret/data/apps/a".into(), version: None };
        let other = KvPath { path: "secret/data/apps/b".into(), version: None };
        let first = access.read(&path, Instant::now());
        assert_eq!(first.as_ref().as_ref().unwrap_err().kind(), ServiceErrorKind::Unavailable);
        let second = access.read(&other, Instant::now());
        let err = second.as_ref().as_ref().unwrap_err();
        assert_eq!(err.kind(), ServiceErrorKind::Unavailable, "still a transient failure: the object is retried with backoff");
        assert_eq!(err, first.as_ref().as_ref().unwrap_err(), "the same message, so statuses do not flap");
        assert_eq!(metrics.vault_requests(VaultOperation::KvRead), 1, "the second read sent no request");
    }

    #[test]
    fn transit_keys_of_another_server_are_refused_before_any_request() {
        let settings = resolve_settings(&map(&[("VAULT_ADDR", "http://127.0.0.1:1/")]), |_| None, &BTreeMap::new()).unwrap().unwrap();
        let metrics = Arc::new(Metrics::default());
        let access = Arc::new(VaultAccess::new(settings, Rounds::new(Instant::now()), metrics.clone()).unwrap());
        let transit = access.transit();
        let key = TransitKey::parse("https://evil.example:8200/v1/transit/keys/k").unwrap();
        let err = transit.decrypt(&key, "vault:v1:abc").unwrap_err();
        assert_eq!(err.kind(), ServiceErrorKind::Denied);
        assert!(err.message().contains("evil.example") && err.message().contains("http://127.0.0.1:1"), "{err}");
        assert!(!metrics.render().contains("result=\"error\"} 1"), "no request was made");
        assert!(transit.encrypt(&key, b"k").is_err() && transit.rewrap(&key, "vault:v1:abc").is_err());
    }
}
