//! The one way a write tells serving that what it caches has changed.
//!
//! Features announce a [`Change`] after their commit; the caches that hold what changed
//! (the person and catalog views of the model subsystem, the active model, the tenant's
//! settings, verified API keys) subscribe when they are built. A feature never names
//! the caches it affects, so a new cache, or another replica, can listen without
//! touching the writers.
//!
//! Other replicas hear of a change through a [`ChangeTransport`] (PostgreSQL
//! `LISTEN/NOTIFY`, `change_relay`): every announcement is also published, and what the
//! transport receives from other processes is applied here without being published
//! again. A transport that may have missed messages (its connection dropped) asks for a
//! full flush of every cache.
//!
//! Announcing is synchronous on purpose: a request future dropped right after its
//! commit cannot skip the invalidation that follows it (see `fresh_cache`).

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use tenants::TenantCtx;

use crate::vocab::UserId;

/// What changed, within one tenant. Serialisable: replicas send it to each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Items were deleted: they must leave answers at once. (Other catalog changes
    /// reach serving within the caches' time to live, so a bulk import does not rebuild
    /// the catalog view once per batch.)
    ItemsDeleted,
    /// These people's events, consent, profile or existence changed.
    People(Vec<UserId>),
    /// Many people's events changed at once (a retention purge).
    Everyone,
    /// The tenant's settings changed.
    Settings,
    /// Another model became the tenant's active one (deploy, rollback, a retrained
    /// replacement).
    ActiveModel,
    /// These models' files were rewritten or deleted (an erasure's scrub, retirement):
    /// a copy loaded from the old files must be dropped. Registry rows.
    ModelFiles(Vec<i64>),
    /// These API keys were revoked (by the hash of their secret, as the verification
    /// cache knows them): they stop working at once.
    KeysRevoked(Vec<String>),
    /// Embeddings of items were written (the content worker finished a batch).
    Embeddings,
}

/// Something that keeps a copy of tenant data and must drop it when it changes.
pub trait ChangeListener: Send + Sync {
    fn changed(&self, tenant_id: i64, change: &Change);
    /// Changes may have been missed (another replica's messages were lost): drop
    /// everything of every tenant.
    fn forget_everything(&self);
}

/// Carries this process's announcements to the other replicas.
pub trait ChangeTransport: Send + Sync {
    /// Must not block: called on the request path after a commit.
    fn publish(&self, origin: &str, tenant_id: i64, change: &Change);
}

/// Owned by `Services`; cheap to clone (clones share their listeners and transport).
#[derive(Clone)]
pub struct ServingCache {
    listeners: Arc<RwLock<Vec<Arc<dyn ChangeListener>>>>,
    transport: Arc<OnceLock<Arc<dyn ChangeTransport>>>,
    /// This process, as the sender of what it publishes: a transport hears its own
    /// messages too and drops them by this.
    origin: Arc<str>,
}

impl Default for ServingCache {
    fn default() -> Self {
        Self {
            listeners: Arc::default(),
            transport: Arc::default(),
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }
}

impl ServingCache {
    /// Called once per cache, when the component that owns the cache is built.
    pub fn subscribe(&self, listener: Arc<dyn ChangeListener>) {
        // Listeners are only ever appended: a panic elsewhere leaves the list whole.
        self.listeners.write().unwrap_or_else(PoisonError::into_inner).push(listener);
    }

    /// Sets where announcements go besides this process's caches; the first call wins.
    pub fn set_transport(&self, transport: Arc<dyn ChangeTransport>) -> bool {
        self.transport.set(transport).is_ok()
    }

    /// The id of this process in what it publishes.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// After a committed write: every listener drops what `change` made stale, here and
    /// (through the transport) in the other replicas.
    pub fn announce(&self, ctx: &TenantCtx, change: Change) {
        let tenant_id = ctx.tenant_id().get();
        self.apply(tenant_id, &change);
        if let Some(transport) = self.transport.get() {
            transport.publish(&self.origin, tenant_id, &change);
        }
    }

    /// A change another replica announced: applied here only.
    pub fn receive(&self, origin: &str, tenant_id: i64, change: &Change) {
        if origin != &*self.origin {
            self.apply(tenant_id, change);
        }
    }

    /// Every cache of every tenant drops everything (after messages may have been lost).
    pub fn forget_everything(&self) {
        for listener in self.listeners.read().unwrap_or_else(PoisonError::into_inner).iter() {
            listener.forget_everything();
        }
    }

    fn apply(&self, tenant_id: i64, change: &Change) {
        for listener in self.listeners.read().unwrap_or_else(PoisonError::into_inner).iter() {
            listener.changed(tenant_id, change);
        }
    }
}

impl std::fmt::Debug for ServingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let listeners = self.listeners.read().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("ServingCache")
            .field("listeners", &listeners)
            .field("transport", &self.transport.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(i64, Change)>>);

    impl ChangeListener for Recorder {
        fn changed(&self, tenant_id: i64, change: &Change) {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push((tenant_id, change.clone()));
        }
        fn forget_everything(&self) {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push((0, Change::Everyone));
        }
    }

    #[derive(Default)]
    struct Sent(Mutex<Vec<(String, i64, Change)>>);

    impl ChangeTransport for Sent {
        fn publish(&self, origin: &str, tenant_id: i64, change: &Change) {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push((origin.to_owned(), tenant_id, change.clone()));
        }
    }

    #[test]
    fn announcements_are_published_and_only_others_received() {
        let cache = ServingCache::default();
        let heard = Arc::new(Recorder::default());
        cache.subscribe(heard.clone());
        let sent = Arc::new(Sent::default());
        assert!(cache.set_transport(sent.clone()));
        let ctx = TenantCtx::operator(tenants::ids::TenantId::from_db(3), tenants::RequestId::new());
        cache.announce(&ctx, Change::KeysRevoked(vec!["abc".into()]));
        let published = sent.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(published, vec![(cache.origin().to_owned(), 3, Change::KeysRevoked(vec!["abc".into()]))]);
        // Its own message coming back is dropped; another replica's is applied, not re-sent.
        cache.receive(&published[0].0, 3, &published[0].2);
        cache.receive("another", 4, &Change::ActiveModel);
        cache.forget_everything();
        let heard = heard.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(
            heard,
            vec![(3, Change::KeysRevoked(vec!["abc".into()])), (4, Change::ActiveModel), (0, Change::Everyone)]
        );
        assert_eq!(sent.0.lock().unwrap_or_else(PoisonError::into_inner).len(), 1);
        let json = serde_json::to_string(&Change::People(vec![UserId::parse("u1").unwrap()])).unwrap();
        assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), Change::People(vec![UserId::parse("u1").unwrap()]));
        assert!(serde_json::from_str::<Change>(r#"{"People":[" bad"]}"#).is_err(), "ids are parsed on receipt");
    }

    #[test]
    fn every_listener_hears_every_change_with_its_tenant() {
        let cache = ServingCache::default();
        let (a, b) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
        cache.subscribe(a.clone());
        cache.clone().subscribe(b.clone());
        let ctx = TenantCtx::operator(tenants::ids::TenantId::from_db(7), tenants::RequestId::new());
        let people = vec![UserId::parse("u1").ok()].into_iter().flatten().collect::<Vec<_>>();
        cache.announce(&ctx, Change::People(people.clone()));
        cache.announce(&ctx, Change::ItemsDeleted);
        for heard in [&a, &b] {
            let heard = heard.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
            assert_eq!(heard, vec![(7, Change::People(people.clone())), (7, Change::ItemsDeleted)]);
        }
    }
}
