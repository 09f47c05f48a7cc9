//! The arguments of `#[server_endpoint("/route/<param>", key = "param", ping_interval = "20s")]`.
//!
//! Parsing reads the syntax only: the route template literal, then `name = value` pairs. Resolving
//! checks every name and value and reports each mistake at its tokens, all of them at once: an
//! unknown name lists the expected ones, a value of the wrong shape says which shape is expected.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Token};

use crate::ctxt::Ctxt;
use crate::suggest::did_you_mean;
use crate::template::{backticked, Template};
use crate::units;

/// Every argument after the template, in the order they are documented and emitted.
const NAMES: &[&str] = &[
    "key",
    "allowed_origins",
    "subprotocols",
    "max_message_size",
    "ping_interval",
    "idle_timeout",
    "send_queue",
    "on_overflow",
    "on_duplicate_key",
    "on_decode_error",
];

/// `on_overflow`'s values, with the runtime's `Overflow` variants.
const OVERFLOW: &[(&str, &str)] = &[("close", "Close"), ("drop_newest", "DropNewest")];
/// `on_duplicate_key`'s values, with the runtime's `DuplicateKey` variants.
const DUPLICATE_KEY: &[(&str, &str)] = &[
    ("allow", "Allow"),
    ("replace", "Replace"),
    ("reject", "Reject"),
];
/// `on_decode_error`'s values, with the runtime's `DecodeErrors` variants.
const DECODE_ERRORS: &[(&str, &str)] = &[("report", "Report"), ("close", "Close")];

/// What the attribute says, as written: the route template, then `name = value` pairs.
#[derive(Debug)]
pub(crate) struct Args {
    /// The route template literal, e.g. `"/websocket/<key>"`.
    pub(crate) template: LitStr,
    pub(crate) items: Vec<ArgItem>,
}

/// One `name = value` argument.
#[derive(Debug)]
pub(crate) struct ArgItem {
    pub(crate) name: Ident,
    pub(crate) value: Expr,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let template = template(input)?;
        let mut items = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            items.push(input.parse()?);
        }
        Ok(Args { template, items })
    }
}

impl Parse for ArgItem {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Err(input.error(
                "the route template comes once, first; the other arguments are \
                 `name = value`, like `key = \"room\"`",
            ));
        }
        if !input.peek(Ident) {
            return Err(input.error(format!(
                "expected an argument `name = value`, one of {}",
                backticked(NAMES)
            )));
        }
        let name: Ident = input.parse()?;
        if !input.peek(Token![=]) {
            return Err(input.error(format!("expected `=` and a value after `{name}`")));
        }
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(ArgItem { name, value })
    }
}

/// What the arguments resolve to: the route and the options.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) route: Route,
    pub(crate) options: Options,
}

/// The route: the template and the path parameter that keys the session pool.
#[derive(Debug)]
pub(crate) struct Route {
    /// The template as written, e.g. `/websocket/<key>`.
    pub(crate) written: String,
    pub(crate) template: Template,
    /// The path parameter that keys the session pool, if the route has any.
    pub(crate) key: Option<String>,
}

/// A value the user wrote, with the span it was written at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Valued<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// `allowed_origins`.
#[derive(Debug)]
pub(crate) enum Origins {
    /// `"*"`, alone or in the list.
    Any,
    List(Vec<LitStr>),
}

/// The options the user gave; every one left out keeps the runtime's default.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub(crate) allowed_origins: Option<Origins>,
    pub(crate) subprotocols: Option<Vec<LitStr>>,
    /// In bytes.
    pub(crate) max_message_size: Option<Valued<u64>>,
    /// In milliseconds; `None` for `"off"`.
    pub(crate) ping_interval: Option<Valued<Option<u64>>>,
    /// In milliseconds; `None` for `"off"`.
    pub(crate) idle_timeout: Option<Valued<Option<u64>>>,
    pub(crate) send_queue: Option<Valued<u64>>,
    /// The runtime's variant names.
    pub(crate) on_overflow: Option<Valued<&'static str>>,
    pub(crate) on_duplicate_key: Option<Valued<&'static str>>,
    pub(crate) on_decode_error: Option<Valued<&'static str>>,
}

