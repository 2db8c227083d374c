//! Audit events of reads, written off the request path.
//!
//! Every personalized recommendation and explanation is a read of personal data and
//! gets its audit event, but a read changes nothing, so its event need not share a
//! transaction with it; making each read a write transaction serialised all of them on
//! SQLite's single writer and on PostgreSQL's per-tenant chain head. Reads instead hand
//! their event to one writer task, which appends whatever has queued up in one
//! transaction per tenant. Nobody can observe the gap: everything that looks at the
//! log (`auditEvents`, `verifyAuditLog`, checkpoints, exports) first calls
//! [`ReadAuditQueue::flush`], which returns once every event queued before it is
//! committed. The queue is bounded, so a writer that falls behind slows reads down
//! instead of dropping events; a crash loses at most the events of the last few
//! milliseconds (the writer gathers for up to [`LINGER`] before it commits; a failed
//! batch is logged with its count).
//!
//! Repeated reads of one person by one principal are coalesced ([`super::read_coalesce`]):
//! the first is written, the rest counted into one event when their window closes. The
//! counting happens on the request's own thread, under a lock held for a map lookup:
//! handing every read to the writer first woke the writer's thread for each of them
//! (two context switches per served recommendation, and its events allocated on one
//! thread and freed on another), a tenth of the cores at 20,000 reads/s, to count
//! reads almost none of which are written.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tenants::{Db, TenantCtx};
use tokio::sync::{mpsc, oneshot};

use super::read_coalesce::{ReadCoalescer, SWEEP_EVERY};
use super::{AuditEvent, Auditor};
use crate::error::{DomainError, Result};

const QUEUE_CAPACITY: usize = 10_000;
const MAX_BATCH: usize = 1_000;
/// How long the writer waits for more events before it commits what it has.
const LINGER: std::time::Duration = std::time::Duration::from_millis(10);

enum Message {
    Event(Box<(TenantCtx, AuditEvent)>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct ReadAuditQueue {
    sender: mpsc::Sender<Message>,
    coalescer: SharedCoalescer,
}

#[derive(Clone)]
struct SharedCoalescer(Arc<Mutex<ReadCoalescer>>);

impl SharedCoalescer {
    fn lock(&self) -> MutexGuard<'_, ReadCoalescer> {
        // The coalescer's maps only ever hold whole entries: a panic elsewhere leaves
        // them usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ReadAuditQueue {
    /// Starts the writer task on the current runtime; reads of one person by one
    /// principal within `coalesce_window` are coalesced (zero: none are).
    pub fn start(db: Db, auditor: Auditor, coalesce_window: std::time::Duration) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let coalescer = SharedCoalescer(Arc::new(Mutex::new(ReadCoalescer::new(coalesce_window))));
        tokio::spawn(run(db, auditor, receiver, coalescer.clone()));
        Self { sender, coalescer }
    }

    pub async fn record(&self, ctx: &TenantCtx, event: AuditEvent) -> Result<()> {
        let due = self.coalescer.lock().note(ctx.clone(), event, Instant::now());
        for event in due {
            self.sender
                .send(Message::Event(Box::new(event)))
                .await
                .map_err(|_| DomainError::internal("the audit writer has stopped"))?;
        }
        Ok(())
    }

    /// Waits until every event queued so far is committed.
    pub async fn flush(&self) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.sender
            .send(Message::Flush(done))
            .await
            .map_err(|_| DomainError::internal("the audit writer has stopped"))?;
        wait.await.map_err(|_| DomainError::internal("the audit writer has stopped"))
    }
}

async fn run(db: Db, auditor: Auditor, mut receiver: mpsc::Receiver<Message>, coalescer: SharedCoalescer) {
    loop {
        // With windows open, wake up now and then to close the expired ones.
        let has_open = coalescer.lock().has_open();
        let first = if has_open {
            match tokio::time::timeout(SWEEP_EVERY, receiver.recv()).await {
                Ok(Some(message)) => Some(message),
                Ok(None) => break,
                Err(_) => None,
            }
        } else {
            match receiver.recv().await {
                Some(message) => Some(message),
                None => break,
            }
        };
        let mut events: Vec<(TenantCtx, AuditEvent)> = Vec::new();
        let mut flushes = Vec::new();
        // Gather for a moment unless someone waits on a flush: each commit rewrites the
        // same few pages (the chain head, the table's last leaves), so a batch of a
        // hundred costs little more than a batch of one.
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut next = first;
        while let Some(message) = next.take() {
            match message {
                Message::Event(boxed) => events.push(*boxed),
                Message::Flush(done) => flushes.push(done),
            }
            if events.len() >= MAX_BATCH {
                break;
            }
            next = match receiver.try_recv() {
                Ok(message) => Some(message),
                Err(_) if flushes.is_empty() => tokio::time::timeout_at(deadline, receiver.recv()).await.ok().flatten(),
                Err(_) => None,
            };
        }
        {
            let mut coalescer = coalescer.lock();
            events.extend(coalescer.expired(Instant::now()));
            if !flushes.is_empty() {
                events.extend(coalescer.close_all());
            }
        }
        write_by_tenant(&db, &auditor, events).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
    // Every sender is gone: what is still counted is written before the task ends.
    let rest = coalescer.lock().close_all();
    write_by_tenant(&db, &auditor, rest).await;
}

/// Writes `events` in one transaction per tenant (each tenant's chain is its own).
async fn write_by_tenant(db: &Db, auditor: &Auditor, events: Vec<(TenantCtx, AuditEvent)>) {
    let mut by_tenant: BTreeMap<i64, Vec<(TenantCtx, AuditEvent)>> = BTreeMap::new();
    for (ctx, event) in events {
        by_tenant.entry(ctx.tenant_id().get()).or_default().push((ctx, event));
    }
    for (_, batch) in by_tenant {
        let count = batch.len();
        if let Err(e) = write(db, auditor, batch).await {
            tracing::error!(error = ?e, events = count, "could not write read audit events");
        }
    }
}

async fn write(db: &Db, auditor: &Auditor, batch: Vec<(TenantCtx, AuditEvent)>) -> Result<()> {
    let Some((first, _)) = batch.first() else { return Ok(()) };
    let tx = db.begin_write(first).await?;
    auditor.record_batch(&tx, batch).await?;
    tx.commit().await?;
    Ok(())
}
