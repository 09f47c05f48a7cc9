//! Every misuse of `#[server_endpoint]` on an `impl` block, each reported at its tokens.
//!
//! The checks only record errors in the [`Ctxt`]; they all run, so one build reports every
//! mistake. Most type mistakes (a parameter type a role cannot provide) are left to the runtime's
//! extractor traits, whose errors land on the parameter's type; the checks here catch what the
//! syntax alone shows, with a message that says what was meant: a parameter named like no path
//! parameter, a message taken outside `#[on_message]`, two handlers for one kind of message.

use quote::quote;
use syn::{GenericArgument, ItemImpl, PathArguments, ReturnType, Type};

use crate::args::Route;
use crate::ctxt::Ctxt;
use crate::model::{is_bare, Arg, EndpointImpl, Method, Receiver, Role};
use crate::suggest::closest;
use crate::template::backticked;
use crate::types::{self, Kinds};

/// Runs every check on the block; `route` is `None` when the route template is invalid (its
/// errors are already recorded), and then the checks that need its parameters are skipped.
pub(crate) fn endpoint(view: &EndpointImpl<'_>, route: Option<&Route>, ctxt: &Ctxt) {
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
        if let Some(route) = route {
            parameter_names(method, route, ctxt);
        }
    }
    one_method_per_role(view, ctxt);
    if let Some(route) = route {
        message_kinds(view, &route.template.params(), ctxt);
    }
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

/// At most one method per role, `#[on_message]` aside: later ones are errors that name the
/// first.
fn one_method_per_role(view: &EndpointImpl<'_>, ctxt: &Ctxt) {
    for role in Role::ALL.into_iter().filter(|role| role.is_single()) {
        let mut marked = view.handlers(role);
        let Some(first) = marked.next() else { continue };
        for again in marked {
            ctxt.error_with_note(
                again.roles[0].attr,
                format!(
                    "duplicate `#[{}]`: `{}` already handles {}",
                    role.name(),
                    first.ident(),
                    role.handles()
                ),
                first.roles[0].attr,
                format!("first `#[{}]` here", role.name()),
            );
        }
    }
}

/// The method's signature: receiver, generics, `unsafe`, parameters and return type.
fn signature(method: &Method<'_>, ctxt: &Ctxt) {
    let sig = &method.item.sig;
    receiver(method, ctxt);
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
    match method.role() {
        Role::Handshake => returns_verdict(method, ctxt),
        role if !role.replies() => returns_unit(method, ctxt),
        _ => {}
    }
}

/// `&mut self`, `&self` or none; `#[on_handshake]` none at all.
fn receiver(method: &Method<'_>, ctxt: &Ctxt) {
    if method.role() == Role::Handshake {
        if let Some(receiver) = method.item.sig.receiver() {
            ctxt.error_spanned_by(
                receiver,
                "`#[on_handshake]` runs before the handler exists: it takes no `self` and \
                 returns `Self`, `Accept<Self>` or `Result<_, Reject>`",
            );
        }
    } else if let Receiver::Other(receiver) = method.receiver {
        ctxt.error_spanned_by(
            receiver,
            "a lifecycle method takes `&mut self`, `&self` or no `self` at all: \
             the handler lives on across the events of its connection",
        );
    }
}

/// A parameter's type must be nameable.
fn parameter(arg: &Arg<'_>, ctxt: &Ctxt) {
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
    if let ReturnType::Type(_, ty) = &method.item.sig.output {
        if !is_unit(ty) {
            ctxt.error_spanned_by(
                ty,
                format!(
                    "an `#[{}]` method must return `()`: nothing can be sent back from it",
                    method.role().name()
                ),
            );
        }
    }
}

/// `#[on_handshake]` returns its verdict; the runtime's `IntoAccept` checks the type.
fn returns_verdict(method: &Method<'_>, ctxt: &Ctxt) {
    let message = "`#[on_handshake]` returns `Self`, `Accept<Self>` or `Result<_, Reject>`: \
                   it builds the handler of the new session, or refuses the handshake";
    match &method.item.sig.output {
        ReturnType::Type(_, ty) if is_unit(ty) => ctxt.error_spanned_by(ty, message),
        ReturnType::Type(..) => {}
        ReturnType::Default => ctxt.error_spanned_by(method.ident(), message),
    }
}

