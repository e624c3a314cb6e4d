//! A page's figures kept between requests for as long as nothing they show has changed.
//!
//! Every change to Quorum's records appends to the audit chain in the change's own
//! transaction, and writers queue on the chain head's row lock: the head's position
//! (`audit_chain_head.seq`) is therefore a version of all the records, and a higher one
//! never commits before a lower one. The session's statement reads it along with the session
//! ([`DataVersion`]). Figures loaded by a request that saw version V are kept for the
//! requests that see V too; all are dropped when a request sees a newer version, or on a new
//! day (what is overdue depends on the date). Loaded after V was read, kept figures are never
//! older than V, so nobody is shown records older than what their own session saw: a change
//! someone just made, committed before its redirect, moved the version their next page sees.
//!
//! Only pages whose every figure comes from audited records use it (not sessions, sign-in
//! throttles, notices dismissed or the e-mail outbox), keyed by who is looking when what
//! they see depends on it.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use time::Date;

use super::{AppError, AppResult, AppState};
use crate::common::dates::today;

/// The position of the audit chain's head when this request's session was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DataVersion(pub i64);

/// At most this many pages' figures are kept: a few kilobytes each, at most some tens (a
/// page of the trail, a risk with 200 actions), so tens of megabytes at worst. Past it,
/// figures are loaded for the request and not kept until the next change empties the cache.
const MAX_ENTRIES: usize = 1_000;

/// Which figures: the page, whose view of it (0 when everyone who may open the page sees
/// the same), and the page's own parameters (filters, page position).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FiguresKey {
    page: &'static str,
    viewer: i64,
    params: String,
}

impl FiguresKey {
    /// Figures everyone who may open the page sees alike.
    pub fn shared(page: &'static str) -> Self {
        Self {
            page,
            viewer: 0,
            params: String::new(),
        }
    }

    /// Figures of one person's own view (what waits for their vote, their projects).
    pub fn personal(page: &'static str, user_id: i64) -> Self {
        Self {
            viewer: user_id,
            ..Self::shared(page)
        }
    }

    /// The same page with other parameters: anything that changes what it loads.
    pub fn with(mut self, params: impl std::fmt::Display) -> Self {
        self.params = params.to_string();
        self
    }
}

type Figures = Arc<dyn Any + Send + Sync>;

struct Kept {
    version: DataVersion,
    day: Date,
    entries: HashMap<FiguresKey, Figures>,
}

/// The figures kept for the current version; shared by all requests (in `AppState`).
pub struct ReadCache {
    kept: Mutex<Kept>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self {
            kept: Mutex::new(Kept {
                version: DataVersion(i64::MIN),
                day: today(),
                entries: HashMap::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }
}

impl ReadCache {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Never held across an await; a panic while holding it leaves plain data behind.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get<T: Send + Sync + 'static>(
        &self,
        version: DataVersion,
        day: Date,
        key: &FiguresKey,
    ) -> Option<Arc<T>> {
        let kept = self.kept();
        if kept.version != version || kept.day != day {
            return None;
        }
        kept.entries
            .get(key)
            .and_then(|figures| Arc::clone(figures).downcast::<T>().ok())
    }

    fn keep(&self, version: DataVersion, day: Date, key: FiguresKey, figures: Figures) {
        let mut kept = self.kept();
        let newer = version >= kept.version && day >= kept.day;
        let mut outdated = HashMap::new();
        if newer && (version, day) != (kept.version, kept.day) {
            kept.version = version;
            kept.day = day;
            outdated = std::mem::take(&mut kept.entries);
        }
        // Figures of an older version or day than the cache's (a slow request) are not kept.
        if newer && kept.entries.len() < MAX_ENTRIES {
            kept.entries.insert(key, figures);
        }
        drop(kept);
        // The outdated figures are freed after the lock is let go: other requests need not
        // wait for that.
        drop(outdated);
    }

    /// How many loads were answered from the cache and how many read the database.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// A handler's access to the cache at the version its request saw. Without a signed-in
/// session (no version read), or with `--no-read-cache`, every load reads the database.
pub struct PageFigures {
    cache: Arc<ReadCache>,
    version: Option<DataVersion>,
}

impl FromRequestParts<AppState> for PageFigures {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let version = parts.extensions.get::<DataVersion>().copied();
        Ok(Self {
            cache: Arc::clone(&state.read_cache),
            version: version.filter(|_| !state.config.no_read_cache),
        })
    }
}

impl PageFigures {
    /// Loads that always read the database (a refused form's page is read afresh).
    pub fn uncached(state: &AppState) -> Self {
        Self {
            cache: Arc::clone(&state.read_cache),
            version: None,
        }
    }

