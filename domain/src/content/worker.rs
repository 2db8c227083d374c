//! The embedding worker: claims batches of queued items with a lease, embeds them on a
//! blocking thread (the worker's own text model, with its own few ONNX Runtime
//! threads, so serving keeps the other cores), stores the vectors and announces
//! [`Change::Embeddings`] so semantic indexes reload.
//!
//! Any number of processes may run it: claims take disjoint rows (see
//! `store::queue`), a lease that expires (a worker that died mid-batch) lets another
//! worker take the rows over, and a batch takes seconds against a lease of minutes, so
//! no heartbeat is needed. A batch that fails releases its rows, which are tried again
//! until they have failed `max_attempts` times.
//!
//! At start the worker queues every live item without an embedding by the current
//! model: items written before the queue existed, and the whole catalog when the model
//! changed (its `model_key` differs).

use std::sync::Arc;

use chrono::Utc;
use inference::text::TextEncoder;
use tenants::ids::TenantId;
use tenants::{RequestId, SystemCtx, TenantCtx};

use super::background_thread::BackgroundThread;
use super::services::ContentServices;
use super::store::{self, embeddings::NewEmbedding};
use super::text_model::TextModel;
use super::{text, vector};
use crate::error::{DomainError, Result};
use crate::serving_cache::Change;

/// The worker's copy of the model is dropped after this long without work: a catalog
/// that is embedded needs none (a copy holds about 120 MB).
const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

pub(crate) fn start(content: ContentServices, thread: BackgroundThread) {
    tokio::spawn(async move {
        let Some(model) = content.text_model.clone() else { return };
        let worker = Worker { content, model, thread, encoder: tokio::sync::Mutex::new(None) };
        if let Err(e) = worker.enqueue_missing().await {
            tracing::error!(error = ?e, "could not queue the items the text model has not embedded");
        }
        let poll = worker.content.config.poll_interval;
        let mut idle_since = std::time::Instant::now();
        loop {
            match worker.run_once().await {
                Ok(0) => {
                    if idle_since.elapsed() >= IDLE {
                        *worker.encoder.lock().await = None;
                    }
                    tokio::time::sleep(poll).await;
                }
                Ok(_) => idle_since = std::time::Instant::now(),
                Err(e) => {
                    tracing::error!(error = ?e, "the embedding worker failed a round");
                    tokio::time::sleep(poll * 4).await;
                }
            }
        }
    });
}

struct Worker {
    content: ContentServices,
    model: Arc<TextModel>,
    thread: BackgroundThread,
    /// The worker's own copy, loaded when there is work.
    encoder: tokio::sync::Mutex<Option<Arc<TextEncoder>>>,
}

impl Worker {
    /// The worker's copy of the model, loaded on its thread when there is none: ONNX
    /// Runtime's threads (more than one configured) are started by it and inherit its
    /// priority.
    async fn encoder(&self) -> Result<Arc<TextEncoder>> {
        let mut slot = self.encoder.lock().await;
        if let Some(encoder) = slot.as_ref() {
            return Ok(encoder.clone());
        }
        let (model, threads) = (self.model.clone(), self.content.config.worker_threads);
        let encoder = Arc::new(
            self.thread
                .run(move || model.load(threads))
                .await?
                .map_err(|e| DomainError::internal_from("text model", e))?,
        );
        *slot = Some(encoder.clone());
        Ok(encoder)
    }

    async fn enqueue_missing(&self) -> Result<()> {
        let tx = self.content.services.db.begin_system_write(&SystemCtx::new("queue items for the text model")).await?;
        let queued = store::queue::enqueue_missing(&tx, self.model.model_key(), Utc::now()).await?;
        tx.commit().await?;
        if queued > 0 {
            tracing::info!(items = queued, model = self.model.model_key(), "queued items for embedding");
        }
        Ok(())
    }

    /// One round over the tenants with due work: one batch each. Returns the items embedded.
    async fn run_once(&self) -> Result<usize> {
        let config = &self.content.config;
        let tenants = {
            let tx = self.content.services.db.begin_system(&SystemCtx::new("find tenants with items to embed")).await?;
            let tenants = store::queue::tenants_with_work(&tx, Utc::now(), config.max_attempts).await?;
            tx.commit().await?;
            tenants
        };
        let mut embedded = 0;
        for tenant in tenants {
            let ctx = TenantCtx::operator(TenantId::from_db(tenant), RequestId::new());
            embedded += self.embed_batch(&ctx).await?;
        }
        Ok(embedded)
    }

    async fn embed_batch(&self, ctx: &TenantCtx) -> Result<usize> {
        let content = &self.content;
        let config = &content.config;
        let owner = config.worker_id.as_str();
        let db = &content.services.db;
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(config.lease).unwrap_or(chrono::Duration::minutes(5));
        let tx = db.begin_write(ctx).await?;
        let claimed = store::queue::claim(&tx, owner, now, lease_until, config.max_attempts, config.batch_size).await?;
        tx.commit().await?;
        if claimed.is_empty() {
            return Ok(0);
        }

        let tx = db.begin(ctx).await?;
        let items = crate::catalog::store::find_by_internal_ids(&tx, &claimed).await?;
        let stored = store::embeddings::sources(&tx, &claimed).await?;
        tx.commit().await?;
        let model_key = self.model.model_key().to_owned();
        // Items whose text and model are unchanged keep their vector; deleted ones have none.
        let work: Vec<(i64, String, String)> = items
            .iter()
            .map(|(&row, item)| {
                let text = text::of_content(item);
                let hash = vector::text_hash(&text);
                (row, text, hash)
            })
            .filter(|(row, _, hash)| stored.get(row).is_none_or(|(key, h)| key != &model_key || h != hash))
            .collect();

        let embedded = if work.is_empty() {
            Ok(Vec::new())
        } else {
            let texts: Vec<String> = work.iter().map(|(_, t, _)| t.clone()).collect();
            match self.encoder().await {
                Ok(encoder) => self
                    .thread
                    .run(move || {
                        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                        encoder.embed(&refs)
                    })
                    .await?
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        };

        let tx = db.begin_write(ctx).await?;
        let vectors = match embedded {
            Ok(vectors) if vectors.len() == work.len() => vectors,
            other => {
                let reason = match other {
                    Err(e) => e,
                    Ok(_) => "the text model returned too few vectors".to_owned(),
                };
                tracing::warn!(tenant = ctx.tenant_id().get(), items = claimed.len(), %reason, "embedding batch failed");
                store::queue::fail(&tx, owner, &claimed, &reason).await?;
                tx.commit().await?;
                return Ok(0);
            }
        };
        // Only rows still held: an item changed or deleted meanwhile is not written over.
        let held: std::collections::HashSet<i64> =
            store::queue::complete(&tx, owner, &claimed).await?.into_iter().collect();
        let rows: Vec<NewEmbedding> = work
            .into_iter()
            .zip(vectors)
            .filter(|((row, _, _), _)| held.contains(row))
            .map(|((item_row, _, source_hash), v)| NewEmbedding { item_row, vector: vector::to_bytes(&v), source_hash })
            .collect();
        let written = rows.len();
        store::embeddings::write(&tx, &model_key, self.model.dims(), &rows, Utc::now()).await?;
        tx.commit().await?;
        content.services.serving_cache.announce(ctx, Change::Embeddings);
        Ok(written.max(held.len()))
    }
}
