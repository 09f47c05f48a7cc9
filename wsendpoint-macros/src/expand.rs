//! `#[server_endpoint]`: parse, check, then generate the `Endpoint` impl and its registration.
//!
//! The output is the user's `impl` block with the lifecycle attributes stripped, followed by
//!
//! ```text
//! const _: () = {
//!     impl ::wsendpoint::__private::Endpoint for MyType { CONFIG, check_params, create, on_* }
//!     ::wsendpoint::__private::inventory::submit! { Registration::of::<MyType>() }
//! };
//! ```
//!
//! Each `on_*` method builds the user method's arguments from the event, calls it (awaiting it if
//! it is `async`) and turns its return value into the reply. Extractor trait paths are spanned at
//! the user's parameter types, so an unsupported type is reported there with the runtime's
//! `#[diagnostic::on_unimplemented]` message; generated locals use mixed-site hygiene.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, Item, ItemImpl, LitStr, ReturnType, Type};

use crate::args::{Args, Route};
use crate::check;
use crate::ctxt::Ctxt;
use crate::model::{strip_role_attrs, Arg, EndpointImpl, Method, Receiver, Role};
use crate::paths::{self, AbsPath};

/// Expands `#[server_endpoint(attr)] item`; on error, the item with its lifecycle attributes
/// stripped, followed by every error as a `compile_error!`.
pub fn server_endpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    try_expand(attr, item.clone()).unwrap_or_else(|error| with_errors(item, &error))
}

/// Expands `#[server_endpoint(attr)] item`, or returns every error found, combined.
pub fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let ctxt = Ctxt::new();
    let route = ctxt
        .ok(syn::parse2::<Args>(attr))
        .and_then(|args| ctxt.ok(args.route()));
    let item = ctxt.ok(impl_block(item));
    let view = item.as_ref().map(EndpointImpl::from_impl);
    if let Some(view) = &view {
        check::endpoint(view, &ctxt);
    }
    ctxt.check()?;
    let (Some(route), Some(view)) = (route, view) else {
        unreachable!("a failed stage records an error");
    };
    let mut user_impl = view.item.clone();
    strip_role_attrs(&mut user_impl);
    let glue = endpoint_glue(&route, &view);
    Ok(quote! {
        #user_impl
        #glue
    })
}

/// `#[on_open]` and its siblings used anywhere but inside a `#[server_endpoint]` block.
pub fn misplaced_role(role: &str, item: TokenStream) -> TokenStream {
    let message = format!(
        "`#[{role}]` must be used on a method inside an `impl` block marked \
         `#[server_endpoint(...)]`"
    );
    let error = syn::Error::new(Span::call_site(), message).into_compile_error();
    quote!(#error #item)
}

/// The item as an `impl` block, or an error at its head showing where the attribute goes.
fn impl_block(item: TokenStream) -> syn::Result<ItemImpl> {
    let message = "`#[server_endpoint]` goes on an inherent `impl` block: \
                   `#[server_endpoint(\"/path\")] impl MyType { ... }`";
    match syn::parse2::<Item>(item)? {
        Item::Impl(item) => Ok(item),
        Item::Struct(item) => Err(head_error(item.struct_token, &item.ident, message)),
        Item::Enum(item) => Err(head_error(item.enum_token, &item.ident, message)),
        Item::Trait(item) => Err(head_error(item.trait_token, &item.ident, message)),
        Item::Fn(item) => Err(head_error(item.sig.fn_token, &item.sig.ident, message)),
        _ => Err(syn::Error::new(Span::call_site(), message)),
    }
}

/// An error at an item's keyword and name, `struct MyType`.
fn head_error(keyword: impl ToTokens, ident: &Ident, message: &str) -> syn::Error {
    syn::Error::new_spanned(quote!(#keyword #ident), message)
}

/// The fallback output: the item, its lifecycle attributes stripped so that they do not add
/// "cannot find attribute" errors, and the errors.
fn with_errors(item: TokenStream, error: &syn::Error) -> TokenStream {
    let item = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(mut block)) => {
            strip_role_attrs(&mut block);
            block.into_token_stream()
        }
        _ => item,
    };
    let errors = error.to_compile_error();
    quote! {
        #item
        #errors
    }
}

/// The trait impl and the registration, inside `const _: () = { ... };`.
fn endpoint_glue(route: &Route, view: &EndpointImpl<'_>) -> TokenStream {
    let self_ty = &view.item.self_ty;
    let endpoint = paths::ENDPOINT;
    let config = config_const(route);
    let check_params = check_params_fn(route, view);
    let create = create_fn(self_ty);
    let handlers = handlers(view).map(|method| dispatch_fn(method, route));
    let registration = registration(self_ty);
    let cfgs = &view.cfgs;
    quote! {
        #(#cfgs)*
        const _: () = {
            impl #endpoint for #self_ty {
                #config
                #check_params
                #create
                #(#handlers)*
            }
            #registration
        };
    }
}

