//! Per-key token buckets, so one runaway integration cannot flood a domain.
//! In memory, per process: with several instances each enforces the limit on its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use uuid::Uuid;

/// `CC_RATE_LIMIT`, e.g. `200/s, burst 1000`: a sustained rate and a burst size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    pub per_second: f64,
    pub burst: u32,
}

impl Default for RateLimitConfig {
    /// Generous: far above what one integration sends in normal use, and above what
    /// the benchmark's single key sends, so only a runaway loop is ever stopped.
    fn default() -> Self {
        Self { per_second: 200_000.0, burst: 400_000 }
    }
}

impl RateLimitConfig {
    /// Parses `N/s`, `N/m` or `N/h`, optionally followed by `, burst M`
    /// (the burst defaults to one second's worth, at least 1).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (rate, burst) = match raw.split_once(',') {
            Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
            None => (raw, None),
        };
        let (count, unit) = rate.split_once('/').ok_or("expected a rate such as 200/s")?;
        let count: f64 = count.trim().parse::<u32>().map_err(|_| format!("{count:?} is not a whole number"))?.into();
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            other => return Err(format!("unknown unit {other:?}; use /s, /m or /h")),
        };
        let per_second = count / seconds;
        if per_second <= 0.0 {
            return Err("the rate must be above zero".into());
        }
        let burst = match burst {
            Some(text) => {
                let number = text.strip_prefix("burst").ok_or("expected `, burst N` after the rate")?.trim();
                number.parse::<u32>().map_err(|_| format!("{number:?} is not a whole number"))?
            }
            None => (per_second.ceil() as u32).max(1),
        };
        if burst == 0 {
            return Err("the burst must be at least 1".into());
        }
        Ok(Self { per_second, burst })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
    /// Seconds until the next request would pass (when refused).
    pub retry_after_seconds: u64,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        Self { config, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes `cost` tokens from the key's bucket if it has them.
    pub fn check(&self, key_id: Uuid, cost: u32) -> Decision {
        self.check_at(key_id, cost, Instant::now())
    }

    fn check_at(&self, key_id: Uuid, cost: u32, now: Instant) -> Decision {
        let RateLimitConfig { per_second, burst } = self.config;
        let capacity = f64::from(burst);
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() > 100_000 {
            // Forget keys whose buckets have refilled: they behave exactly like new ones.
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(key_id).or_insert(Bucket { tokens: capacity, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        let cost = f64::from(cost.min(burst));
        let allowed = bucket.tokens >= cost;
        if allowed {
            bucket.tokens -= cost;
        }
        let missing_for_next = (cost - bucket.tokens).max(0.0);
        Decision {
            allowed,
            limit: burst,
            remaining: bucket.tokens.floor() as u32,
            reset_seconds: ((capacity - bucket.tokens) / per_second).ceil() as u64,
            retry_after_seconds: if allowed { 0 } else { (missing_for_next / per_second).ceil().max(1.0) as u64 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            RateLimitConfig::parse("200/s, burst 1000").unwrap(),
            RateLimitConfig { per_second: 200.0, burst: 1000 }
        );
        assert_eq!(RateLimitConfig::parse("60/m").unwrap(), RateLimitConfig { per_second: 1.0, burst: 1 });
        assert_eq!(RateLimitConfig::parse(" 10/s ").unwrap().burst, 10);
        for bad in ["", "fast", "10", "0/s", "10/d", "10/s, 5", "10/s, burst 0", "-1/s"] {
            assert!(RateLimitConfig::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(RateLimitConfig { per_second: 2.0, burst: 3 });
        let key = Uuid::new_v4();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(key, 1, start).allowed);
        }
        let refused = limiter.check_at(key, 1, start);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after_seconds, 1);
        assert_eq!(refused.reset_seconds, 2);
        assert!(limiter.check_at(key, 1, start + Duration::from_millis(600)).allowed);
        // Another key has its own bucket.
        assert!(limiter.check_at(Uuid::new_v4(), 1, start).allowed);
    }
}