/// Parameter names against the route: a value that can only come from the URL must be named
/// like a path parameter, and a message belongs in `#[on_message]`.
fn parameter_names(method: &Method<'_>, route: &Route, ctxt: &Ctxt) {
    let role = method.role();
    let params = route.template.params();
    for arg in &method.args {
        if arg.bound_to(&params).is_some() {
            continue;
        }
        if let Some(ident) = arg.binding_ident() {
            if let Some(param) = params.iter().find(|param| ident == *param) {
                ctxt.error_spanned_by(
                    arg.pat,
                    format!(
                        "a parameter bound to the path parameter `{param}` is a plain name: \
                         `{param}: {ty}` or `mut {param}: {ty}`",
                        ty = types::display(arg.ty)
                    ),
                );
                continue;
            }
        }
        let is_message = !types::message_kinds(arg.ty).is_empty();
        let names_a_param = types::is_path_value(arg.ty) && !(role == Role::Message && is_message);
        match arg.name {
            Some(name) if names_a_param => {
                ctxt.error_spanned_by(name, not_a_path_param(method, arg, route));
            }
            _ if is_message && role != Role::Message => {
                ctxt.error_spanned_by(
                    arg.ty,
                    format!(
                        "`{}` is a message: it belongs in `#[on_message]`; `#[{}]` takes {}",
                        types::display(arg.ty),
                        role.name(),
                        role.accepts()
                    ),
                );
            }
            _ => {}
        }
    }
}

/// "`kee` is not a path parameter of "/ws/<key>": the route has `key`; did you mean `key`?"
fn not_a_path_param(method: &Method<'_>, arg: &Arg<'_>, route: &Route) -> String {
    let name = arg.name.map(ToString::to_string).unwrap_or_default();
    let params = route.template.params();
    let mut message = if params.is_empty() {
        format!(
            "`{name}` is not a path parameter: the route \"{}\" has none",
            route.written
        )
    } else {
        format!(
            "`{name}` is not a path parameter of \"{}\": the route has {}",
            route.written,
            backticked(&params)
        )
    };
    let role = method.role();
    if let Some(param) = closest(&name, &params) {
        message.push_str(&format!("; did you mean `{param}`?"));
    } else if types::is_string(arg.ty) {
        message.push_str(&format!(
            "; a message belongs in `#[on_message]`, and `#[{}]` takes {}",
            role.name(),
            role.accepts()
        ));
    } else {
        message.push_str(&format!(
            "; a `{}` can only come from the URL, bound by name to a path parameter",
            types::display(arg.ty)
        ));
    }
    message
}

