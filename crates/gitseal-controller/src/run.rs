//! Running the controller: the keys watch, one kube-runtime `Controller` per watched scope
//! (all namespaces, or each `--namespace`), the probes and metrics, leader election with
//! `--leader-elect`, and a graceful shutdown on SIGTERM or SIGINT.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::{unbounded, UnboundedSender};
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Error as ControllerError;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::{Controller, WatchStreamExt};
use kube::Client;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::cluster_keys::{self, Generated};
use crate::keys::{load_from_secret, KeyState};
use crate::leader::{self, LeaderElector};
use crate::options::RunOptions;
use crate::probes::{self, Readiness};
use crate::reconcile::{error_policy, reconcile, Context};
use crate::resource::EncryptedSecret;
use crate::secret::{zeroize_secret, MANAGED_LABEL};
use crate::vault::{self, VaultAccess, VaultSettings};

/// How long the controllers wait for the first read of the keys Secret before starting
/// anyway (objects then fail with `NoMatchingKey` until the keys arrive).
pub const KEYS_SYNC_WAIT: Duration = Duration::from_secs(30);

/// Why the controller could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No API server configuration (in-cluster or kubeconfig).
    #[error("cannot configure the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// The probe or metrics address cannot be listened on.
    #[error("cannot listen on the {what} address {addr}: {source}")]
    Listen {
        /// Which server: probe or metrics.
        what: &'static str,
        /// The address given.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The Vault settings cannot be used, or the `--vault-config` ConfigMap cannot be read.
    #[error("{0}")]
    Vault(String),
    /// The Lease could not be renewed in time, or another replica holds it now: this
    /// replica stopped reconciling and exits, to start again as a standby.
    #[error("lost the Lease {namespace}/{name}: another replica may be reconciling now")]
    LeadershipLost {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
    },
}

/// A future every part waits on to stop, cloneable.
type Stop = Shared<BoxFuture<'static, ()>>;

/// Runs the controller until `shutdown` completes; in-flight reconciles finish first.
pub async fn run(options: RunOptions, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), RunError> {
    let client = Client::try_default().await.map_err(RunError::Client)?;
    let probe_listener = bind("probe", options.probe_addr).await?;
    let metrics_listener = bind("metrics", options.metrics_addr).await?;
    let keys_secret = format!("{}/{}", options.controller_namespace, options.keys_secret);
    let reporter = Reporter { controller: "gitseal-controller".into(), instance: std::env::var("POD_NAME").ok() };
    let ctx = Context::new(client.clone(), Recorder::new(client.clone(), reporter), KeyState::missing(&keys_secret))
        .with_min_refresh_interval(options.min_refresh_interval);
    let ctx = Arc::new(match vault_settings(&options, &client).await? {
        Some(settings) => {
            info!(vault_addr = settings.config.addr.as_deref().unwrap_or_default(), auth = settings.auth_method(), kv_prefixes = ?settings.prefixes.as_slice(), "Vault configured");
            let access = VaultAccess::new(settings, ctx.rounds(), ctx.metrics()).map_err(|e| RunError::Vault(e.to_string()))?;
            ctx.with_vault(Arc::new(access))
        }
        None => ctx,
    });
    let readiness = Readiness::default();
    // The addresses actually listened on (a port 0 given is resolved here).
    let local = |l: &TcpListener, given: std::net::SocketAddr| l.local_addr().map_or(given.to_string(), |a| a.to_string());
    info!(
        probe_addr = local(&probe_listener, options.probe_addr),
        metrics_addr = local(&metrics_listener, options.metrics_addr),
        namespaces = ?options.namespaces,
        selector = ?options.selector,
        "starting"
    );
    let probe_task = tokio::spawn(probes::serve(probe_listener, readiness.clone(), None));
    let metrics_task = tokio::spawn(probes::serve(metrics_listener, readiness.clone(), Some(ctx.metrics())));
    let shutdown: Stop = shutdown.boxed().shared();
    let result = match options.leader_elect {
        true => lead(&options, &client, &ctx, &readiness, shutdown).await,
        false => {
            reconcile_until(&options, &client, &ctx, &readiness, shutdown).await;
            Ok(())
        }
    };
    readiness.set(false);
    probe_task.abort();
    metrics_task.abort();
    info!(decrypts = ctx.decrypts(), "stopped");
    result
}

