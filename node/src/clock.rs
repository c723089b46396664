//! The wall clock: the one place the node reads the time of day. Owns `now_ms`; does not own
//! monotonic time (`Instant`, for timeouts) nor the leader's stamping of log entries (the
//! proposer stamps each batch with a value read here, made monotonic per leader).

/// Milliseconds since the Unix epoch (0 if the system clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
