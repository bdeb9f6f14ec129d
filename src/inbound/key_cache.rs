//! Which key hashes this process has recently seen as active, so the hot path can skip
//! the lookup query. It never decides that a key may write: every INSERT joins the key
//! row and requires `revoked_at IS NULL` itself, so a revoke is honoured on the very
//! next request even while an entry is cached. The cache only orders error answers, and
//! error answers re-check the database before they are sent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::keys::secret::KeyHash;

const TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedKey {
    pub id: Uuid,
    pub domain_id: Uuid,
}

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<KeyHash, (CachedKey, Instant)>>,
}

impl KeyCache {
    pub fn get(&self, hash: &KeyHash) -> Option<CachedKey> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(hash).filter(|(_, at)| at.elapsed() < TTL).map(|(key, _)| *key)
    }

    pub fn insert(&self, hash: KeyHash, key: CachedKey) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash, (key, Instant::now()));
    }

    pub fn forget(&self, hash: &KeyHash) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(hash);
    }
}
