//! A handler's panic as a value: the runtime must outlive every panic in user code.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

/// What a panic carries.
pub(crate) type Panic = Box<dyn Any + Send>;

/// Runs a handler future, turning a panic into a value.
///
/// `AssertUnwindSafe` is sound here: a panicking handler's connection is closed (or its
/// handshake refused), so no state it may have left half-changed is used again, except by its
/// own `on_error` and `on_close`, which the endpoint's author writes knowing that.
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, Panic> {
    AssertUnwindSafe(future).catch_unwind().await
}

/// The message of a panic raised with a string, as `panic!` does.
pub(crate) fn panic_message(panic: &Panic) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_its_message() {
        let panic = catch_panic(async { panic!("at {}", 7) }).await.unwrap_err();
        assert_eq!(panic_message(&panic), "at 7");
        let panic = catch_panic(async { std::panic::panic_any(7u8) })
            .await
            .unwrap_err();
        assert_eq!(panic_message(&panic), "non-string panic payload");
        assert_eq!(catch_panic(async { 3 }).await.ok(), Some(3));
    }
}
