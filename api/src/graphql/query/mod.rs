mod access;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(viewer::ViewerQuery, access::AccessQuery);
