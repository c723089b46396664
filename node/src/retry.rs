//! Retry pacing: exponential backoff with jitter and an optional deadline. Owns only the delays;
//! what to retry, and when to give up early, stays with the caller (leader forwarding, the NATS
//! consumers, FCM sends). Jitter spreads the retries of many callers that failed at the same
//! moment (a leader change, a NATS restart) instead of having them all retry in step.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// Delays `first`, `2·first`, `4·first`, … capped at `max`, each drawn uniformly from its
/// upper half (`[d/2, d]`), until `deadline` (if any) would be passed.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    attempt: u32,
    deadline: Option<Instant>,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            attempt: 0,
            deadline: None,
        }
    }

    /// Gives up once `within` has passed from now.
    pub fn with_deadline(mut self, within: Duration) -> Self {
        self.deadline = Some(Instant::now() + within);
        self
    }

    /// Continues as if `attempts` delays had been taken already.
    pub fn after_attempts(mut self, attempts: usize) -> Self {
        self.attempt = attempts.min(u32::MAX as usize) as u32;
        self
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The time left before the deadline (`None` without one).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The next delay, or `None` when the deadline has passed (the delay is cut to end at it).
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.expired() {
            return None;
        }
        let full = self
            .first
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.max);
        self.attempt += 1;
        let half = full / 2;
        let jittered = half + rand::thread_rng().gen_range(Duration::ZERO..=full - half);
        Some(match self.remaining() {
            Some(left) => jittered.min(left),
            None => jittered,
        })
    }

    /// Sleeps the next delay; `false` (without sleeping) when the deadline has passed.
    pub async fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }

    /// Starts again from the first delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_in_their_upper_half_and_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for full in [100, 200, 400, 800, 1000, 1000] {
            let d = b.next_delay().expect("no deadline").as_millis() as u64;
            assert!(
                (full / 2..=full).contains(&d),
                "{d} ms for a {full} ms step"
            );
        }
        b.reset();
        assert!(b.next_delay().expect("no deadline") <= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_deadline_ends_the_retries() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(100))
            .with_deadline(Duration::from_millis(25));
        let mut waits = 0;
        while b.wait().await {
            waits += 1;
        }
        assert!(b.expired());
        assert!((1..=4).contains(&waits), "{waits} waits");
    }
}
