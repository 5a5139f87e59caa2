//! `/orders`: list, create and delete.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use rolegate_axum::RequireLayer;
use rolegate_axum::extract::{Auth, RequestId};
use rolegate_token::Principal;
use rolegate_token::requirement::Requirement;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiErrorKind};
use super::store::{Order, Store};
use super::{ADMIN_ROLE, ORDER_PATH, ORDERS_PATH, READ_ROLE, SCOPE};

/// The routes of this module.
pub(crate) fn routes(store: Arc<Store>) -> Router {
    // Users need the API's delegated scope, daemons an application
    // permission; either way one of the two roles.
    let read = Requirement::scope_or_app_permission([SCOPE], [READ_ROLE, ADMIN_ROLE])
        .and(Requirement::any_role([READ_ROLE, ADMIN_ROLE]));
    let admin = Requirement::any_role([ADMIN_ROLE]);
    Router::new()
        .route(
            ORDERS_PATH,
            get(list.layer(RequireLayer::new(read)))
                .post(create.layer(RequireLayer::new(admin.clone()))),
        )
        .route(ORDER_PATH, delete(remove.layer(RequireLayer::new(admin))))
        .with_state(store)
}

/// The body of `POST /orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    item: String,
    quantity: u32,
    /// The owner's object id; the caller's when absent.
    customer: Option<String>,
}

async fn list(State(store): State<Arc<Store>>, Auth(caller): Auth) -> Json<Value> {
    Json(view(&store, &caller))
}

/// What `caller` may see: daemons and admins everything, readers their own.
fn view(store: &Store, caller: &Principal) -> Value {
    if caller.is_app_only() {
        return json!({ "view": "application", "orders": store.all() });
    }
    if caller.has_role(ADMIN_ROLE) {
        let orders = store.all();
        let mut customers: Vec<&str> = orders.iter().map(|o| o.customer.as_str()).collect();
        customers.sort_unstable();
        customers.dedup();
        let total: u64 = orders.iter().map(|o| u64::from(o.quantity)).sum();
        return json!({
            "view": "admin",
            "customers": customers.len(),
            "total": total,
            "orders": orders,
        });
    }
    let own = caller
        .object_id()
        .map(|oid| store.of_customer(oid))
        .unwrap_or_default();
    json!({ "view": "reader", "orders": own })
}

async fn create(
    State(store): State<Arc<Store>>,
    Auth(caller): Auth,
    RequestId(request_id): RequestId,
    body: Result<Json<NewOrder>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let fail = |kind| ApiError::new(kind, request_id.clone());
    let Json(new) = body.map_err(|rejection| {
        fail(ApiErrorKind::BadInput {
            status: rejection.status(),
            detail: rejection.body_text(),
        })
    })?;
    let order = accept(&new, &caller).map_err(|why| fail(ApiErrorKind::InvalidOrder(why)))?;
    let order = store.add(&order.customer, &order.item, order.quantity);
    let location = format!("{ORDERS_PATH}/{}", order.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(order),
    ))
}

/// Checks a new order; the id is assigned by the store.
fn accept(new: &NewOrder, caller: &Principal) -> Result<Order, &'static str> {
    let item = new.item.trim();
    if item.is_empty() || item.chars().count() > MAX_ITEM_CHARS {
        return Err("\"item\" must be 1 to 100 characters");
    }
    if !(1..=MAX_QUANTITY).contains(&new.quantity) {
        return Err("\"quantity\" must be between 1 and 1000");
    }
    let customer = match new.customer.as_deref().map(str::trim) {
        Some(c) if c.is_empty() || c.len() > MAX_CUSTOMER_BYTES => {
            return Err("\"customer\" must be an object id of 1 to 64 characters");
        }
        Some(c) => c,
        None => caller
            .object_id()
            .ok_or("the token has no \"oid\"; name the \"customer\" explicitly")?,
    };
    Ok(Order {
        id: 0,
        customer: customer.to_owned(),
        item: item.to_owned(),
        quantity: new.quantity,
    })
}

async fn remove(
    State(store): State<Arc<Store>>,
    RequestId(request_id): RequestId,
    id: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id.map_err(|rejection| {
        ApiError::new(
            ApiErrorKind::BadInput {
                status: rejection.status(),
                detail: rejection.body_text(),
            },
            request_id.clone(),
        )
    })?;
    if store.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ApiErrorKind::NotFound(id), request_id))
    }
}

const MAX_ITEM_CHARS: usize = 100;
const MAX_QUANTITY: u32 = 1000;
const MAX_CUSTOMER_BYTES: usize = 64;
