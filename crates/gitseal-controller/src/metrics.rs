//! The controller's Prometheus metrics, kept in atomics and written out in the Prometheus
//! text exposition format on `/metrics`. Hand-written: a few counters, one gauge and two
//! histograms do not need a metrics library.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::status::Reason;

/// The upper bounds (seconds) of the duration histograms' buckets.
pub const DURATION_BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Why a reconcile failed, as the `reason` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// The object was refused, or opening it failed, for this status reason.
    Refused(Reason),
    /// A request to the API server failed.
    ApiError,
}

/// Every failure reason, in the order the metrics list them.
const FAILURE_REASONS: [FailureReason; 7] = [
    FailureReason::Refused(Reason::NoMatchingKey),
    FailureReason::Refused(Reason::MacMismatch),
    FailureReason::Refused(Reason::ScopeViolation),
    FailureReason::Refused(Reason::InvalidData),
    FailureReason::Refused(Reason::VaultError),
    FailureReason::Refused(Reason::SecretExists),
    FailureReason::ApiError,
];

impl FailureReason {
    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Refused(reason) => reason.as_str(),
            FailureReason::ApiError => "ApiError",
        }
    }

    fn index(self) -> Option<usize> {
        FAILURE_REASONS.iter().position(|r| *r == self)
    }
}

/// A call the controller makes to Vault, as the `operation` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultOperation {
    /// `transit/decrypt`: opening a Transit-wrapped data key.
    TransitDecrypt,
    /// A KV read for `<path:...>` references.
    KvRead,
}

const VAULT_OPERATIONS: [VaultOperation; 2] = [VaultOperation::TransitDecrypt, VaultOperation::KvRead];

impl VaultOperation {
    /// The `operation` label.
    pub fn as_str(self) -> &'static str {
        match self {
            VaultOperation::TransitDecrypt => "transit_decrypt",
            VaultOperation::KvRead => "kv_read",
        }
    }
}

/// A histogram of durations with the [`DURATION_BUCKETS`] bounds.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; DURATION_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = DURATION_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// How many observations were recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in DURATION_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// The controller's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    reconciles: AtomicU64,
    failures: [AtomicU64; FAILURE_REASONS.len()],
    decrypts: AtomicU64,
    managed_secrets: AtomicI64,
    /// Vault calls by operation, then success (index 0) or failure (1).
    vault_requests: [[AtomicU64; 2]; VAULT_OPERATIONS.len()],
    /// How long opening an object (verifying and decrypting) takes.
    pub decrypt_duration: Histogram,
    /// How long a whole reconcile takes.
    pub reconcile_duration: Histogram,
}