/// Waits for the Lease, then reconciles while renewing it; on shutdown releases it.
async fn lead(options: &RunOptions, client: &Client, ctx: &Arc<Context>, readiness: &Readiness, shutdown: Stop) -> Result<(), RunError> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &options.controller_namespace);
    let elector = LeaderElector::new(api, options.lease_name.clone(), leader::identity(std::env::var("POD_NAME").ok()), options.lease_duration);
    let identity = elector.identity().to_owned();
    let elector = Arc::new(tokio::sync::Mutex::new(elector));
    let period = leader::renew_period(options.lease_duration);
    // A standby is healthy and ready: it takes over as soon as the leader goes.
    readiness.set(true);
    info!(identity, lease = options.lease_name, lease_duration_s = options.lease_duration.as_secs(), "waiting for the Lease");
    loop {
        match elector.lock().await.try_acquire_or_renew().await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => warn!(identity, error = %e, "cannot read or write the Lease"),
        }
        tokio::select! {
            _ = shutdown.clone() => return Ok(()),
            _ = tokio::time::sleep(period) => {}
        }
    }
    info!(identity, lease = options.lease_name, "leading");

    let lost = Arc::new(AtomicBool::new(false));
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    // Stop reconciling a renewal period before the others may take over.
    let renew_deadline = options.lease_duration.saturating_sub(period);
    let renewals = tokio::spawn({
        let (elector, lost, identity) = (elector.clone(), lost.clone(), identity.clone());
        async move {
            let mut renewed_at = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(period).await;
                match elector.lock().await.try_acquire_or_renew().await {
                    Ok(true) => renewed_at = tokio::time::Instant::now(),
                    Ok(false) => break,
                    Err(e) => warn!(identity, error = %e, "cannot renew the Lease"),
                }
                if renewed_at.elapsed() > renew_deadline {
                    break;
                }
            }
            lost.store(true, Ordering::SeqCst);
            let _ = lost_tx.send(());
        }
    });
    let stop: Stop = futures::future::select(shutdown, lost_rx).map(|_| ()).boxed().shared();
    reconcile_until(options, client, ctx, readiness, stop).await;
    renewals.abort();
    let _ = renewals.await;
    if lost.load(Ordering::SeqCst) {
        return Err(RunError::LeadershipLost { namespace: options.controller_namespace.clone(), name: options.lease_name.clone() });
    }
    match elector.lock().await.release().await {
        Ok(()) => info!(identity, lease = options.lease_name, "released the Lease"),
        Err(e) => warn!(identity, error = %e, "cannot release the Lease; it expires after its duration"),
    }
    Ok(())
}

/// Watches the keys and reconciles every scope until `shutdown` completes.
async fn reconcile_until(options: &RunOptions, client: &Client, ctx: &Arc<Context>, readiness: &Readiness, shutdown: Stop) {
    let keys_secret = format!("{}/{}", options.controller_namespace, options.keys_secret);
    let scopes: Vec<Option<String>> = if options.namespaces.is_empty() { vec![None] } else { options.namespaces.iter().cloned().map(Some).collect() };
    let (triggers, trigger_streams): (Vec<_>, Vec<_>) = scopes.iter().map(|_| unbounded::<()>()).unzip();
    let (synced_tx, synced_rx) = tokio::sync::oneshot::channel();
    let keys_api: Api<Secret> = Api::namespaced(client.clone(), &options.controller_namespace);
    if options.generate_key {
        match cluster_keys::ensure_identity(&keys_api, &options.keys_secret).await {
            Ok(Generated::Existing) => info!(keys_secret, "the keys Secret has an identity; none generated"),
            Ok(Generated::Created(recipient)) => info!(keys_secret, recipient, "generated a new age identity in the keys Secret"),
            Err(e) => warn!(keys_secret, error = %e, "cannot create an identity in the keys Secret"),
        }
    }
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &options.controller_namespace);
    let keys_task = tokio::spawn(watch_keys(keys_api, configmaps, options.keys_secret.clone(), keys_secret.clone(), ctx.clone(), triggers, synced_tx));
    tokio::select! {
        _ = synced_rx => {}
        _ = tokio::time::sleep(KEYS_SYNC_WAIT) => warn!(keys_secret, "the keys Secret could not be read yet; starting without keys"),
        _ = shutdown.clone() => {}
    }

    let controllers = scopes.into_iter().zip(trigger_streams).map(|(scope, keys_changed)| {
        let (objects, owned): (Api<EncryptedSecret>, Api<PartialObjectMeta<Secret>>) = match &scope {
            None => (Api::all(client.clone()), Api::all(client.clone())),
            Some(ns) => (Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns)),
        };
        let mut config = watcher::Config::default();
        if let Some(selector) = &options.selector {
            config = config.labels(selector);
        }
        let ctx = ctx.clone();
        Controller::new(objects, config)
            // Only the Secrets the controller made, and only their metadata: memory does not grow with the cluster's Secrets, and no values are held.
            .owns(owned, watcher::Config::default().labels(MANAGED_LABEL))
            .reconcile_all_on(keys_changed)
            .graceful_shutdown_on(shutdown.clone())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(move |result| {
                match result {
                    Ok((object, action)) => debug!(object = %object, ?action, "reconciled"),
                    Err(ControllerError::ObjectNotFound(object)) => {
                        ctx.forget(&(object.namespace.clone().unwrap_or_default(), object.name.clone()));
                        debug!(object = %object, "deleted");
                    }
                    Err(ControllerError::ReconcilerFailed(_, _)) => {}
                    Err(e) => warn!(error = %e, source = ?std::error::Error::source(&e).map(ToString::to_string), "watch failed"),
                }
                futures::future::ready(())
            })
    });
    let all = futures::future::join_all(controllers);
    readiness.set(true);
    info!("ready");
    all.await;
    keys_task.abort();
}

