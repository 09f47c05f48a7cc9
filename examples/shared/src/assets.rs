//! The demo pages' static files, embedded in the binary (so an example runs from any directory)
//! and served with their content type and `Cache-Control: no-cache` (a rebuilt demo is never
//! shown with a stale script).
//!
//! Both demo pages import the same client module, [`WEBSOCKET_JS`], and stylesheet,
//! [`STYLE_CSS`], served from this one copy. The `include_str!` paths are relative to this file;
//! the client module lives beside the mining page, with its unit tests.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub const HTML: &str = "text/html; charset=utf-8";
/// Module scripts are always decoded as UTF-8, whatever the charset says.
pub const JAVASCRIPT: &str = "text/javascript";
pub const CSS: &str = "text/css; charset=utf-8";

/// The WebSocket client module both demo pages import (`/websocket.js`).
pub const WEBSOCKET_JS: &str = include_str!("../../mining/static/websocket.js");
/// The stylesheet both demo pages share (`/style.css`).
pub const STYLE_CSS: &str = include_str!("../static/style.css");

/// One embedded file and the path it is served at.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// A demo page's files: its `index.html` at `/` and `app.js`, with the shared client module and
/// stylesheet.
pub const fn page(index_html: &'static str, app_js: &'static str) -> [Asset; 4] {
    [
        Asset {
            path: "/",
            content_type: HTML,
            body: index_html,
        },
        Asset {
            path: "/app.js",
            content_type: JAVASCRIPT,
            body: app_js,
        },
        Asset {
            path: "/websocket.js",
            content_type: JAVASCRIPT,
            body: WEBSOCKET_JS,
        },
        Asset {
            path: "/style.css",
            content_type: CSS,
            body: STYLE_CSS,
        },
    ]
}

/// A router serving each of `assets` on `GET` (and `HEAD`) at its path.
pub fn router(assets: &'static [Asset]) -> Router {
    assets.iter().fold(Router::new(), |router, asset| {
        router.route(asset.path, get(move || async move { response(asset) }))
    })
}

fn response(asset: &'static Asset) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
}