/// One message parameter per `#[on_message]` method, and one method per kind of message.
fn message_kinds(view: &EndpointImpl<'_>, params: &[&str], ctxt: &Ctxt) {
    let mut owners: Vec<(Kinds, &Method<'_>)> = Vec::new();
    for method in view.handlers(Role::Message) {
        let messages: Vec<(&Arg<'_>, Kinds)> = method
            .args
            .iter()
            .filter(|arg| arg.bound_to(params).is_none())
            .map(|arg| (arg, types::message_kinds(arg.ty)))
            .filter(|(_, kinds)| !kinds.is_empty())
            .collect();
        let Some(((first, kinds), others)) = messages.split_first() else {
            continue;
        };
        let (first_pat, first_ty) = (first.pat, first.ty);
        for (other, _) in others {
            let (pat, ty) = (other.pat, other.ty);
            ctxt.error_spanned_by(
                quote!(#pat #ty),
                format!(
                    "a second message parameter: `{}` already takes the message; a method takes \
                     one, and each kind (text, binary, pong) gets its own `#[on_message]` method",
                    types::display(quote!(#first_pat: #first_ty)),
                ),
            );
        }
        let mut clashes: Vec<(&Method<'_>, Kinds)> = Vec::new();
        for kind in kinds.each() {
            match owners.iter().find(|(owned, _)| *owned == kind) {
                Some((_, owner)) => {
                    match clashes.iter_mut().find(|(o, _)| o.ident() == owner.ident()) {
                        Some((_, clash)) => *clash = clash.or(kind),
                        None => clashes.push((owner, kind)),
                    }
                }
                None => owners.push((kind, method)),
            }
        }
        for (owner, kinds) in clashes {
            ctxt.error_with_note(
                method.ident(),
                format!(
                    "two `#[on_message]` methods take {kinds} messages: `{}` already does; \
                     an endpoint has at most one text, one binary and one pong handler",
                    owner.ident()
                ),
                owner.ident(),
                format!("`{}` takes {kinds} messages here", owner.ident()),
            );
        }
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
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
    use proc_macro2::Span;
    use syn::{parse_quote, LitStr};

    use super::*;
    use crate::template::Template;

    fn route(template: &str) -> Route {
        Route {
            written: template.to_owned(),
            template: crate::ctxt::run_stage(|ctxt| {
                Template::parse(&LitStr::new(template, Span::call_site()), ctxt)
            })
            .unwrap(),
            key: None,
        }
    }

    fn errors_at(template: &str, item: ItemImpl) -> Vec<String> {
        let view = EndpointImpl::from_impl(&item);
        let route = route(template);
        let checked = crate::ctxt::run_stage(|ctxt| {
            endpoint(&view, Some(&route), ctxt);
            Some(())
        });
        checked.err().unwrap_or_default()
    }

    fn errors(item: ItemImpl) -> Vec<String> {
        errors_at("/ws/<key>", item)
    }

    fn assert_errors(all: &[String], expected: &[&str]) {
        assert_eq!(all.len(), expected.len(), "{all:#?}");
        for (error, needle) in all.iter().zip(expected) {
            assert!(error.contains(needle), "{error:?} lacks {needle:?}");
        }
    }

    #[test]
    fn a_valid_block_has_no_errors() {
        let item = parse_quote! {
            impl S {
                #[on_handshake] async fn hello(h: &Handshake, db: State<Db>, key: String) -> Self {}
                #[on_open] async fn open(&mut self, session: &Session, key: String) {}
                #[on_message] fn message(&self, mut text: String, key: u64) -> String { text }
                #[on_message] fn binary(&self, Bytes(data): Bytes, _: &Session) {}
                #[on_message] fn pong(_: Pong) {}
                #[on_message] fn custom(words: Words) {}
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
        assert_errors(
            &errors(item),
            &[
                "not on a trait impl",
                "cannot go on a generic `impl` block",
                "`#[on_error]` goes on a method",
                "`#[on_open]` takes no arguments",
                "`a` already handles `#[on_open]`",
                "takes `&mut self`, `&self` or no `self`",
                "takes `&mut self`, `&self` or no `self`",
                "cannot be generic",
                "`impl Trait` cannot be",
                "duplicate `#[on_message]` on `c`",
                "cannot be `unsafe`",
                "an `#[on_error]` method must return `()`",
                "duplicate `#[on_open]`: `a` already handles this event",
                "first `#[on_open]` here",
            ],
        );
    }

    #[test]
    fn handshake_mistakes() {
        let item = parse_quote! {
            impl S {
                #[on_handshake] fn a(&self) -> Self {}
                #[on_handshake] fn b(text: String) {}
                #[on_handshake] async fn c(data: Vec<u8>) -> () {}
            }
        };
        assert_errors(
            &errors(item),
            &[
                "`#[on_handshake]` runs before the handler exists: it takes no `self`",
                "`#[on_handshake]` returns `Self`, `Accept<Self>` or `Result<_, Reject>`",
                "`text` is not a path parameter of \"/ws/<key>\": the route has `key`; \
                 a message belongs in `#[on_message]`, and `#[on_handshake]` takes \
                 `&Handshake`, `State<T>` and path parameters bound by name",
                "`#[on_handshake]` returns `Self`",
                "`Vec<u8>` is a message: it belongs in `#[on_message]`; `#[on_handshake]` takes \
                 `&Handshake`, `State<T>` and path parameters bound by name",
                "duplicate `#[on_handshake]`: `a` already handles the handshake",
                "first `#[on_handshake]` here",
                "duplicate `#[on_handshake]`: `a` already handles the handshake",
                "first `#[on_handshake]` here",
            ],
        );
    }

    #[test]
    fn names_that_match_no_path_parameter() {
        let item = parse_quote! {
            impl S {
                #[on_open] fn open(&mut self, kee: String, id: u64, _: String, ref key: String) {}
                #[on_message] fn message(&mut self, text: String, count: u32) {}
                #[on_close] fn close(&mut self, reason: CloseReason, text: String) {}
                #[on_error] fn error(&mut self, _key: bool, pong: Pong) {}
            }
        };
        assert_errors(
            &errors(item),
            &[
                "`kee` is not a path parameter of \"/ws/<key>\": the route has `key`; \
                 did you mean `key`?",
                "`id` is not a path parameter of \"/ws/<key>\": the route has `key`; \
                 a `u64` can only come from the URL, bound by name to a path parameter",
                "`String` is a message: it belongs in `#[on_message]`; `#[on_open]` takes",
                "a parameter bound to the path parameter `key` is a plain name: \
                 `key: String` or `mut key: String`",
                "`count` is not a path parameter",
                "`text` is not a path parameter of \"/ws/<key>\": the route has `key`; \
                 a message belongs in `#[on_message]`, and `#[on_close]` takes \
                 `&Session`, `CloseReason`, `State<T>` and path parameters bound by name",
                "`_key` is not a path parameter of \"/ws/<key>\": the route has `key`; \
                 did you mean `key`?",
                "`Pong` is a message",
            ],
        );
        let item = parse_quote! {
            impl S { #[on_open] fn open(id: u64) {} }
        };
        assert_errors(
            &errors_at("/echo", item),
            &["`id` is not a path parameter: the route \"/echo\" has none"],
        );
    }

    #[test]
    fn one_handler_per_message_kind() {
        let item = parse_quote! {
            impl S {
                #[on_message] fn a(&mut self, text: String) {}
                #[on_message] fn b(&mut self, Json(cmd): Json<Cmd>) {}
                #[on_message] fn c(&mut self, raw: Message) {}
                #[on_message] fn d(&mut self, text: &str, data: Vec<u8>, key: String) {}
                #[on_message] fn e(&mut self, _: Pong, session: &Session) {}
                #[on_message] fn f(&mut self, _: Pong) {}
            }
        };
        assert_errors(
            &errors(item),
            &[
                "two `#[on_message]` methods take text messages: `a` already does; \
                 an endpoint has at most one text, one binary and one pong handler",
                "`a` takes text messages here",
                "two `#[on_message]` methods take text messages: `a` already does",
                "`a` takes text messages here",
                "a second message parameter: `text: &str` already takes the message",
                "two `#[on_message]` methods take text messages: `a` already does",
                "`a` takes text messages here",
                "two `#[on_message]` methods take pong messages: `e` already does",
                "`e` takes pong messages here",
            ],
        );
    }

    #[test]
    fn raw_message_overlaps_both_kinds() {
        let item = parse_quote! {
            impl S {
                #[on_message] fn a(&mut self, raw: Message) {}
                #[on_message] fn b(&mut self, raw: wsendpoint::Message) {}
            }
        };
        assert_errors(
            &errors(item),
            &[
                "two `#[on_message]` methods take text and binary messages: `a` already does",
                "`a` takes text and binary messages here",
            ],
        );
    }

    #[test]
    fn without_a_valid_route_name_checks_are_skipped() {
        let item: ItemImpl = parse_quote! {
            impl S { #[on_open] fn open(&mut self, kee: String) {} }
        };
        let view = EndpointImpl::from_impl(&item);
        let ctxt = Ctxt::new();
        endpoint(&view, None, &ctxt);
        assert!(ctxt.check().is_ok());
    }
}
