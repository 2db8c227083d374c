//! Replicas on one PostgreSQL database tell each other what changed: the transport of
//! the serving cache's change bus over `LISTEN/NOTIFY` on one channel.
//!
//! Publishing never waits on the request path: announcements queue for one task that
//! sends them in order with `pg_notify`. Listening holds a connection of its own; when
//! it is lost, whatever was sent meanwhile is gone, so the caches drop everything once
//! the listener is back (and once when it is lost: serving then reads the database
//! until it is).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenants::db::Db;
use tokio::sync::mpsc;

use crate::serving_cache::{Change, ChangeTransport, ServingCache};

/// The one channel every replica listens on; payloads name their tenant.
pub const CHANNEL: &str = "marquee_changes";

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; longer lists are split.
const MAX_PAYLOAD: usize = 7_000;

/// How often a failed send is tried before it is given up (the listeners of a database
/// that refuses it lose their connection too, and flush).
const SEND_ATTEMPTS: u32 = 3;

/// Longest wait between attempts to listen again.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    tenant: i64,
    change: Change,
}

/// The name of the listening connection in `pg_stat_activity` for the process whose
/// serving cache has `origin`.
pub fn listener_name(origin: &str) -> String {
    format!("marquee-changes-{origin}")
}

/// On PostgreSQL: publishes `cache`'s announcements and applies other replicas'. Returns
/// `false` (and does nothing) on SQLite, whose single process needs no relay.
pub fn start(db: &Db, cache: &ServingCache) -> bool {
    let Some(pool) = db.pg_pool().cloned() else { return false };
    let (outbox, queued) = mpsc::unbounded_channel();
    if !cache.set_transport(Arc::new(PgTransport { outbox })) {
        return true;
    }
    tokio::spawn(send_all(pool, queued));
    tokio::spawn(listen(db.clone(), cache.clone()));
    true
}

/// For a short-lived process (a CLI command) that does not relay: sends one change to
/// the replicas now and waits until it is sent. Nothing on SQLite.
pub async fn send_now(db: &Db, cache: &ServingCache, tenant_id: i64, change: Change) -> crate::error::Result<()> {
    let Some(pool) = db.pg_pool() else { return Ok(()) };
    for payload in payloads(cache.origin(), tenant_id, change) {
        sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(pool)
            .await
            .map_err(|e| crate::error::DomainError::internal_from("notifying replicas", e))?;
    }
    Ok(())
}

struct PgTransport {
    outbox: mpsc::UnboundedSender<String>,
}

impl ChangeTransport for PgTransport {
    fn publish(&self, origin: &str, tenant_id: i64, change: &Change) {
        for payload in payloads(origin, tenant_id, change.clone()) {
            // Closed only when the runtime is going away.
            let _ = self.outbox.send(payload);
        }
    }
}

/// The messages that carry `change`, each short enough for NOTIFY.
fn payloads(origin: &str, tenant: i64, change: Change) -> Vec<String> {
    let envelope = Envelope { origin: origin.to_owned(), tenant, change };
    let Ok(json) = serde_json::to_string(&envelope) else { return Vec::new() };
    if json.len() <= MAX_PAYLOAD {
        return vec![json];
    }
    let halves = match envelope.change {
        Change::People(mut people) if people.len() > 1 => {
            let rest = people.split_off(people.len() / 2);
            Some((Change::People(people), Change::People(rest)))
        }
        Change::KeysRevoked(mut keys) if keys.len() > 1 => {
            let rest = keys.split_off(keys.len() / 2);
            Some((Change::KeysRevoked(keys), Change::KeysRevoked(rest)))
        }
        Change::ModelFiles(mut rows) if rows.len() > 1 => {
            let rest = rows.split_off(rows.len() / 2);
            Some((Change::ModelFiles(rows), Change::ModelFiles(rest)))
        }
        _ => None,
    };
    match halves {
        Some((a, b)) => {
            let mut out = payloads(origin, tenant, a);
            out.extend(payloads(origin, tenant, b));
            out
        }
        // Ids are bounded in length, so only a list can grow this long.
        None => {
            tracing::error!(tenant_id = tenant, "a change too long to send to other replicas was dropped");
            Vec::new()
        }
    }
}

async fn send_all(pool: sea_orm::sqlx::PgPool, mut queued: mpsc::UnboundedReceiver<String>) {
    while let Some(payload) = queued.recv().await {
        for attempt in 1..=SEND_ATTEMPTS {
            let sent =
                sea_orm::sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(&payload).execute(&pool).await;
            match sent {
                Ok(_) => break,
                Err(e) if attempt == SEND_ATTEMPTS => {
                    tracing::error!(error = %e, "a change could not be sent to other replicas");
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "sending a change to other replicas failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
    }
}

async fn listen(db: Db, cache: ServingCache) {
    let name = listener_name(cache.origin());
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut listener = match subscribe(&db, &name).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other replicas' changes; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // What was announced before this listener was in place is unknown.
        cache.forget_everything();
        tracing::info!("listening for other replicas' changes");
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => receive(&cache, notification.payload()),
                Ok(None) => {
                    tracing::warn!("lost the connection that listens for other replicas' changes");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the connection that listens for other replicas' changes failed");
                    break;
                }
            }
        }
        cache.forget_everything();
    }
}

async fn subscribe(db: &Db, name: &str) -> Result<sea_orm::sqlx::postgres::PgListener, String> {
    let mut listener = db.pg_listener(name).await.map_err(|e| format!("{e:?}"))?.ok_or("not PostgreSQL")?;
    // A lost connection comes back through `subscribe`, so the flush follows it.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await.map_err(|e| e.to_string())?;
    Ok(listener)
}

fn receive(cache: &ServingCache, payload: &str) {
    match serde_json::from_str::<Envelope>(payload) {
        Ok(envelope) => cache.receive(&envelope.origin, envelope.tenant, &envelope.change),
        // Another version's message: not understood, so assume the worst.
        Err(e) => {
            tracing::warn!(error = %e, "a change from another replica was not understood; dropping every cache");
            cache.forget_everything();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::vocab::UserId;

    #[test]
    fn long_lists_are_split_into_messages_that_fit() {
        let people: Vec<UserId> = (0..2_000).map(|i| UserId::parse(format!("user-{i:06}")).unwrap()).collect();
        let messages = payloads("me", 9, Change::People(people.clone()));
        assert!(messages.len() > 1);
        let mut back = Vec::new();
        for m in &messages {
            assert!(m.len() <= MAX_PAYLOAD);
            let envelope: Envelope = serde_json::from_str(m).unwrap();
            assert_eq!((envelope.origin.as_str(), envelope.tenant), ("me", 9));
            match envelope.change {
                Change::People(p) => back.extend(p),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(back, people);
        assert_eq!(payloads("me", 9, Change::ActiveModel).len(), 1);
    }
}