/// `const CONFIG: EndpointConfig = EndpointConfig::new(template, route, params, key);`
fn config_const(route: &Route) -> TokenStream {
    let config = paths::ENDPOINT_CONFIG;
    let template = str_lit(&route.written);
    let axum_route = str_lit(&route.template.route());
    let params = route.template.params().into_iter().map(str_lit);
    let key = match &route.key {
        Some(key) => {
            let some = paths::OPTION_SOME;
            let key = str_lit(key);
            quote!(#some(#key))
        }
        None => paths::OPTION_NONE.into_token_stream(),
    };
    quote! {
        const CONFIG: #config = #config::new(#template, #axum_route, &[#(#params),*], #key);
    }
}

/// `fn check_params`: one `path_param::<T>(params, "name")?;` per distinct parameter bound by
/// name, so a value that does not parse is refused before the upgrade. Omitted when none is.
fn check_params_fn(route: &Route, view: &EndpointImpl<'_>) -> TokenStream {
    let params_var = Ident::new("__ws_params", Span::mixed_site());
    let mut seen = Vec::new();
    let mut checks = Vec::new();
    for method in handlers(view) {
        let cfgs = &method.cfgs;
        for (arg, name) in bound_args(method, route) {
            let id = (name, tokens_key(arg.ty), tokens_key(quote!(#(#cfgs)*)));
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let check = paths::PATH_PARAM.spanned(arg.ty.span());
            let ty = arg.ty;
            let name = str_lit(name);
            checks.push(quote! { #(#cfgs)* #check::<#ty>(#params_var, #name)?; });
        }
    }
    if checks.is_empty() {
        return TokenStream::new();
    }
    let (result, ok) = (paths::RESULT, paths::RESULT_OK);
    let (path_params, error) = (paths::PATH_PARAMS, paths::ERROR);
    quote! {
        fn check_params(#params_var: &#path_params) -> #result<(), #error> {
            #(#checks)*
            #ok(())
        }
    }
}

/// `fn create() -> Self`, via `Default`, spanned at the self type so a missing `Default` is
/// reported there.
fn create_fn(self_ty: &Type) -> TokenStream {
    let span = self_ty.span();
    let default = paths::DEFAULT.spanned(span);
    let call = quote_spanned!(span=> <Self as #default>::default());
    quote! {
        fn create() -> Self {
            #call
        }
    }
}

/// The `Endpoint` method of the role `method` handles: extract, call, reply.
fn dispatch_fn(method: &Method<'_>, route: &Route) -> TokenStream {
    let role = method.role();
    let name = Ident::new(role.name(), Span::call_site());
    let event = event_var();
    let event_ty = event_type(role);
    let output = if role.replies() {
        paths::OUTCOME.into_token_stream()
    } else {
        quote!(())
    };
    let (future, send) = (paths::FUTURE, paths::SEND);
    let vars: Vec<Ident> = (0..method.args.len()).map(arg_var).collect();
    let extractions = method
        .args
        .iter()
        .zip(&vars)
        .map(|(arg, var)| extraction(role, arg, var, route));
    let body = finish(method, user_call(method, &vars));
    let cfgs = &method.cfgs;
    quote! {
        #(#cfgs)*
        fn #name<'__ws>(
            &'__ws mut self,
            #event: #event_ty<'__ws>,
        ) -> impl #future<Output = #output> + #send + '__ws {
            async move {
                #(#extractions)*
                #body
            }
        }
    }
}

/// `let __ws_argN = ...;`: a path parameter bound by name, or a value provided by type.
fn extraction(role: Role, arg: &Arg<'_>, var: &Ident, route: &Route) -> TokenStream {
    let event = event_var();
    let ty = arg.ty;
    let span = ty.span();
    let value = match bound_name(arg, route) {
        Some(name) => {
            let path_param = paths::PATH_PARAM.spanned(span);
            let name = str_lit(name);
            let function = quote_spanned!(span=> #path_param::<#ty>);
            quote!(#function(#event.session().params(), #name))
        }
        None => {
            let (extractor, method) = extractor(role);
            let extractor = extractor.spanned(span);
            let method = Ident::new(method, span);
            let function = quote_spanned!(span=> <#ty as #extractor<'_>>::#method);
            quote!(#function(&#event))
        }
    };
    if role.replies() {
        return quote!(let #var = #value?;);
    }
    let (ok, err) = (paths::RESULT_OK, paths::RESULT_ERR);
    let value_var = Ident::new("__ws_value", Span::mixed_site());
    quote! {
        let #var = match #value {
            #ok(#value_var) => #value_var,
            #err(_) => return,
        };
    }
}

/// `Self::method(self, args)` or `Self::method(args)`, awaited when the method is `async`.
///
/// The path form finds the inherent method even when it is named like a trait method in scope
/// (`on_open`, `create`): method-call syntax would pick `Endpoint::on_open` over an inherent
/// `on_open(&self)`, whose receiver needs an extra autoref.
fn user_call(method: &Method<'_>, vars: &[Ident]) -> TokenStream {
    let ident = method.ident();
    let call = match method.receiver {
        Receiver::None => quote!(Self::#ident(#(#vars),*)),
        _ => quote!(Self::#ident(self, #(#vars),*)),
    };
    if method.is_async() {
        quote!(#call.await)
    } else {
        call
    }
}

/// The async block's value: the reply, located at the method's return type so that a type that
/// cannot be a reply is reported there; or `()`, pinned by `expect_unit` (the checks already
/// require `#[on_close]` and `#[on_error]` methods to return `()`).
fn finish(method: &Method<'_>, call: TokenStream) -> TokenStream {
    if !method.role().replies() {
        let expect_unit = paths::EXPECT_UNIT;
        return quote!(#expect_unit(#call));
    }
    let span = match &method.item.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    let returned = Ident::new("__ws_returned", Span::mixed_site());
    let returned_at_type = Ident::new("__ws_returned", Span::mixed_site().located_at(span));
    let into_reply = paths::INTO_REPLY.spanned(span);
    let into_reply = quote_spanned!(span=> #into_reply::into_reply);
    quote! {
        let #returned = #call;
        #into_reply(#returned_at_type)
    }
}

/// `inventory::submit! { Registration::of::<MyType>() }`.
fn registration(self_ty: &Type) -> TokenStream {
    let (inventory, registration) = (paths::INVENTORY, paths::REGISTRATION);
    quote! {
        #inventory::submit! {
            #registration::of::<#self_ty>()
        }
    }
}

/// The methods that handle a role, in role order.
fn handlers<'v, 'a>(view: &'v EndpointImpl<'a>) -> impl Iterator<Item = &'v Method<'a>> {
    Role::ALL.into_iter().filter_map(|role| view.handler(role))
}

/// The method's parameters bound by name to a path parameter, with that name.
fn bound_args<'m, 'a: 'm>(
    method: &'m Method<'a>,
    route: &'m Route,
) -> impl Iterator<Item = (&'m Arg<'a>, &'m str)> {
    method
        .args
        .iter()
        .filter_map(|arg| bound_name(arg, route).map(|name| (arg, name)))
}

/// The path parameter `arg` is bound to: the one with exactly its name.
fn bound_name<'r>(arg: &Arg<'_>, route: &'r Route) -> Option<&'r str> {
    let name = arg.name?;
    route
        .template
        .params()
        .into_iter()
        .find(|param| *name == *param)
}

fn event_type(role: Role) -> AbsPath {
    match role {
        Role::Open => paths::OPEN_EVENT,
        Role::Message => paths::MESSAGE_EVENT,
        Role::Close => paths::CLOSE_EVENT,
        Role::Error => paths::ERROR_EVENT,
    }
}

/// The extractor trait of `role` and its method.
fn extractor(role: Role) -> (AbsPath, &'static str) {
    match role {
        Role::Open => (paths::FROM_OPEN, "from_open"),
        Role::Message => (paths::FROM_MESSAGE, "from_message"),
        Role::Close => (paths::FROM_CLOSE, "from_close"),
        Role::Error => (paths::FROM_ERROR, "from_error"),
    }
}

fn event_var() -> Ident {
    Ident::new("__ws_event", Span::mixed_site())
}

fn arg_var(index: usize) -> Ident {
    format_ident!("__ws_arg{}", index, span = Span::mixed_site())
}

fn str_lit(value: &str) -> LitStr {
    LitStr::new(value, Span::call_site())
}

/// A comparable rendering of tokens, to tell distinct types apart.
fn tokens_key(tokens: impl ToTokens) -> String {
    tokens.into_token_stream().to_string()
}
