//! The one way a write tells serving that what it caches has changed.
//!
//! Features announce a [`Change`] after their commit; the caches that hold what changed
//! (the person and catalog views of the model subsystem, the tenant's settings)
//! subscribe when they are built. A feature never names the caches it affects, so a
//! new cache (or, later, other replicas) can listen without touching the writers.
//!
//! Announcing is synchronous on purpose: a request future dropped right after its
//! commit cannot skip the invalidation that follows it (see `fresh_cache`).

use std::sync::{Arc, PoisonError, RwLock};

use tenants::TenantCtx;

use crate::vocab::UserId;

/// What changed, within one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Embeddings of items were written (the content worker finished a batch).
    Embeddings,
}

/// Something that keeps a copy of tenant data and must drop it when it changes.
pub trait ChangeListener: Send + Sync {
    fn changed(&self, tenant_id: i64, change: &Change);
}

/// Owned by `Services`; cheap to clone (clones share their listeners).
#[derive(Clone, Default)]
pub struct ServingCache {
    listeners: Arc<RwLock<Vec<Arc<dyn ChangeListener>>>>,
}

impl ServingCache {
    /// Called once per cache, when the component that owns the cache is built.
    pub fn subscribe(&self, listener: Arc<dyn ChangeListener>) {
        // Listeners are only ever appended: a panic elsewhere leaves the list whole.
        self.listeners.write().unwrap_or_else(PoisonError::into_inner).push(listener);
    }

    /// After a committed write: every listener drops what `change` made stale.
    pub fn announce(&self, ctx: &TenantCtx, change: Change) {
        let tenant_id = ctx.tenant_id().get();
        for listener in self.listeners.read().unwrap_or_else(PoisonError::into_inner).iter() {
            listener.changed(tenant_id, &change);
        }
    }
}

impl std::fmt::Debug for ServingCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let listeners = self.listeners.read().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("ServingCache").field("listeners", &listeners).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(i64, Change)>>);

    impl ChangeListener for Recorder {
        fn changed(&self, tenant_id: i64, change: &Change) {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push((tenant_id, change.clone()));
        }
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