impl Args {
    /// Checks every argument, recording each mistake in `ctxt`; the config when the route is
    /// valid (option errors are recorded, so the caller still fails).
    pub(crate) fn resolve(&self, ctxt: &Ctxt) -> Option<Config> {
        let template = Template::parse(&self.template, ctxt);
        let mut key_lit = None;
        let mut key_failed = false;
        let mut options = Options::default();
        let mut seen: Vec<&Ident> = Vec::new();
        for item in &self.items {
            let name = item.name.to_string();
            if !NAMES.contains(&name.as_str()) {
                ctxt.error_spanned_by(&item.name, unknown_argument(&name));
                continue;
            }
            if let Some(first) = seen.iter().find(|seen| **seen == &item.name) {
                let mut error = syn::Error::new(
                    item.name.span(),
                    format!("duplicate `{name}` argument: give each argument once"),
                );
                error.combine(syn::Error::new(
                    first.span(),
                    format!("first `{name}` here"),
                ));
                ctxt.syn_error(error);
                continue;
            }
            seen.push(&item.name);
            let value = &item.value;
            match name.as_str() {
                "key" => {
                    key_lit = ctxt.ok(key(value));
                    key_failed = key_lit.is_none();
                }
                "allowed_origins" => options.allowed_origins = ctxt.ok(origins(value)),
                "subprotocols" => options.subprotocols = ctxt.ok(subprotocols(value)),
                "max_message_size" => options.max_message_size = ctxt.ok(size(value)),
                "ping_interval" => options.ping_interval = ctxt.ok(duration(&name, value)),
                "idle_timeout" => options.idle_timeout = ctxt.ok(duration(&name, value)),
                "send_queue" => options.send_queue = ctxt.ok(count(&name, value)),
                "on_overflow" => options.on_overflow = ctxt.ok(choice(&name, value, OVERFLOW)),
                "on_duplicate_key" => {
                    options.on_duplicate_key = ctxt.ok(choice(&name, value, DUPLICATE_KEY));
                }
                "on_decode_error" => {
                    options.on_decode_error = ctxt.ok(choice(&name, value, DECODE_ERRORS));
                }
                _ => unreachable!("every name in NAMES is handled"),
            }
        }
        options.check_timeouts(ctxt);
        let template = template?;
        if key_failed {
            return None;
        }
        let key = ctxt.ok(template.key_param(key_lit.as_ref()))?;
        Some(Config {
            route: Route {
                written: self.template.value(),
                template,
                key,
            },
            options,
        })
    }
}

impl Options {
    /// An idle timeout no longer than the ping interval would close clients that answer every
    /// ping.
    fn check_timeouts(&self, ctxt: &Ctxt) {
        let (Some(ping), Some(idle)) = (&self.ping_interval, &self.idle_timeout) else {
            return;
        };
        let (Some(ping_ms), Some(idle_ms)) = (ping.value, idle.value) else {
            return;
        };
        if idle_ms <= ping_ms {
            ctxt.syn_error(syn::Error::new(
                idle.span,
                format!(
                    "`idle_timeout` ({}) must be longer than `ping_interval` ({}): \
                     a client that answers every ping would still be closed as idle",
                    units::show_duration(idle_ms),
                    units::show_duration(ping_ms)
                ),
            ));
        }
    }
}

fn unknown_argument(name: &str) -> String {
    format!(
        "unknown argument `{name}`: expected one of {}{}",
        backticked(NAMES),
        did_you_mean(name, NAMES)
    )
}

/// The leading string literal, with an example of the expected shape when it is missing.
fn template(input: ParseStream) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    let message = "expected the route template as a string literal: \
                   `#[server_endpoint(\"/websocket/<key>\")]`";
    if input.is_empty() {
        // `#[server_endpoint]` has no tokens to point at: point at the attribute.
        return Err(syn::Error::new(Span::call_site(), message));
    }
    Err(input.error(message))
}

/// `key = "room"`.
fn key(value: &Expr) -> syn::Result<LitStr> {
    lit_str(value).cloned().ok_or_else(|| {
        syn::Error::new_spanned(
            value,
            "expected the name of a path parameter as a string literal: `key = \"room\"`",
        )
    })
}

