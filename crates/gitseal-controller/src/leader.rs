//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas exactly
//! one reconciles. Every write carries the resourceVersion just read: two replicas racing
//! for the same Lease get a conflict and only one of them wins.
//!
//! A Lease held by another is taken over only after this replica has seen its record
//! unchanged for a whole lease duration on its own clock, as client-go does: the clocks of
//! the holder and of the API server do not matter.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::Error;

/// The Lease's default name.
pub const LEASE_NAME: &str = "gitseal-controller";
/// The default lease duration.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// The longest time between two renewals (and tries to acquire) of the Lease.
pub const RENEW_PERIOD: Duration = Duration::from_secs(5);

/// The period of renewals for a lease duration: every 5 s, or a third of a shorter duration.
pub fn renew_period(lease_duration: Duration) -> Duration {
    RENEW_PERIOD.min(lease_duration / 3).max(Duration::from_millis(100))
}

/// This replica's identity in the Lease: `$POD_NAME`, else the host name and process id.
pub fn identity(pod_name: Option<String>) -> String {
    if let Some(name) = pod_name.filter(|n| !n.trim().is_empty()) {
        return name;
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gitseal-controller".to_owned());
    format!("{host}_{}", std::process::id())
}

/// The Lease record as last seen, and when this replica saw it change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<String>,
    seen_at: Instant,
}

/// One replica's side of the election.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    observed: Option<Observed>,
}

impl LeaderElector {
    /// An elector for the Lease `name` in `api`'s namespace.
    pub fn new(api: Api<Lease>, name: String, identity: String, lease_duration: Duration) -> Self {
        LeaderElector { api, name, identity, lease_duration, observed: None }
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Takes the Lease when it is free, expired or already ours, and renews it; returns
    /// whether this replica holds it now. A conflict (another replica wrote first) is a `false`.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, Error> {
        let now = MicroTime(k8s_openapi::chrono::Utc::now());
        let seconds = i32::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return conflict_is_false(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let renew_time = spec.renew_time.as_ref().map(|t| t.0.to_rfc3339());
        let seen_at = match &self.observed {
            Some(o) if o.holder == holder && o.renew_time == renew_time => o.seen_at,
            _ => Instant::now(),
        };
        self.observed = Some(Observed { holder: holder.clone(), renew_time, seen_at });
        let ours = holder.as_deref() == Some(self.identity.as_str());
        // A released Lease carries no holder; one whose holder stopped renewing expires after its own duration.
        let held_for = spec.lease_duration_seconds.map_or(self.lease_duration, |s| Duration::from_secs(u64::try_from(s.max(1)).unwrap_or(1)));
        let expired = seen_at.elapsed() > held_for;
        if !ours && holder.is_some() && !expired {
            return Ok(false);
        }
        if !ours {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.holder_identity = Some(self.identity.clone());
        spec.lease_duration_seconds = Some(seconds);
        spec.renew_time = Some(now);
        conflict_is_false(self.api.replace(&self.name, &PostParams::default(), &lease).await)
    }

    /// Gives the Lease up when this replica holds it, by clearing its holder: another
    /// replica takes over at its next try instead of waiting for the lease to expire.
    pub async fn release(&mut self) -> Result<(), Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else { return Ok(()) };
        let Some(spec) = lease.spec.as_mut() else { return Ok(()) };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(k8s_openapi::chrono::Utc::now()));
        self.api.replace(&self.name, &PostParams::default(), &lease).await.map(|_| ())
    }
}

fn conflict_is_false(result: Result<Lease, Error>) -> Result<bool, Error> {
    match result {
        Ok(_) => Ok(true),
        Err(Error::Api(response)) if response.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_come_every_five_seconds_or_a_third_of_a_short_lease() {
        assert_eq!(renew_period(Duration::from_secs(15)), Duration::from_secs(5));
        assert_eq!(renew_period(Duration::from_secs(60)), Duration::from_secs(5));
        assert_eq!(renew_period(Duration::from_secs(3)), Duration::from_secs(1));
    }

    #[test]
    fn the_identity_is_the_pod_name_else_host_and_pid() {
        assert_eq!(identity(Some("gitseal-controller-7d9f-abc".into())), "gitseal-controller-7d9f-abc");
        let fallback = identity(Some(" ".into()));
        assert!(fallback.ends_with(&format!("_{}", std::process::id())), "{fallback}");
        assert!(fallback.len() > format!("_{}", std::process::id()).len(), "{fallback}");
    }
}
