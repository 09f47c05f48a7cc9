//! `#[server_endpoint]`: parse, check, then generate the `Endpoint` impl and its registration.
//!
//! The output is the user's `impl` block with the lifecycle attributes stripped, followed by
//!
//! ```text
//! const _: () = {
//!     impl ::wsendpoint::__private::Endpoint for MyType {
//!         CONFIG, check_params, check_state, create, on_open, on_message, on_close, on_error
//!     }
//!     ::wsendpoint::__private::inventory::submit! { Registration::of::<MyType>() }
//! };
//! ```
//!
//! `create` runs `#[on_handshake]` (or `Default`); each `on_*` method builds the user method's
//! arguments from the event, calls it (awaiting it if it is `async`) and turns its return value
//! into the reply. `on_message` tries the `#[on_message]` methods in source order and runs the
//! first whose parameters all accept the message's kind. Extractor trait paths are spanned at the
//! user's parameter types, so an unsupported type is reported there with the runtime's
//! `#[diagnostic::on_unimplemented]` message; generated locals use mixed-site hygiene.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, Item, ItemImpl, LitInt, LitStr, ReturnType, Type};

use crate::args::{Args, Config, Route};
use crate::check;
use crate::ctxt::Ctxt;
use crate::model::{strip_role_attrs, Arg, EndpointImpl, Method, Receiver, Role};
use crate::options::{Options, Origins, Valued};
use crate::paths::{self, AbsPath};
use crate::types;

/// Expands `#[server_endpoint(attr)] item`; on error, the item with its lifecycle attributes
/// stripped, followed by every error as a `compile_error!`.
pub fn server_endpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    try_expand(attr, item.clone()).unwrap_or_else(|error| with_errors(item, &error))
}

/// Expands `#[server_endpoint(attr)] item`, or returns every error found, combined.
pub fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let ctxt = Ctxt::new();
    let config = ctxt
        .ok(syn::parse2::<Args>(attr))
        .and_then(|args| args.resolve(&ctxt));
    let item = ctxt.ok(impl_block(item));
    let view = item.as_ref().map(EndpointImpl::from_impl);
    if let Some(view) = &view {
        check::endpoint(view, config.as_ref().map(|config| &config.route), &ctxt);
    }
    ctxt.check()?;
    let (Some(config), Some(view)) = (config, view) else {
        unreachable!("a failed stage records an error");
    };
    let mut user_impl = view.item.clone();
    strip_role_attrs(&mut user_impl);
    let glue = endpoint_glue(&config, &view);
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
fn endpoint_glue(config: &Config, view: &EndpointImpl<'_>) -> TokenStream {
    let self_ty = &view.item.self_ty;
    let route = &config.route;
    let endpoint = paths::ENDPOINT;
    let config_const = config_const(config);
    let check_params = check_params_fn(route, view);
    let check_state = check_state_fn(view);
    let create = create_fn(view, route);
    let on_open = view
        .handler(Role::Open)
        .map(|method| event_fn(method, route));
    let on_message = on_message_fn(view, route);
    let on_close = view
        .handler(Role::Close)
        .map(|method| event_fn(method, route));
    let on_error = view
        .handler(Role::Error)
        .map(|method| event_fn(method, route));
    let registration = registration(self_ty);
    let cfgs = &view.cfgs;
    quote! {
        #(#cfgs)*
        const _: () = {
            impl #endpoint for #self_ty {
                #config_const
                #check_params
                #check_state
                #create
                #on_open
                #on_message
                #on_close
                #on_error
            }
            #registration
        };
    }
}

/// `const CONFIG: EndpointConfig = EndpointConfig::new(template, route, params, key)`, then one
/// `.with_*(...)` call per option the user gave.
fn config_const(config: &Config) -> TokenStream {
    let route = &config.route;
    let endpoint_config = paths::ENDPOINT_CONFIG;
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
    let options = option_calls(config);
    quote! {
        const CONFIG: #endpoint_config = #endpoint_config::new(
            #template, #axum_route, &[#(#params),*], #key
        ) #(#options)*;
    }
}

