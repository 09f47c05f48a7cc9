//! Every misuse of `#[server_endpoint]` on an `impl` block, each reported at its tokens.
//!
//! The checks only record errors in the [`Ctxt`]; they all run, so one build reports every
//! mistake. Type mistakes (a parameter type a role cannot provide) are left to the runtime's
//! extractor traits, whose errors land on the parameter's type.

use quote::quote;
use syn::{GenericArgument, ItemImpl, PathArguments, ReturnType, Type};

use crate::ctxt::Ctxt;
use crate::model::{is_bare, Arg, EndpointImpl, Method, Receiver, Role};

/// Runs every check on the block.
pub(crate) fn endpoint(view: &EndpointImpl<'_>, ctxt: &Ctxt) {
    inherent_impl(view.item, ctxt);
    for misplaced in &view.misplaced {
        ctxt.error_spanned_by(
            misplaced.attr,
            format!(
                "`#[{}]` goes on a method of the `impl` block",
                misplaced.role.name()
            ),
        );
    }
    for method in &view.methods {
        role_attrs(method, ctxt);
        signature(method, ctxt);
    }
    one_method_per_role(view, ctxt);
}

/// The block must be an inherent, non-generic `impl`.
fn inherent_impl(item: &ItemImpl, ctxt: &Ctxt) {
    if let Some((bang, path, for_token)) = &item.trait_ {
        ctxt.error_spanned_by(
            quote!(#bang #path #for_token),
            "`#[server_endpoint]` goes on an inherent `impl` block, not on a trait impl: \
             `#[server_endpoint(\"/path\")] impl MyType { ... }`",
        );
    }
    let generics = &item.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        ctxt.error_spanned_by(
            generics,
            "`#[server_endpoint]` cannot go on a generic `impl` block: \
             each route is registered for one concrete type",
        );
    }
}

/// Exactly one bare lifecycle attribute per method.
fn role_attrs(method: &Method<'_>, ctxt: &Ctxt) {
    let first = method.roles[0];
    for role_attr in &method.roles {
        if !is_bare(&role_attr.attr.meta) {
            ctxt.error_spanned_by(
                &role_attr.attr.meta,
                format!("`#[{}]` takes no arguments", role_attr.role.name()),
            );
        }
    }
    for extra in &method.roles[1..] {
        let message = if extra.role == first.role {
            format!(
                "duplicate `#[{}]` on `{}`",
                extra.role.name(),
                method.ident()
            )
        } else {
            format!(
                "`{}` already handles `#[{}]`: one method handles one event, \
                 write a separate method for `#[{}]`",
                method.ident(),
                first.role.name(),
                extra.role.name()
            )
        };
        ctxt.error_spanned_by(extra.attr, message);
    }
}

/// At most one method per role: later ones are errors that name the first.
fn one_method_per_role(view: &EndpointImpl<'_>, ctxt: &Ctxt) {
    for role in Role::ALL {
        let mut marked = view.methods.iter().filter(|method| method.role() == role);
        let Some(first) = marked.next() else { continue };
        for again in marked {
            let mut error = syn::Error::new_spanned(
                again.roles[0].attr,
                format!(
                    "duplicate `#[{}]`: `{}` already handles this event",
                    role.name(),
                    first.ident()
                ),
            );
            error.combine(syn::Error::new_spanned(
                first.roles[0].attr,
                format!("first `#[{}]` here", role.name()),
            ));
            ctxt.syn_error(error);
        }
    }
}