impl Metrics {
    /// Counts a finished reconcile and how long it took.
    pub fn reconciled(&self, elapsed: Duration) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        self.reconcile_duration.observe(elapsed);
    }

    /// Counts a failed reconcile.
    pub fn failed(&self, reason: FailureReason) {
        if let Some(i) = reason.index() {
            self.failures[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one decrypt and how long it took; returns the number of decrypts so far.
    pub fn decrypted(&self, elapsed: Duration) -> u64 {
        self.decrypt_duration.observe(elapsed);
        self.decrypts.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// How many objects were decrypted since the start.
    pub fn decrypts(&self) -> u64 {
        self.decrypts.load(Ordering::Relaxed)
    }

    /// How many failures of `reason` were counted.
    pub fn failures(&self, reason: FailureReason) -> u64 {
        reason.index().map_or(0, |i| self.failures[i].load(Ordering::Relaxed))
    }

    /// Changes the number of Secrets the controller keeps in place by `delta`.
    pub fn add_managed_secrets(&self, delta: i64) {
        self.managed_secrets.fetch_add(delta, Ordering::Relaxed);
    }

    /// Counts one Vault call (logins and retries inside it are not counted apart).
    pub fn vault_request(&self, operation: VaultOperation, ok: bool) {
        self.vault_requests[operation as usize][usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
    }

    /// How many Vault calls of `operation` were made, successful or not.
    pub fn vault_requests(&self, operation: VaultOperation) -> u64 {
        self.vault_requests[operation as usize].iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(&mut out, "gitseal_reconciles_total", "Reconciles of EncryptedSecrets finished, successful or not.", self.reconciles.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP gitseal_reconcile_errors_total Reconciles that failed, by reason.\n# TYPE gitseal_reconcile_errors_total counter");
        for (reason, value) in FAILURE_REASONS.iter().zip(&self.failures) {
            let _ = writeln!(out, "gitseal_reconcile_errors_total{{reason=\"{}\"}} {}", reason.as_str(), value.load(Ordering::Relaxed));
        }
        counter(&mut out, "gitseal_decrypts_total", "EncryptedSecrets verified and decrypted.", self.decrypts());
        let _ = writeln!(
            out,
            "# HELP gitseal_managed_secrets Secrets the controller applied and keeps in place.\n# TYPE gitseal_managed_secrets gauge\ngitseal_managed_secrets {}",
            self.managed_secrets.load(Ordering::Relaxed).max(0)
        );
        let _ = writeln!(out, "# HELP gitseal_vault_requests_total Calls to Vault, by operation and result.\n# TYPE gitseal_vault_requests_total counter");
        for operation in VAULT_OPERATIONS {
            for (i, result) in ["ok", "error"].iter().enumerate() {
                let value = self.vault_requests[operation as usize][i].load(Ordering::Relaxed);
                let _ = writeln!(out, "gitseal_vault_requests_total{{operation=\"{}\",result=\"{result}\"}} {value}", operation.as_str());
            }
        }
        self.decrypt_duration.write(&mut out, "gitseal_decrypt_duration_seconds", "Time to verify and decrypt one EncryptedSecret.");
        self.reconcile_duration.write(&mut out, "gitseal_reconcile_duration_seconds", "Time of one reconcile, API requests included.");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_count_every_observation() {
        let m = Metrics::default();
        m.decrypted(Duration::from_micros(500));
        m.decrypted(Duration::from_millis(30));
        m.decrypted(Duration::from_secs(60));
        let text = m.render();
        assert!(text.contains("gitseal_decrypt_duration_seconds_bucket{le=\"0.001\"} 1\n"), "{text}");
        assert!(text.contains("gitseal_decrypt_duration_seconds_bucket{le=\"0.05\"} 2\n"), "{text}");
        assert!(text.contains("gitseal_decrypt_duration_seconds_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("gitseal_decrypt_duration_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("gitseal_decrypt_duration_seconds_count 3\n"), "{text}");
        assert!(text.contains("gitseal_decrypts_total 3\n"), "{text}");
    }

    #[test]
    fn failures_are_counted_by_reason_and_every_reason_is_listed() {
        let m = Metrics::default();
        m.failed(FailureReason::Refused(Reason::MacMismatch));
        m.failed(FailureReason::Refused(Reason::MacMismatch));
        m.failed(FailureReason::ApiError);
        m.failed(FailureReason::Refused(Reason::Decrypted));
        let text = m.render();
        assert!(text.contains("gitseal_reconcile_errors_total{reason=\"MacMismatch\"} 2\n"), "{text}");
        assert!(text.contains("gitseal_reconcile_errors_total{reason=\"ApiError\"} 1\n"), "{text}");
        assert!(text.contains("gitseal_reconcile_errors_total{reason=\"NoMatchingKey\"} 0\n"), "{text}");
        assert!(!text.contains("reason=\"Decrypted\""), "{text}");
        assert_eq!(text.matches("# TYPE ").count(), 7);
    }

    #[test]
    fn vault_calls_are_counted_by_operation_and_result() {
        let m = Metrics::default();
        m.vault_request(VaultOperation::KvRead, true);
        m.vault_request(VaultOperation::KvRead, false);
        m.vault_request(VaultOperation::TransitDecrypt, true);
        let text = m.render();
        assert!(text.contains("gitseal_vault_requests_total{operation=\"kv_read\",result=\"ok\"} 1\n"), "{text}");
        assert!(text.contains("gitseal_vault_requests_total{operation=\"kv_read\",result=\"error\"} 1\n"), "{text}");
        assert!(text.contains("gitseal_vault_requests_total{operation=\"transit_decrypt\",result=\"error\"} 0\n"), "{text}");
        assert_eq!(m.vault_requests(VaultOperation::KvRead), 2);
    }

    #[test]
    fn the_managed_secrets_gauge_follows_additions_and_removals() {
        let m = Metrics::default();
        m.add_managed_secrets(2);
        m.add_managed_secrets(-1);
        assert!(m.render().contains("gitseal_managed_secrets 1\n"));
    }
}
