//! Creating and deleting orders.

use http::StatusCode;
use rolegate_testkit::claims::USER_OID;

use super::*;

#[tokio::test]
async fn admin_creates_then_deletes() {
    let f = Fixture::new();
    let admin = f.user(&["Orders.Admin"]);
    let reply = f
        .call(
            "POST",
            "/orders",
            &admin,
            Some(r#"{"item":"Standing desk","quantity":2,"customer":"customer-9"}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let order = reply.json();
    assert_eq!(order["item"], "Standing desk");
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["customer"], "customer-9");
    let id = order["id"].as_u64().unwrap();
    assert_eq!(reply.header("location"), format!("/orders/{id}"));
    assert_eq!(f.store.all().len(), 5);

    let reply = f
        .call("DELETE", &format!("/orders/{id}"), &admin, None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());
    assert_eq!(f.store.all().len(), 4);

    let reply = f
        .call("DELETE", &format!("/orders/{id}"), &admin, None)
        .await;
    reply.assert_problem(StatusCode::NOT_FOUND, "order_not_found");
}

#[tokio::test]
async fn orders_default_to_the_caller() {
    let f = Fixture::new();
    let admin = f.user(&["Orders.Admin"]);
    let reply = f
        .call(
            "POST",
            "/orders",
            &admin,
            Some(r#"{"item":"Pen","quantity":1}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json()["customer"], USER_OID);
}

#[tokio::test]
async fn delete_unknown_is_404() {
    let f = Fixture::new();
    let reply = f
        .call("DELETE", "/orders/999", &f.user(&["Orders.Admin"]), None)
        .await;
    reply.assert_problem(StatusCode::NOT_FOUND, "order_not_found");
}

#[tokio::test]
async fn reader_cannot_delete() {
    let f = Fixture::new();
    let reply = f
        .call("DELETE", "/orders/1", &f.user(&["Orders.Read"]), None)
        .await;
    reply.assert_problem(StatusCode::FORBIDDEN, "missing_role");
    assert_eq!(f.store.all().len(), 4);
}

#[tokio::test]
async fn bad_bodies_get_problem_details() {
    let f = Fixture::new();
    let admin = f.user(&["Orders.Admin"]);
    let cases = [
        ("{not json", StatusCode::BAD_REQUEST, "invalid_input"),
        (
            r#"{"item":"Pen"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            r#"{"item":"Pen","quantity":-1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            r#"{"item":"Pen","quantity":1,"price":3}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            r#"{"item":"  ","quantity":1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_order",
        ),
        (
            r#"{"item":"Pen","quantity":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_order",
        ),
    ];
    for (body, status, code) in cases {
        let reply = f.call("POST", "/orders", &admin, Some(body)).await;
        reply.assert_problem(status, code);
        assert!(
            reply.json()["detail"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    let reply = f.call("DELETE", "/orders/abc", &admin, None).await;
    reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_input");
    assert_eq!(f.store.all().len(), 4);
}

#[tokio::test]
async fn missing_content_type_is_refused() {
    let f = Fixture::new();
    let request = Request::post("/orders")
        .header(
            "authorization",
            format!("Bearer {}", f.user(&["Orders.Admin"])),
        )
        .body(Body::from(r#"{"item":"Pen","quantity":1}"#))
        .unwrap();
    let reply = send(f.app.clone(), request).await;
    reply.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_input");
}