/// `allowed_origins = "*"`, `= "https://app.example"` or `= ["https://a.example", ...]`.
fn origins(value: &Expr) -> syn::Result<Origins> {
    let expected = "expected `\"*\"` or a list of origins: \
                    `allowed_origins = [\"https://app.example\"]`";
    let errors = Errors::default();
    let list = strings(value, expected, &errors).unwrap_or_default();
    if list.is_empty() && errors.is_empty() {
        return Err(syn::Error::new_spanned(
            value,
            "an empty list would refuse every browser: list the origins, write `\"*\"` for any, \
             or leave `allowed_origins` out to allow the server's own origin only",
        ));
    }
    for lit in list.iter().filter(|lit| lit.value() != "*") {
        errors.check(lit, units::origin(&lit.value()));
    }
    errors.duplicates(&list, "origin", |a, b| a.eq_ignore_ascii_case(b));
    errors.finish()?;
    if list.iter().any(|lit| lit.value() == "*") {
        return Ok(Origins::Any);
    }
    Ok(Origins::List(list))
}

/// `subprotocols = ["v2.json", "v1.json"]`.
fn subprotocols(value: &Expr) -> syn::Result<Vec<LitStr>> {
    let expected = "expected a list of subprotocol names, in order of preference: \
                    `subprotocols = [\"v2.json\", \"v1.json\"]`";
    let errors = Errors::default();
    let list = strings(value, expected, &errors).unwrap_or_default();
    if list.is_empty() && errors.is_empty() {
        return Err(syn::Error::new_spanned(
            value,
            "an empty list names no subprotocol: list at least one, \
             or leave `subprotocols` out",
        ));
    }
    for lit in &list {
        errors.check(lit, units::http_token(&lit.value()));
    }
    errors.duplicates(&list, "subprotocol", |a, b| a == b);
    errors.finish()?;
    Ok(list)
}

/// `max_message_size = "64KiB"` or `= 65536`.
fn size(value: &Expr) -> syn::Result<Valued<u64>> {
    let bytes = match literal(value) {
        Some(Lit::Str(lit)) => {
            units::size(&lit.value()).map_err(|message| syn::Error::new(lit.span(), message))?
        }
        Some(Lit::Int(lit)) => match lit.suffix() {
            "" | "usize" => positive(lit, "max_message_size")?,
            suffix => return Err(quote_unit(lit, suffix, "max_message_size")),
        },
        _ => {
            return Err(syn::Error::new_spanned(
                value,
                format!("expected a size: {}", units::SIZE_FORMS),
            ))
        }
    };
    fits_usize(bytes, value)?;
    Ok(Valued {
        value: bytes,
        span: value.span(),
    })
}

/// `ping_interval = "20s"` or `= "off"`.
fn duration(name: &str, value: &Expr) -> syn::Result<Valued<Option<u64>>> {
    let millis = match literal(value) {
        Some(Lit::Str(lit)) => units::duration(&lit.value())
            .map_err(|message| syn::Error::new(lit.span(), format!("`{name}`: {message}")))?,
        Some(Lit::Int(lit)) if !lit.suffix().is_empty() => {
            return Err(quote_unit(lit, lit.suffix(), name))
        }
        _ => {
            return Err(syn::Error::new_spanned(
                value,
                format!(
                    "expected a duration: {}; `{name} = \"20s\"`",
                    units::DURATION_FORMS
                ),
            ))
        }
    };
    Ok(Valued {
        value: millis,
        span: value.span(),
    })
}

/// `send_queue = 256`.
fn count(name: &str, value: &Expr) -> syn::Result<Valued<u64>> {
    let expected = format!("expected a number of messages, at least 1: `{name} = 256`");
    let Some(Lit::Int(lit)) = literal(value) else {
        return Err(syn::Error::new_spanned(value, expected));
    };
    if !matches!(lit.suffix(), "" | "usize") {
        return Err(syn::Error::new(lit.span(), expected));
    }
    let count = positive(lit, name)?;
    fits_usize(count, value)?;
    Ok(Valued {
        value: count,
        span: value.span(),
    })
}

/// `on_overflow = "close"`: one of `choices`, as the runtime's variant name.
fn choice(
    name: &str,
    value: &Expr,
    choices: &[(&str, &'static str)],
) -> syn::Result<Valued<&'static str>> {
    let names: Vec<&str> = choices.iter().map(|(written, _)| *written).collect();
    let quoted = names
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(lit) = lit_str(value) else {
        return Err(syn::Error::new_spanned(
            value,
            format!(
                "expected a string, one of {quoted}: `{name} = \"{}\"`",
                names[0]
            ),
        ));
    };
    let written = lit.value();
    let Some((_, variant)) = choices.iter().find(|(choice, _)| *choice == written) else {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "unknown `{name}` value \"{written}\": expected one of {quoted}{}",
                did_you_mean(&written, &names)
            ),
        ));
    };
    Ok(Valued {
        value: variant,
        span: lit.span(),
    })
}

