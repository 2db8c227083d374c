//! The complexity of an operation without running it, so that a batch can be refused
//! as a whole when its operations together exceed `graphql.max_complexity`, before any
//! of them touches the database. async-graphql computes complexity only while it
//! validates a request it is about to run, and reports it only to extensions: the
//! measuring schema carries an extension that records it and then stops. The serving
//! schema carries none (an extension sends every field through its chain, which slows
//! every request).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation};
use async_graphql::{Response, ServerError, ValidationResult};

use super::MarqueeSchema;

/// Where the measuring extension leaves what it found.
#[derive(Default)]
struct Measured(AtomicUsize);

struct MeasureOnly;

impl ExtensionFactory for MeasureOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MeasureOnly)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for MeasureOnly {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(measured) = ctx.data_opt::<Arc<Measured>>() {
            measured.0.store(result.complexity, Ordering::Relaxed);
        }
        Ok(result)
    }

    /// Never runs a resolver: the measuring schema only validates.
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::new(async_graphql::Value::Null)
    }
}

pub(super) fn install(
    builder: async_graphql::SchemaBuilder<
        super::query::Query,
        super::mutation::Mutation,
        async_graphql::EmptySubscription,
    >,
) -> MarqueeSchema {
    builder.extension(MeasureOnly).finish()
}

/// The complexity of `request` as the serving schema counts it. A request that fails
/// validation measures 0: running it reports the failure.
pub async fn complexity(measuring: &MarqueeSchema, request: &mut async_graphql::Request) -> usize {
    let Ok(doc) = request.parsed_query().cloned() else {
        return 0;
    };
    let measured = Arc::new(Measured::default());
    let mut probe = async_graphql::Request::new(request.query.clone()).variables(request.variables.clone());
    probe.operation_name = request.operation_name.clone();
    probe.set_parsed_query(doc);
    let _ = measuring.execute(probe.data(measured.clone())).await;
    measured.0.load(Ordering::Relaxed)
}