/// `.with_max_message_size(65536usize)` and its siblings, in the documented order.
fn option_calls(config: &Config) -> Vec<TokenStream> {
    let options = &config.options;
    let mut calls = Vec::new();
    if let Some(origins) = &options.allowed_origins {
        let policy = paths::ORIGIN_POLICY;
        let value = match origins {
            Origins::Any => quote!(#policy::Any),
            Origins::List(list) => quote!(#policy::List(&[#(#list),*])),
        };
        calls.push(quote!(.with_allowed_origins(#value)));
    }
    if let Some(list) = &options.subprotocols {
        calls.push(quote!(.with_subprotocols(&[#(#list),*])));
    }
    if let Some(size) = options.max_message_size {
        let size = usize_lit(size);
        calls.push(quote!(.with_max_message_size(#size)));
    }
    if let Some(interval) = options.ping_interval {
        let interval = duration(interval);
        calls.push(quote!(.with_ping_interval(#interval)));
    }
    if let Some(timeout) = options.idle_timeout {
        let timeout = duration(timeout);
        calls.push(quote!(.with_idle_timeout(#timeout)));
    }
    if let Some(capacity) = options.send_queue {
        let capacity = usize_lit(capacity);
        calls.push(quote!(.with_send_queue(#capacity)));
    }
    let choices = [
        ("with_on_overflow", paths::OVERFLOW, options.on_overflow),
        (
            "with_on_duplicate_key",
            paths::DUPLICATE_KEY,
            options.on_duplicate_key,
        ),
        (
            "with_on_decode_error",
            paths::DECODE_ERRORS,
            options.on_decode_error,
        ),
    ];
    for (method, enum_path, choice) in choices {
        if let Some(choice) = choice {
            let method = Ident::new(method, Span::call_site());
            let variant = Ident::new(choice.value, choice.span);
            calls.push(quote!(.#method(#enum_path::#variant)));
        }
    }
    if let Some(history) = history(options) {
        calls.push(quote!(.with_history(#history)));
    }
    calls
}

/// `Some(HistoryConfig::new(Duration::from_millis(120000)).with_size(100usize))` when
/// `history` was given.
fn history(options: &Options) -> Option<TokenStream> {
    let kept = options.history?;
    let Some(millis) = kept.value else {
        return Some(paths::OPTION_NONE.into_token_stream());
    };
    let (some, duration, config) = (paths::OPTION_SOME, paths::DURATION, paths::HISTORY_CONFIG);
    let millis = LitInt::new(&millis.to_string(), kept.span);
    let size = options.history_size.map(|size| {
        let size = usize_lit(size);
        quote!(.with_size(#size))
    });
    Some(quote!(#some(#config::new(#duration::from_millis(#millis)) #size)))
}

/// `65536usize`, at the user's value so that a value too large for the target is reported there.
fn usize_lit(value: Valued<u64>) -> LitInt {
    LitInt::new(&format!("{}usize", value.value), value.span)
}

/// `Some(Duration::from_millis(20000))`, or `None` for `"off"`.
fn duration(value: Valued<Option<u64>>) -> TokenStream {
    match value.value {
        Some(millis) => {
            let (some, duration) = (paths::OPTION_SOME, paths::DURATION);
            let millis = LitInt::new(&millis.to_string(), value.span);
            quote!(#some(#duration::from_millis(#millis)))
        }
        None => paths::OPTION_NONE.into_token_stream(),
    }
}

/// `fn check_params`: one `path_param::<T>(params, "name")?;` per distinct parameter bound by
/// name, so a value that does not parse is refused before the upgrade. Omitted when none is.
fn check_params_fn(route: &Route, view: &EndpointImpl<'_>) -> TokenStream {
    let params_var = Ident::new("__ws_params", Span::mixed_site());
    let params = route.template.params();
    let mut seen = Vec::new();
    let mut checks = Vec::new();
    for method in methods(view) {
        let cfgs = &method.cfgs;
        for arg in &method.args {
            let Some(name) = arg.bound_to(&params) else {
                continue;
            };
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

/// `fn check_state`: one `require_state::<T>(state)?;` per distinct `State<T>` parameter, so a
/// hub without the value refuses the handshake instead of failing in an event. Omitted when no
/// method takes a `State<T>`.
fn check_state_fn(view: &EndpointImpl<'_>) -> TokenStream {
    let state_var = Ident::new("__ws_state", Span::mixed_site());
    let mut seen = Vec::new();
    let mut checks = Vec::new();
    for method in methods(view) {
        let cfgs = &method.cfgs;
        for inner in method
            .args
            .iter()
            .filter_map(|arg| types::state_inner(arg.ty))
        {
            let id = (tokens_key(inner), tokens_key(quote!(#(#cfgs)*)));
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let require = paths::REQUIRE_STATE.spanned(inner.span());
            checks.push(quote! { #(#cfgs)* #require::<#inner>(#state_var)?; });
        }
    }
    if checks.is_empty() {
        return TokenStream::new();
    }
    let (result, ok) = (paths::RESULT, paths::RESULT_OK);
    let (state_map, error) = (paths::STATE_MAP, paths::ERROR);
    quote! {
        fn check_state(#state_var: &#state_map) -> #result<(), #error> {
            #(#checks)*
            #ok(())
        }
    }
}

/// `fn create`: runs `#[on_handshake]`, or accepts every handshake with a `Default` handler.
///
/// An `#[on_handshake]` method under `#[cfg(...)]` gets the `Default` version under the opposite
/// condition, since `create` has no default in the trait.
fn create_fn(view: &EndpointImpl<'_>, route: &Route) -> TokenStream {
    let Some(method) = view.handler(Role::Handshake) else {
        return default_create_fn(&view.item.self_ty);
    };
    let (future, send) = (paths::FUTURE, paths::SEND);
    let output = create_output();
    let handshake = paths::HANDSHAKE;
    let handshake_var = handshake_var();
    let body = handshake_body(method, route);
    let cfgs = &method.cfgs;
    let otherwise = (!cfgs.is_empty()).then(|| {
        let predicates = cfgs.iter().map(|cfg| match &cfg.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            other => other.to_token_stream(),
        });
        let default_create = default_create_fn(&view.item.self_ty);
        quote! {
            #[cfg(not(all(#(#predicates),*)))]
            #default_create
        }
    });
    quote! {
        #(#cfgs)*
        fn create<'__ws>(
            #handshake_var: &'__ws #handshake,
        ) -> impl #future<Output = #output> + #send + '__ws {
            async move {
                #body
            }
        }
        #otherwise
    }
}

/// `fn create` accepting every handshake with `Default`, spanned at the self type so that a
/// missing `Default` is reported there.
fn default_create_fn(self_ty: &Type) -> TokenStream {
    let (future, send) = (paths::FUTURE, paths::SEND);
    let output = create_output();
    let (handshake, accept, ok) = (paths::HANDSHAKE, paths::ACCEPT, paths::RESULT_OK);
    let span = self_ty.span();
    let default = paths::DEFAULT.spanned(span);
    let call = quote_spanned!(span=> <Self as #default>::default());
    let handler = Ident::new("__ws_handler", Span::mixed_site());
    quote! {
        fn create<'__ws>(
            _: &'__ws #handshake,
        ) -> impl #future<Output = #output> + #send + '__ws {
            let #handler = #call;
            async move { #ok(#accept::new(#handler)) }
        }
    }
}

/// `Result<Accept<Self>, Reject>`.
fn create_output() -> TokenStream {
    let (result, accept, reject) = (paths::RESULT, paths::ACCEPT, paths::REJECT);
    quote!(#result<#accept<Self>, #reject>)
}

/// Extract the arguments, call `#[on_handshake]`, turn its result into the verdict.
fn handshake_body(method: &Method<'_>, route: &Route) -> TokenStream {
    let vars = arg_vars(method);
    let extractions = extractions(method, route, &vars);
    let call = user_call(method, &vars);
    let span = return_span(method);
    let returned = Ident::new("__ws_returned", Span::mixed_site());
    let returned_at_type = Ident::new("__ws_returned", Span::mixed_site().located_at(span));
    let into_accept = paths::INTO_ACCEPT.spanned(span);
    let into_accept = quote_spanned!(span=> #into_accept::<Self>::into_accept);
    quote! {
        #(#extractions)*
        let #returned = #call;
        #into_accept(#returned_at_type)
    }
}

/// The `Endpoint` method of the role `method` handles (`#[on_open]`, `#[on_close]` or
/// `#[on_error]`): extract, call, reply.
fn event_fn(method: &Method<'_>, route: &Route) -> TokenStream {
    let role = method.role();
    let vars = arg_vars(method);
    let extractions = extractions(method, route, &vars);
    let body = finish(method, user_call(method, &vars));
    let signature = event_signature(role);
    let cfgs = &method.cfgs;
    quote! {
        #(#cfgs)*
        #signature {
            async move {
                #(#extractions)*
                #body
            }
        }
    }
}

/// `fn on_message`: each `#[on_message]` method in source order, guarded by the message kinds
/// its parameters accept; a message none takes goes to `unhandled`.
fn on_message_fn(view: &EndpointImpl<'_>, route: &Route) -> Option<TokenStream> {
    let methods: Vec<_> = view.handlers(Role::Message).collect();
    if methods.is_empty() {
        return None;
    }
    let arms = methods.iter().map(|method| message_arm(method, route));
    let signature = event_signature(Role::Message);
    let unhandled = paths::UNHANDLED;
    let event = event_var();
    Some(quote! {
        #signature {
            async move {
                #(#arms)*
                #unhandled(&#event)
            }
        }
    })
}

/// `if MessageKinds::ALL.and(<T as FromMessage>::KINDS)... .contains(kind) { ...; return ...; }`
fn message_arm(method: &Method<'_>, route: &Route) -> TokenStream {
    let params = route.template.params();
    let event = event_var();
    let kinds = method
        .args
        .iter()
        .filter(|arg| arg.bound_to(&params).is_none())
        .map(|arg| {
            let ty = arg.ty;
            let span = ty.span();
            let from_message = paths::FROM_MESSAGE.spanned(span);
            let kinds = quote_spanned!(span=> <#ty as #from_message<'_>>::KINDS);
            quote!(.and(#kinds))
        });
    let message_kinds = paths::MESSAGE_KINDS;
    let vars = arg_vars(method);
    let extractions = extractions(method, route, &vars);
    let body = finish(method, user_call(method, &vars));
    let cfgs = &method.cfgs;
    quote! {
        #(#cfgs)*
        if #message_kinds::ALL #(#kinds)*.contains(#event.kind()) {
            #(#extractions)*
            #body
        }
    }
}

/// `fn on_open<'__ws>(&'__ws mut self, __ws_event: OpenEvent<'__ws>) -> impl Future<...>`.
fn event_signature(role: Role) -> TokenStream {
    let name = Ident::new(role.name(), Span::call_site());
    let event = event_var();
    let event_ty = event_type(role);
    let output = if role.replies() {
        paths::OUTCOME.into_token_stream()
    } else {
        quote!(())
    };
    let (future, send) = (paths::FUTURE, paths::SEND);
    quote! {
        fn #name<'__ws>(
            &'__ws mut self,
            #event: #event_ty<'__ws>,
        ) -> impl #future<Output = #output> + #send + '__ws
    }
}

/// `let __ws_argN = ...;` for each parameter of `method`.
fn extractions<'m>(
    method: &'m Method<'_>,
    route: &'m Route,
    vars: &'m [Ident],
) -> impl Iterator<Item = TokenStream> + 'm {
    let role = method.role();
    method
        .args
        .iter()
        .zip(vars)
        .map(move |(arg, var)| extraction(role, arg, var, route))
}

/// `let __ws_argN = ...;`: a path parameter bound by name, or a value provided by type.
fn extraction(role: Role, arg: &Arg<'_>, var: &Ident, route: &Route) -> TokenStream {
    let ty = arg.ty;
    let span = ty.span();
    let (source, params) = if role == Role::Handshake {
        let handshake = handshake_var();
        (quote!(#handshake), quote!(#handshake.params()))
    } else {
        let event = event_var();
        (quote!(&#event), quote!(#event.session().params()))
    };
    let value = match arg.bound_to(&route.template.params()) {
        Some(name) => {
            let path_param = paths::PATH_PARAM.spanned(span);
            let name = str_lit(name);
            let function = quote_spanned!(span=> #path_param::<#ty>);
            quote!(#function(#params, #name))
        }
        None => {
            let (extractor, method) = extractor(role);
            let extractor = extractor.spanned(span);
            let method = Ident::new(method, span);
            let function = quote_spanned!(span=> <#ty as #extractor<'_>>::#method);
            quote!(#function(#source))
        }
    };
    if matches!(role, Role::Handshake) || role.replies() {
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

/// The method's result: the reply, located at the method's return type so that a type that
/// cannot be a reply is reported there (returned early from an `#[on_message]` arm); or `()`,
/// pinned by `expect_unit` (the checks already require `#[on_close]` and `#[on_error]` methods to
/// return `()`).
fn finish(method: &Method<'_>, call: TokenStream) -> TokenStream {
    let role = method.role();
    if !role.replies() {
        let expect_unit = paths::EXPECT_UNIT;
        return quote!(#expect_unit(#call));
    }
    let span = return_span(method);
    let returned = Ident::new("__ws_returned", Span::mixed_site());
    let returned_at_type = Ident::new("__ws_returned", Span::mixed_site().located_at(span));
    let into_reply = paths::INTO_REPLY.spanned(span);
    let into_reply = quote_spanned!(span=> #into_reply::into_reply);
    let ret = (role == Role::Message).then(|| quote!(return));
    quote! {
        let #returned = #call;
        #ret #into_reply(#returned_at_type)
    }
}

/// The return type's span, or the call site for a method without one.
fn return_span(method: &Method<'_>) -> Span {
    match &method.item.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
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

/// Every lifecycle method, in role order, then source order.
fn methods<'v, 'a>(view: &'v EndpointImpl<'a>) -> impl Iterator<Item = &'v Method<'a>> {
    Role::ALL
        .into_iter()
        .flat_map(move |role| view.handlers(role))
}

fn event_type(role: Role) -> AbsPath {
    match role {
        Role::Handshake => paths::HANDSHAKE,
        Role::Open => paths::OPEN_EVENT,
        Role::Message => paths::MESSAGE_EVENT,
        Role::Close => paths::CLOSE_EVENT,
        Role::Error => paths::ERROR_EVENT,
    }
}

/// The extractor trait of `role` and its method.
fn extractor(role: Role) -> (AbsPath, &'static str) {
    match role {
        Role::Handshake => (paths::FROM_HANDSHAKE, "from_handshake"),
        Role::Open => (paths::FROM_OPEN, "from_open"),
        Role::Message => (paths::FROM_MESSAGE, "from_message"),
        Role::Close => (paths::FROM_CLOSE, "from_close"),
        Role::Error => (paths::FROM_ERROR, "from_error"),
    }
}

fn event_var() -> Ident {
    Ident::new("__ws_event", Span::mixed_site())
}

fn handshake_var() -> Ident {
    Ident::new("__ws_handshake", Span::mixed_site())
}

fn arg_vars(method: &Method<'_>) -> Vec<Ident> {
    (0..method.args.len())
        .map(|index| format_ident!("__ws_arg{}", index, span = Span::mixed_site()))
        .collect()
}

fn str_lit(value: &str) -> LitStr {
    LitStr::new(value, Span::call_site())
}

/// A comparable rendering of tokens, to tell distinct types apart.
fn tokens_key(tokens: impl ToTokens) -> String {
    tokens.into_token_stream().to_string()
}
