//! When the Vault KV values of an object are read again: `spec.refreshInterval` (a Go
//! duration, [`gitseal_core::duration::parse_go_duration`]), its floor,
//! and the rounds that let every object due at about the same time share one read per path.
//!
//! Time is cut into rounds of each interval, counted from the controller's start: an object
//! refreshed every R is due at the start of each round of R, plus a jitter of up to a tenth
//! of R (at most 30 s) fixed per object, so that a thousand objects do not all write at the
//! same instant. A value read after a round started serves every object of that round: each
//! path is read once per round however many objects reference it.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The shortest `spec.refreshInterval` honoured unless `--min-refresh-interval` says
/// otherwise: a typo such as `1s` must not turn into a Vault read per second per object.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// The largest jitter added to an object's due time.
pub const MAX_JITTER: Duration = Duration::from_secs(30);
/// Values read this recently serve an object that has no refresh interval (a burst of
/// reconciles at start-up or after a change of keys shares its reads).
pub const SHARED_READ_WINDOW: Duration = Duration::from_secs(2);

/// The rounds of refresh intervals, counted from `epoch` (the controller's start).
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    epoch: Instant,
}

impl Rounds {
    /// Rounds counted from `epoch`.
    pub fn new(epoch: Instant) -> Self {
        Rounds { epoch }
    }

    /// When the round of `interval` that holds `now` started.
    pub fn round_start(&self, interval: Duration, now: Instant) -> Instant {
        let since = now.saturating_duration_since(self.epoch);
        let interval_nanos = interval.as_nanos().max(1);
        let rounds = since.as_nanos() / interval_nanos;
        self.epoch + Duration::from_nanos(u64::try_from(rounds * interval_nanos).unwrap_or(u64::MAX))
    }

    /// When an object refreshed every `interval` with identity `uid` is next due after `now`:
    /// the start of the next round plus its jitter.
    pub fn next_due(&self, interval: Duration, uid: &str, now: Instant) -> Instant {
        self.round_start(interval, now) + interval + jitter(interval, uid)
    }

    /// The oldest read a reconcile at `now` may reuse: one from the current round, or for
    /// an object without refresh, one of the last [`SHARED_READ_WINDOW`].
    pub fn not_before(&self, interval: Option<Duration>, now: Instant) -> Instant {
        match interval {
            Some(interval) => self.round_start(interval, now),
            None => now.checked_sub(SHARED_READ_WINDOW).unwrap_or(now),
        }
    }
}

/// A fixed offset per object in `[0, min(interval / 10, MAX_JITTER))`, from its uid.
pub fn jitter(interval: Duration, uid: &str) -> Duration {
    let span = (interval / 10).min(MAX_JITTER);
    let digest = Sha256::digest(uid.as_bytes());
    let fraction = f64::from(u16::from_le_bytes([digest[0], digest[1]])) / 65536.0;
    span.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_of_one_interval_share_rounds_and_are_spread_by_their_jitter() {
        let epoch = Instant::now();
        let rounds = Rounds::new(epoch);
        let r = Duration::from_secs(60);
        assert_eq!(rounds.round_start(r, epoch + Duration::from_secs(59)), epoch);
        assert_eq!(rounds.round_start(r, epoch + Duration::from_secs(61)), epoch + r);
        let (a, b) = (rounds.next_due(r, "uid-a", epoch + Duration::from_secs(5)), rounds.next_due(r, "uid-b", epoch + Duration::from_secs(40)));
        for due in [a, b] {
            assert!(due >= epoch + r && due < epoch + r + Duration::from_secs(6), "due within the jitter of the next round");
        }
        assert_ne!(a, b, "different objects, different jitter");
        assert_eq!(jitter(r, "uid-a"), jitter(r, "uid-a"), "an object's jitter is fixed");
        assert!(jitter(Duration::from_secs(3600), "x") < MAX_JITTER);
        // A reconcile at its due time reuses what the round read since its start.
        assert_eq!(rounds.not_before(Some(r), a), epoch + r);
        assert_eq!(rounds.not_before(None, epoch + Duration::from_secs(10)), epoch + Duration::from_secs(8));
    }
}
