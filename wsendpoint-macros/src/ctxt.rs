//! The error accumulator: every stage records its errors here, so one build reports them all.
//!
//! It is the only one: the arguments, the route template, the list options and the checks of the
//! block all record into the one `Ctxt` that `expand` creates and checks. A stage that must know
//! whether *it* failed (a list whose value means nothing once an element is bad) asks
//! [`Ctxt::scope`] rather than keeping errors of its own.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// Collects errors; must be consumed with [`Ctxt::check`], or it panics when dropped, so that no
/// stage can forget to report what it found.
pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, message: M) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error at `span`: for text without tokens of its own, like the route template
    /// inside its literal.
    pub(crate) fn error_at<M: Display>(&self, span: Span, message: M) {
        self.syn_error(syn::Error::new(span, message));
    }

    /// Records an error at `again` followed by a note at `first`: "duplicate `x`" at the second
    /// one, "first `x` here" at the first, so the user sees both places.
    pub(crate) fn error_with_note<A, M, F, N>(&self, again: A, message: M, first: F, note: N)
    where
        A: ToTokens,
        M: Display,
        F: ToTokens,
        N: Display,
    {
        self.error_spanned_by(again, message);
        self.error_spanned_by(first, note);
    }

    /// Records an error.
    pub(crate) fn syn_error(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Ctxt used after check")
            .push(error);
    }

    /// The value of `result`, recording its error if any.
    pub(crate) fn ok<T>(&self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.syn_error(error)).ok()
    }

    /// Runs `stage` and returns its value only if it recorded no error here. Its errors stay
    /// recorded in order with all the others; the caller just learns not to use a value built
    /// from parts that failed.
    pub(crate) fn scope<T>(&self, stage: impl FnOnce() -> T) -> Option<T> {
        let before = self.len();
        let value = stage();
        (self.len() == before).then_some(value)
    }

    fn len(&self) -> usize {
        self.errors
            .borrow()
            .as_ref()
            .expect("Ctxt used after check")
            .len()
    }

    /// All recorded errors combined into one, in the order they were found.
    pub(crate) fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().expect("Ctxt checked twice");
        let mut errors = errors.into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        errors.for_each(|error| first.combine(error));
        Err(first)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors");
        }
    }
}

/// Runs `stage` on a fresh context, for unit tests: its value when it recorded no error, else
/// every message it recorded, in order.
#[cfg(test)]
pub(crate) fn run_stage<T>(stage: impl FnOnce(&Ctxt) -> Option<T>) -> Result<T, Vec<String>> {
    let ctxt = Ctxt::new();
    let value = stage(&ctxt);
    match ctxt.check() {
        Ok(()) => Ok(value.expect("no error recorded, so a value")),
        Err(error) => Err(error.into_iter().map(|e| e.to_string()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tells_whether_its_stage_recorded_an_error() {
        let errors = run_stage(|ctxt| {
            ctxt.error_at(Span::call_site(), "before");
            assert_eq!(ctxt.scope(|| 1), Some(1));
            let failed = ctxt.scope(|| ctxt.error_at(Span::call_site(), "inside"));
            assert_eq!(failed, None);
            Some(())
        });
        assert_eq!(errors.unwrap_err(), ["before", "inside"]);
    }

    #[test]
    fn a_note_follows_its_error() {
        let errors = run_stage(|ctxt| {
            ctxt.error_with_note(quote::quote!(b), "duplicate", quote::quote!(a), "first");
            Some(())
        });
        assert_eq!(errors.unwrap_err(), ["duplicate", "first"]);
    }

    #[test]
    #[should_panic = "forgot to check for errors"]
    fn an_unchecked_ctxt_panics() {
        drop(Ctxt::new());
    }
}