/// The strings of a string or a list of strings; each element that is not a string is an
/// error in `errors`. `None` (with an error) when the value is neither.
fn strings(value: &Expr, expected: &str, errors: &Errors) -> Option<Vec<LitStr>> {
    if let Some(lit) = lit_str(value) {
        return Some(vec![lit.clone()]);
    }
    let Expr::Array(array) = peel(value) else {
        errors.add(syn::Error::new_spanned(value, expected));
        return None;
    };
    let mut list = Vec::new();
    for elem in &array.elems {
        match lit_str(elem) {
            Some(lit) => list.push(lit.clone()),
            None => errors.add(syn::Error::new_spanned(elem, expected)),
        }
    }
    Some(list)
}

/// An integer literal's value, at least 1.
fn positive(lit: &LitInt, name: &str) -> syn::Result<u64> {
    let value = lit.base10_parse::<u64>()?;
    if value == 0 {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{name}` must be at least 1"),
        ));
    }
    Ok(value)
}

fn fits_usize(value: u64, at: &Expr) -> syn::Result<()> {
    usize::try_from(value)
        .map(drop)
        .map_err(|_| syn::Error::new_spanned(at, "too large: the value must fit in `usize`"))
}

/// `20s` written as a number with a suffix: the unit goes inside a string.
fn quote_unit(lit: &LitInt, suffix: &str, name: &str) -> syn::Error {
    syn::Error::new(
        lit.span(),
        format!(
            "write the unit inside a string: `{name} = \"{}{suffix}\"`",
            lit.base10_digits()
        ),
    )
}

fn literal(value: &Expr) -> Option<&Lit> {
    match peel(value) {
        Expr::Lit(ExprLit { lit, attrs }) if attrs.is_empty() => Some(lit),
        _ => None,
    }
}

fn lit_str(value: &Expr) -> Option<&LitStr> {
    match literal(value) {
        Some(Lit::Str(lit)) => Some(lit),
        _ => None,
    }
}

/// The expression inside invisible groups (a `$value:expr` from a `macro_rules!`).
fn peel(value: &Expr) -> &Expr {
    match value {
        Expr::Group(group) => peel(&group.expr),
        Expr::Paren(paren) => peel(&paren.expr),
        _ => value,
    }
}

/// Errors of the elements of one value, combined.
#[derive(Default)]
struct Errors(std::cell::RefCell<Option<syn::Error>>);

impl Errors {
    fn add(&self, error: syn::Error) {
        let mut errors = self.0.borrow_mut();
        match errors.as_mut() {
            Some(first) => first.combine(error),
            None => *errors = Some(error),
        }
    }

    fn is_empty(&self) -> bool {
        self.0.borrow().is_none()
    }

    fn check(&self, lit: &LitStr, result: Result<(), String>) {
        if let Err(message) = result {
            self.add(syn::Error::new(lit.span(), message));
        }
    }

    /// An error at each element equal to an earlier one.
    fn duplicates(&self, list: &[LitStr], what: &str, same: impl Fn(&str, &str) -> bool) {
        for (at, lit) in list.iter().enumerate() {
            let value = lit.value();
            if list[..at]
                .iter()
                .any(|earlier| same(&earlier.value(), &value))
            {
                self.add(syn::Error::new(
                    lit.span(),
                    format!("duplicate {what} \"{value}\""),
                ));
            }
        }
    }

    fn finish(self) -> syn::Result<()> {
        match self.0.into_inner() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        syn::parse2(tokens)
    }

    /// The resolved config, or every error message.
    fn resolve(tokens: proc_macro2::TokenStream) -> Result<Config, Vec<String>> {
        let args = parse(tokens).map_err(|e| vec![e.to_string()])?;
        crate::ctxt::run_stage(|ctxt| args.resolve(ctxt))
    }

    fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        match resolve(tokens) {
            Ok(config) => panic!("resolved: {config:?}"),
            Err(errors) => errors,
        }
    }

    fn error(tokens: proc_macro2::TokenStream) -> String {
        let errors = errors(tokens);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap()
    }

    #[test]
    fn template_alone() {
        let config = resolve(quote!("/websocket/<key>")).unwrap();
        assert_eq!(config.route.written, "/websocket/<key>");
        assert_eq!(config.route.key.as_deref(), Some("key"));
        assert!(resolve(quote!("/echo",)).is_ok());
    }

    #[test]
    fn template_and_key() {
        let config = resolve(quote!("/room/<room>/<user>", key = "room")).unwrap();
        assert_eq!(config.route.key.as_deref(), Some("room"));
    }

    #[test]
    fn missing_template() {
        let e = parse(quote!()).unwrap_err().to_string();
        assert!(e.starts_with("expected the route template"), "{e}");
        let e = parse(quote!(key = "a")).unwrap_err().to_string();
        assert!(e.contains("expected the route template"), "{e}");
        let e = parse(quote!("/a", "/b")).unwrap_err().to_string();
        assert!(e.contains("comes once, first"), "{e}");
        let e = parse(quote!("/a", key)).unwrap_err().to_string();
        assert!(e.contains("expected `=` and a value after `key`"), "{e}");
    }

    #[test]
    fn unknown_argument_lists_the_expected_ones() {
        let e = error(quote!("/a/<k>", kee = "k"));
        assert!(
            e.starts_with("unknown argument `kee`: expected one of `key`, "),
            "{e}"
        );
        assert!(e.ends_with("`on_decode_error`; did you mean `key`?"), "{e}");
        assert!(e.contains("`allowed_origins`, `subprotocols`"), "{e}");
        let e = error(quote!("/a", origins = "*"));
        assert!(e.ends_with("did you mean `allowed_origins`?"), "{e}");
        let e = error(quote!("/a", compression = true));
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn key_must_be_a_string() {
        let e = error(quote!("/<a>", key = a));
        assert!(e.contains("`key = \"room\"`"), "{e}");
    }

    #[test]
    fn duplicates_are_reported_at_the_second() {
        let errors = errors(quote!("/<a>", key = "a", key = "a"));
        assert_eq!(
            errors,
            [
                "duplicate `key` argument: give each argument once",
                "first `key` here"
            ]
        );
        let errors = super::tests::errors(quote!("/", send_queue = 1, send_queue = 2));
        assert!(errors[0].contains("duplicate `send_queue`"), "{errors:?}");
    }

    #[test]
    fn every_option() {
        let config = resolve(quote!(
            "/ws/<key>",
            allowed_origins = ["https://a.example", "http://localhost:8080"],
            subprotocols = ["v2.json", "v1.json"],
            max_message_size = "64KiB",
            ping_interval = "20s",
            idle_timeout = "1m",
            send_queue = 32,
            on_overflow = "drop_newest",
            on_duplicate_key = "replace",
            on_decode_error = "close",
        ))
        .unwrap();
        let options = config.options;
        assert!(matches!(&options.allowed_origins, Some(Origins::List(list)) if list.len() == 2));
        assert_eq!(options.subprotocols.unwrap().len(), 2);
        assert_eq!(options.max_message_size.unwrap().value, 65_536);
        assert_eq!(options.ping_interval.unwrap().value, Some(20_000));
        assert_eq!(options.idle_timeout.unwrap().value, Some(60_000));
        assert_eq!(options.send_queue.unwrap().value, 32);
        assert_eq!(options.on_overflow.unwrap().value, "DropNewest");
        assert_eq!(options.on_duplicate_key.unwrap().value, "Replace");
        assert_eq!(options.on_decode_error.unwrap().value, "Close");
    }

    #[test]
    fn origins_any_and_single() {
        let options = |tokens| resolve(tokens).unwrap().options.allowed_origins.unwrap();
        assert!(matches!(
            options(quote!("/", allowed_origins = "*")),
            Origins::Any
        ));
        assert!(matches!(
            options(quote!("/", allowed_origins = ["https://a.example", "*"])),
            Origins::Any
        ));
        assert!(matches!(
            options(quote!("/", allowed_origins = "https://a.example")),
            Origins::List(list) if list.len() == 1
        ));
    }

    #[test]
    fn bad_origins_are_all_reported() {
        let errors = errors(quote!(
            "/",
            allowed_origins = [
                "https://a.example/",
                "a.example",
                7,
                "https://A.example",
                "https://a.example"
            ]
        ));
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].starts_with("expected `\"*\"` or a list of origins"));
        assert!(errors[1].contains("has a path"));
        assert!(errors[2].contains("is not an origin"));
        assert!(errors[3].contains("duplicate origin \"https://a.example\""));
        let e = error(quote!("/", allowed_origins = []));
        assert!(
            e.contains("an empty list would refuse every browser"),
            "{e}"
        );
        let e = error(quote!("/", allowed_origins = any));
        assert!(e.starts_with("expected `\"*\"`"), "{e}");
    }

    #[test]
    fn bad_subprotocols() {
        let e = error(quote!("/", subprotocols = []));
        assert!(e.contains("names no subprotocol"), "{e}");
        let errors = errors(quote!("/", subprotocols = ["v2 json", "v1", "v1"]));
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].contains("not a valid subprotocol name"));
        assert!(errors[1].contains("duplicate subprotocol \"v1\""));
    }

    #[test]
    fn sizes() {
        let size = |tokens| {
            resolve(tokens)
                .unwrap()
                .options
                .max_message_size
                .unwrap()
                .value
        };
        assert_eq!(size(quote!("/", max_message_size = 65536)), 65_536);
        assert_eq!(size(quote!("/", max_message_size = 1_024usize)), 1_024);
        assert_eq!(size(quote!("/", max_message_size = "1MiB")), 1 << 20);
        let e = error(quote!("/", max_message_size = "64 parsecs"));
        assert!(e.contains("unknown size unit `parsecs`"), "{e}");
        let e = error(quote!("/", max_message_size = 64KiB));
        assert!(e.contains("`max_message_size = \"64KiB\"`"), "{e}");
        let e = error(quote!("/", max_message_size = 0));
        assert!(e.contains("at least 1"), "{e}");
        let e = error(quote!("/", max_message_size = big));
        assert!(e.starts_with("expected a size"), "{e}");
    }

    #[test]
    fn durations() {
        let options = resolve(quote!("/", ping_interval = "off", idle_timeout = "5s"))
            .unwrap()
            .options;
        assert_eq!(options.ping_interval.unwrap().value, None);
        let e = error(quote!("/", ping_interval = "5 fortnights"));
        assert!(
            e.contains("`ping_interval`: unknown duration unit `fortnights`"),
            "{e}"
        );
        let e = error(quote!("/", idle_timeout = "0s"));
        assert!(e.contains("write \"off\""), "{e}");
        let e = error(quote!("/", idle_timeout = 20s));
        assert!(e.contains("`idle_timeout = \"20s\"`"), "{e}");
        let e = error(quote!("/", idle_timeout = 20));
        assert!(e.starts_with("expected a duration"), "{e}");
    }

    #[test]
    fn idle_timeout_must_outlast_the_ping_interval() {
        let e = error(quote!("/", idle_timeout = "30s", ping_interval = "30s"));
        assert!(
            e.starts_with("`idle_timeout` (30s) must be longer than `ping_interval` (30s)"),
            "{e}"
        );
        assert!(resolve(quote!("/", idle_timeout = "30s", ping_interval = "off")).is_ok());
        assert!(resolve(quote!("/", idle_timeout = "off", ping_interval = "30s")).is_ok());
    }

    #[test]
    fn send_queue() {
        let e = error(quote!("/", send_queue = 0));
        assert_eq!(e, "`send_queue` must be at least 1");
        let e = error(quote!("/", send_queue = "256"));
        assert!(e.contains("`send_queue = 256`"), "{e}");
        let e = error(quote!("/", send_queue = -1));
        assert!(e.contains("`send_queue = 256`"), "{e}");
    }

    #[test]
    fn choices() {
        let e = error(quote!("/", on_overflow = "drop"));
        assert_eq!(
            e,
            "unknown `on_overflow` value \"drop\": expected one of \"close\", \"drop_newest\"; \
             did you mean `drop_newest`?"
        );
        let e = error(quote!("/", on_duplicate_key = close));
        assert!(
            e.contains("one of \"allow\", \"replace\", \"reject\""),
            "{e}"
        );
        let e = error(quote!("/", on_decode_error = "ignore"));
        assert!(e.contains("\"report\", \"close\""), "{e}");
    }

    #[test]
    fn template_and_option_errors_together() {
        let errors = errors(quote!("/a//<k", send_queue = 0, on_overflow = "x"));
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }

    #[test]
    fn key_error_with_a_broken_template_is_not_reported_twice() {
        let errors = errors(quote!("/a/<k", key = "k"));
        assert_eq!(errors.len(), 1, "{errors:#?}");
    }
}
