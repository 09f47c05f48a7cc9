//! The arguments of `#[server_endpoint("/route/<param>", key = "param", ping_interval = "20s")]`.
//!
//! Parsing reads the syntax only: the route template literal, then `name = value` pairs. Resolving
//! checks every name and value and reports each mistake at its tokens, all of them at once: an
//! unknown name lists the expected ones, a value of the wrong shape says which shape is expected.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Token};

use crate::ctxt::Ctxt;
use crate::options::{Given, KeyArg, Opt, Options};
use crate::suggest::did_you_mean;
use crate::template::{backticked, Template};

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
                backticked(&Opt::names())
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

impl Args {
    /// Checks every argument, recording each mistake in `ctxt`; the config when the route is
    /// valid (option errors are recorded, so the caller still fails).
    pub(crate) fn resolve(&self, ctxt: &Ctxt) -> Option<Config> {
        let template = Template::parse(&self.template, ctxt);
        let given = self.read(ctxt);
        given.options.check_timeouts(ctxt);
        given.options.check_history(ctxt);
        let key = match given.key {
            KeyArg::Default => None,
            KeyArg::Named(lit) => Some(lit),
            KeyArg::Invalid => return None,
        };
        let template = template?;
        let key = ctxt.ok(template.key_param(key.as_ref()))?;
        Some(Config {
            route: Route {
                written: self.template.value(),
                template,
                key,
            },
            options: given.options,
        })
    }

    /// Parses each option given once, in order; an unknown or repeated name is an error, and its
    /// value is not read.
    fn read(&self, ctxt: &Ctxt) -> Given {
        let mut given = Given::default();
        let mut seen: Vec<(Opt, &Ident)> = Vec::new();
        for item in &self.items {
            let name = item.name.to_string();
            let Some(opt) = Opt::named(&name) else {
                ctxt.error_spanned_by(&item.name, unknown_argument(&name));
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == opt) {
                ctxt.error_with_note(
                    &item.name,
                    format!("duplicate `{name}` argument: give each argument once"),
                    first,
                    format!("first `{name}` here"),
                );
                continue;
            }
            seen.push((opt, &item.name));
            opt.parse(&item.value, ctxt, &mut given);
        }
        given
    }
}

fn unknown_argument(name: &str) -> String {
    let names = Opt::names();
    format!(
        "unknown argument `{name}`: expected one of {}{}",
        backticked(&names),
        did_you_mean(name, &names)
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

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;
    use crate::options::Origins;

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
        assert!(e.ends_with("`history_size`; did you mean `key`?"), "{e}");
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
    fn history_takes_a_duration_and_an_optional_size() {
        let options = resolve(quote!("/", history = "2m", history_size = 50))
            .unwrap()
            .options;
        assert_eq!(options.history.unwrap().value, Some(120_000));
        assert_eq!(options.history_size.unwrap().value, 50);
        let e = error(quote!("/", history_size = 50));
        assert!(e.starts_with("`history_size` needs `history`"), "{e}");
        let e = error(quote!("/", history = "off", history_size = 50));
        assert!(e.starts_with("`history_size` needs `history`"), "{e}");
        let e = error(quote!("/", history = 120));
        assert!(e.starts_with("expected a duration"), "{e}");
        let e = error(quote!("/", history = "2m", history_size = 0));
        assert_eq!(e, "`history_size` must be at least 1");
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
