//! The `parlant` dialect (routes being added).

use std::sync::Arc;

use axum::Router;

use crate::server::Shared;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
}