/// The method's signature: receiver, generics, `unsafe`, parameters and return type.
fn signature(method: &Method<'_>, ctxt: &Ctxt) {
    let sig = &method.item.sig;
    if let Receiver::Other(receiver) = method.receiver {
        ctxt.error_spanned_by(
            receiver,
            "a lifecycle method takes `&mut self`, `&self` or no `self` at all: \
             the handler lives on across the events of its connection",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        ctxt.error_spanned_by(
            &sig.generics,
            "a lifecycle method cannot be generic: its parameters are provided by their concrete \
             types (lifetimes can stay elided, as in `session: &Session`)",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        ctxt.error_spanned_by(
            unsafety,
            "a lifecycle method cannot be `unsafe`: the framework calls it",
        );
    }
    for arg in &method.args {
        parameter(arg, ctxt);
    }
    returns_unit(method, ctxt);
}

/// A parameter is `name: Type` (or `mut name`, `_name`), with a nameable type.
fn parameter(arg: &Arg<'_>, ctxt: &Ctxt) {
    if arg.name.is_none() {
        ctxt.error_spanned_by(
            arg.pat,
            "a lifecycle method's parameter must be a plain name, like `key: String`: \
             a parameter named like a path parameter is bound to it, any other is \
             provided by its type",
        );
    }
    if contains_impl_trait(arg.ty) {
        ctxt.error_spanned_by(
            arg.ty,
            "`impl Trait` cannot be a lifecycle method's parameter type: \
             name the type, like `session: &Session`",
        );
    }
}

/// `#[on_close]` and `#[on_error]` have nobody to reply to.
fn returns_unit(method: &Method<'_>, ctxt: &Ctxt) {
    let role = method.role();
    if role.replies() {
        return;
    }
    if let ReturnType::Type(_, ty) = &method.item.sig.output {
        if !matches!(&**ty, Type::Tuple(tuple) if tuple.elems.is_empty()) {
            ctxt.error_spanned_by(
                ty,
                format!(
                    "an `#[{}]` method must return `()`: nothing can be sent back from it",
                    role.name()
                ),
            );
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Reference(t) => contains_impl_trait(&t.elem),
        Type::Ptr(t) => contains_impl_trait(&t.elem),
        Type::Slice(t) => contains_impl_trait(&t.elem),
        Type::Array(t) => contains_impl_trait(&t.elem),
        Type::Paren(t) => contains_impl_trait(&t.elem),
        Type::Group(t) => contains_impl_trait(&t.elem),
        Type::Tuple(t) => t.elems.iter().any(contains_impl_trait),
        Type::Path(t) => t
            .path
            .segments
            .iter()
            .any(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
                    GenericArgument::Type(ty) => contains_impl_trait(ty),
                    _ => false,
                }),
                _ => false,
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn errors(item: ItemImpl) -> Vec<String> {
        let view = EndpointImpl::from_impl(&item);
        let ctxt = Ctxt::new();
        endpoint(&view, &ctxt);
        match ctxt.check() {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_valid_block_has_no_errors() {
        let item = parse_quote! {
            impl S {
                #[on_open] async fn open(&mut self, session: &Session, key: String) {}
                #[on_message] fn message(&self, mut text: String, _key: u64) -> String { text }
                #[on_close] fn close(reason: CloseReason) -> () {}
                #[on_error] async fn error(self: &mut Self, error: wsendpoint::Error) {}
                fn helper(self) {}
            }
        };
        assert_eq!(errors(item), Vec::<String>::new());
    }

    #[test]
    fn every_mistake_is_reported() {
        let item = parse_quote! {
            impl<T> Trait for S<T> {
                #[on_open(x)] #[on_close] fn a(self) {}
                #[on_open] fn b<'a>(mut self, (x, y): (u8, u8), f: Box<impl Fn()>) {}
                #[on_message] #[on_message] unsafe fn c(&mut self) {}
                #[on_error] fn d(&self) -> String { String::new() }
                #[on_error] type X = u8;
            }
        };
        let all = errors(item);
        let expected = [
            "not on a trait impl",
            "cannot go on a generic `impl` block",
            "`#[on_error]` goes on a method",
            "`#[on_open]` takes no arguments",
            "`a` already handles `#[on_open]`",
            "takes `&mut self`, `&self` or no `self`",
            "takes `&mut self`, `&self` or no `self`",
            "cannot be generic",
            "must be a plain name",
            "`impl Trait` cannot be",
            "duplicate `#[on_message]` on `c`",
            "cannot be `unsafe`",
            "an `#[on_error]` method must return `()`",
            "duplicate `#[on_open]`: `a` already handles this event",
            "first `#[on_open]` here",
        ];
        assert_eq!(all.len(), expected.len(), "{all:#?}");
        for (error, needle) in all.iter().zip(expected) {
            assert!(error.contains(needle), "{error:?} lacks {needle:?}");
        }
    }
}