    /// The figures `key` names, kept ones if nothing changed since they were loaded,
    /// otherwise what `load` reads (then kept for the next requests).
    pub async fn load<T, F>(&self, key: FiguresKey, load: F) -> AppResult<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: Future<Output = AppResult<T>>,
    {
        let Some(version) = self.version else {
            return Ok(Arc::new(load.await?));
        };
        let day = today();
        if let Some(kept) = self.cache.get::<T>(version, day, &key) {
            self.cache.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(kept);
        }
        self.cache.misses.fetch_add(1, Ordering::Relaxed);
        let figures = Arc::new(load.await?);
        self.cache.keep(version, day, key, figures.clone());
        Ok(figures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u8) -> Date {
        Date::from_calendar_date(2026, time::Month::December, n).unwrap()
    }

    #[test]
    fn figures_are_kept_for_their_version_and_day_only() {
        let cache = ReadCache::default();
        let key = FiguresKey::personal("home", 7);
        cache.keep(DataVersion(5), day(1), key.clone(), Arc::new(41_u32));
        assert_eq!(
            cache.get::<u32>(DataVersion(5), day(1), &key).as_deref(),
            Some(&41)
        );
        // Another viewer, other parameters, another type: not these figures.
        assert!(
            cache
                .get::<u32>(DataVersion(5), day(1), &FiguresKey::personal("home", 8))
                .is_none()
        );
        assert!(
            cache
                .get::<u32>(DataVersion(5), day(1), &key.clone().with("page=2"))
                .is_none()
        );
        assert!(cache.get::<String>(DataVersion(5), day(1), &key).is_none());
        // A newer version or a new day: nothing kept answers.
        assert!(cache.get::<u32>(DataVersion(6), day(1), &key).is_none());
        assert!(cache.get::<u32>(DataVersion(5), day(2), &key).is_none());
    }

    #[test]
    fn no_more_than_the_limit_is_kept() {
        let cache = ReadCache::default();
        for page in 0..MAX_ENTRIES + 5 {
            let key = FiguresKey::shared("list").with(page);
            cache.keep(DataVersion(1), day(1), key, Arc::new(page));
        }
        assert_eq!(cache.kept().entries.len(), MAX_ENTRIES);
        let last = FiguresKey::shared("list").with(MAX_ENTRIES + 4);
        assert!(cache.get::<usize>(DataVersion(1), day(1), &last).is_none());
    }

    #[test]
    fn a_newer_version_drops_everything_and_an_older_one_is_not_kept() {
        let cache = ReadCache::default();
        let key = FiguresKey::shared("portfolio");
        cache.keep(DataVersion(5), day(1), key.clone(), Arc::new(1_u32));
        cache.keep(
            DataVersion(6),
            day(1),
            FiguresKey::shared("other"),
            Arc::new(2_u32),
        );
        assert!(cache.get::<u32>(DataVersion(5), day(1), &key).is_none());
        assert_eq!(cache.kept().entries.len(), 1);
        // A slow request that saw version 5 finishes late: its figures are not kept.
        cache.keep(DataVersion(5), day(1), key.clone(), Arc::new(3_u32));
        assert!(cache.get::<u32>(DataVersion(6), day(1), &key).is_none());
        // The next day empties the cache even if nothing changed.
        cache.keep(DataVersion(6), day(2), key.clone(), Arc::new(4_u32));
        assert_eq!(cache.kept().entries.len(), 1);
    }
}
