//! [`Reject`]: a refused handshake, answered with an HTTP status and body instead of the upgrade.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::base::error::Error;

/// A refused handshake: the HTTP status and body the client gets instead of the upgrade.
///
/// ```
/// use wsendpoint::{Reject, StatusCode};
///
/// let reject = Reject::forbidden("not your room");
/// assert_eq!(reject.status(), StatusCode::FORBIDDEN);
/// assert_eq!(reject.body(), "not your room");
/// let from_pair: Reject = (StatusCode::PAYMENT_REQUIRED, "upgrade your plan").into();
/// assert_eq!(from_pair.status().as_u16(), 402);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    status: StatusCode,
    body: String,
}

impl Reject {
    /// A refusal with any status.
    pub fn new(status: StatusCode, body: impl Into<String>) -> Self {
        Reject {
            status,
            body: body.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(body: impl Into<String>) -> Self {
        Reject::new(StatusCode::BAD_REQUEST, body)
    }

    /// 401 Unauthorized: no or bad credentials.
    pub fn unauthorized(body: impl Into<String>) -> Self {
        Reject::new(StatusCode::UNAUTHORIZED, body)
    }

    /// 403 Forbidden: valid credentials, no permission.
    pub fn forbidden(body: impl Into<String>) -> Self {
        Reject::new(StatusCode::FORBIDDEN, body)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.body)
    }
}

impl From<StatusCode> for Reject {
    fn from(status: StatusCode) -> Self {
        Reject::new(status, status.canonical_reason().unwrap_or_default())
    }
}

impl<B: Into<String>> From<(StatusCode, B)> for Reject {
    fn from((status, body): (StatusCode, B)) -> Self {
        Reject::new(status, body)
    }
}

impl From<Error> for Reject {
    /// A path parameter that does not parse is the client's fault (400); anything else is ours.
    fn from(error: Error) -> Self {
        let status = match error {
            Error::PathParam { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Reject::new(status, error.to_string())
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        (self.status, self.body).into_response()
    }
}
