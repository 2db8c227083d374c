use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use base64::Engine;
use domain::ErrorCode;
use domain::models::{TrainDraft, TrainRequest};
use domain::tenants::ids::PublicId;

use crate::graphql::context::{models, tenant};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::types::models::{AlgorithmGql, JobGql, ModelGql};

/// Pinned settings. Leave them out to let Marquee tune on a validation split.
#[derive(InputObject)]
pub struct TrainParametersInput {
    pub factors: Option<i32>,
    pub regularization: Option<f64>,
    pub alpha: Option<f64>,
    pub iterations: Option<i32>,
    /// Item-item neighbours per item (default 100).
    pub neighbours: Option<i32>,
    /// EASE's L2 penalty (tuned when left out).
    pub lambda: Option<f64>,
    /// With `lambda`: EASE's dropout penalty in proportion to item popularity (default 0,
    /// plain EASE; docs/models.md).
    pub omega: Option<f64>,
}

#[derive(InputObject)]
pub struct TrainModelInput {
    /// `AUTO` (the default) tunes every built-in family and keeps the best.
    #[graphql(default_with = "AlgorithmGql::Auto")]
    pub algorithm: AlgorithmGql,
    pub parameters: Option<TrainParametersInput>,
}

#[derive(SimpleObject)]
pub struct TrainModelPayload {
    pub model: ModelGql,
    pub job: JobGql,
}

#[derive(InputObject)]
pub struct UploadModelInput {
    pub name: String,
    /// The ONNX file, base64. Signature: input `user_history` float32 [N, I], output
    /// `scores` float32 [N, I]; column j is `itemIds[j]`. The whole request must fit
    /// `graphql.max_body_bytes` (2 MiB by default: a file of about 1.5 MiB); send larger
    /// files to `POST /models/upload` (docs/models.md).
    pub onnx_base64: String,
    pub item_ids: Vec<String>,
}

impl From<TrainModelInput> for TrainDraft {
    fn from(input: TrainModelInput) -> Self {
        let p = input.parameters;
        let get = |f: fn(&TrainParametersInput) -> Option<i32>| p.as_ref().and_then(f).map(i64::from);
        TrainDraft {
            algorithm: input.algorithm.into(),
            factors: get(|p| p.factors),
            regularization: p.as_ref().and_then(|p| p.regularization),
            alpha: p.as_ref().and_then(|p| p.alpha),
            iterations: get(|p| p.iterations),
            neighbours: get(|p| p.neighbours),
            lambda: p.as_ref().and_then(|p| p.lambda),
            omega: p.as_ref().and_then(|p| p.omega),
        }
    }
}

#[derive(Default)]
pub struct ModelMutation;

#[Object]
impl ModelMutation {
    /// Starts training in the background; follow `job { status progress }`.
    async fn train_model(&self, ctx: &Context<'_>, input: TrainModelInput) -> ApiResult<TrainModelPayload> {
        let tenant_ctx = tenant(ctx)?;
        let request = TrainRequest::parse(input.into())?;
        let (model, job) = domain::models::train_model(tenant_ctx, models(ctx)?, request).await?;
        Ok(TrainModelPayload { model: model.into(), job: job.into() })
    }

    /// Stops a queued or running job; the active model is untouched.
    async fn cancel_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<JobGql> {
        let id = PublicId::parse(&id)?;
        Ok(domain::models::cancel_job(tenant(ctx)?, models(ctx)?, &id).await?.into())
    }

    /// Makes a ready model the active one, atomically. A model whose NDCG@10 is
    /// significantly below the active one's (the 95 % interval of the difference, by
    /// bootstrap over users, lies below 0: see `Model.comparison`) needs `allowWorse: true`.
    async fn deploy_model(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = false)] allow_worse: bool,
    ) -> ApiResult<ModelGql> {
        let id = PublicId::parse(&id)?;
        Ok(domain::models::deploy_model(tenant(ctx)?, models(ctx)?, &id, allow_worse).await?.into())
    }

    /// Returns to the model that was active before the current one.
    async fn rollback_model(&self, ctx: &Context<'_>) -> ApiResult<ModelGql> {
        Ok(domain::models::rollback_model(tenant(ctx)?, models(ctx)?).await?.into())
    }

    /// Registers a tenant's own small ONNX model after loading and probing it; larger
    /// files go to `POST /models/upload`, which answers the same way.
    async fn upload_model(&self, ctx: &Context<'_>, input: UploadModelInput) -> ApiResult<ModelGql> {
        let tenant_ctx = tenant(ctx)?;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(input.onnx_base64.trim()).map_err(|_| ApiError {
                code: ErrorCode::InvalidInput,
                message: "onnxBase64 is not valid base64".into(),
                field: Some("onnxBase64".into()),
                retry_after_secs: None,
            })?;
        Ok(domain::models::upload_model(tenant_ctx, models(ctx)?, &input.name, bytes, input.item_ids).await?.into())
    }
}
