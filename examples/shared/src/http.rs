//! The demos' HTTP errors: a JSON body `{"error": "..."}` with the status, and the fallback that
//! answers every route a demo does not have with one.

use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The fallback of a demo's router: 404 with `{"error":"no route for GET /path"}`.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {uri}"),
    )
}

/// `status` with the body `{"error": message}`.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("an in-memory body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn an_unknown_route_is_a_json_404_that_names_it() {
        let response = not_found(Method::POST, Uri::from_static("/x/y?z=1")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{response:?}"
        );
        assert_eq!(
            body(response).await,
            r#"{"error":"no route for POST /x/y?z=1"}"#
        );
    }

    #[tokio::test]
    async fn errors_carry_their_status_and_message() {
        let response = error_response(StatusCode::CONFLICT, "taken");
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(body(response).await, r#"{"error":"taken"}"#);
    }
}