/// The Vault settings from the flags, the environment and the `--vault-config` ConfigMap.
async fn vault_settings(options: &RunOptions, client: &Client) -> Result<Option<VaultSettings>, RunError> {
    let configmap = match &options.vault_config {
        None => Default::default(),
        Some(name) => {
            let label = format!("{}/{name}", options.controller_namespace);
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), &options.controller_namespace);
            let found = api.get_opt(name).await.map_err(|e| RunError::Vault(format!("cannot read the Vault settings ConfigMap {label}: {e}")))?;
            let found = found.ok_or_else(|| RunError::Vault(format!("the Vault settings ConfigMap {label} (--vault-config) does not exist")))?;
            vault::configmap_settings(&label, found.data.unwrap_or_default()).map_err(|e| RunError::Vault(e.to_string()))?
        }
    };
    vault::resolve_settings(&options.vault_flags, |name| std::env::var(name).ok(), &configmap).map_err(|e| RunError::Vault(e.to_string()))
}

async fn bind(what: &'static str, addr: std::net::SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr).await.map_err(|source| RunError::Listen { what, addr, source })
}

/// Watches the keys Secret; on every change of its usable keys, swaps the identities in,
/// re-queues every object (those that failed for lack of a key become Ready) and publishes
/// the public recipients in the ConfigMap `gitseal-recipients`.
async fn watch_keys(
    api: Api<Secret>,
    configmaps: Api<ConfigMap>,
    name: String,
    label: String,
    ctx: Arc<Context>,
    triggers: Vec<UnboundedSender<()>>,
    synced: tokio::sync::oneshot::Sender<()>,
) {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut synced = Some(synced);
    let mut seen_since_init = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => seen_since_init = false,
            Ok(Event::InitApply(secret) | Event::Apply(secret)) => {
                seen_since_init = true;
                if let Some(recipients) = update_keys(&ctx, &label, Some(secret), &triggers) {
                    publish_recipients(&configmaps, &label, &recipients).await;
                }
            }
            Ok(Event::Delete(_)) => {
                update_keys(&ctx, &label, None, &triggers);
            }
            Ok(Event::InitDone) => {
                if !seen_since_init {
                    update_keys(&ctx, &label, None, &triggers);
                }
                // The ConfigMap may have been edited or deleted while no replica was leading.
                if let Some(recipients) = ctx.recipients() {
                    publish_recipients(&configmaps, &label, &recipients).await;
                }
                if let Some(tx) = synced.take() {
                    let _ = tx.send(());
                }
            }
            Err(e) => warn!(keys_secret = label, error = %e, "cannot watch the keys Secret"),
        }
    }
}

/// Publishes `recipients` (none are published while the keys Secret holds no identity).
async fn publish_recipients(configmaps: &Api<ConfigMap>, label: &str, recipients: &[String]) {
    if recipients.is_empty() {
        return;
    }
    match cluster_keys::publish(configmaps, recipients).await {
        Ok(()) => info!(keys_secret = label, configmap = cluster_keys::RECIPIENTS_CONFIGMAP, recipients = recipients.len(), "recipients published"),
        Err(e) => warn!(keys_secret = label, configmap = cluster_keys::RECIPIENTS_CONFIGMAP, error = %e, "cannot publish the recipients"),
    }
}

/// Loads the keys from `secret`; returns the recipients when the usable keys changed.
fn update_keys(ctx: &Context, label: &str, secret: Option<Secret>, triggers: &[UnboundedSender<()>]) -> Option<Vec<String>> {
    let loaded = secret.map(|mut s| {
        let mut data = s.data.take().unwrap_or_default();
        let loaded = load_from_secret(label, &mut data);
        zeroize_secret(&mut s);
        loaded
    });
    if let Some(l) = &loaded {
        for problem in &l.problems {
            warn!(keys_secret = label, problem, "keys Secret entry skipped");
        }
    }
    let recipients = loaded.as_ref().map(|l| l.recipients.clone()).unwrap_or_default();
    let next = ctx.keys().updated(loaded)?;
    match next.present() {
        true => info!(keys_secret = label, identities = next.identities.len(), keys_version = next.version, "keys loaded"),
        false => warn!(keys_secret = label, keys_version = next.version, "the keys Secret does not exist; nothing can be decrypted"),
    }
    ctx.set_keys(next);
    for trigger in triggers {
        let _ = trigger.unbounded_send(());
    }
    ctx.set_recipients(recipients.clone());
    Some(recipients)
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => info!(signal = "SIGINT", "shutting down"),
            _ = term.recv() => info!(signal = "SIGTERM", "shutting down"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
