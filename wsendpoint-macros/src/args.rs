//! The arguments of `#[server_endpoint("/route/<param>", key = "param")]`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

use crate::template::Template;

mod kw {
    syn::custom_keyword!(key);
}

/// What the attribute says: the route template and, optionally, the pool key parameter.
#[derive(Debug)]
pub(crate) struct Args {
    /// The route template literal, e.g. `"/websocket/<key>"`.
    pub(crate) template: LitStr,
    /// `key = "param"`: the path parameter that keys the session pool.
    pub(crate) key: Option<LitStr>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let template = template(input)?;
        let mut key = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::key) {
                let keyword = input.parse::<kw::key>()?;
                input.parse::<Token![=]>()?;
                let value = key_value(input)?;
                if key.is_some() {
                    return Err(syn::Error::new(keyword.span, "duplicate `key` argument"));
                }
                key = Some(value);
            } else {
                return Err(lookahead.error());
            }
        }
        Ok(Args { template, key })
    }
}

/// What the arguments resolve to: the parsed template and the pool key parameter.
#[derive(Debug)]
pub(crate) struct Route {
    /// The template as written, e.g. `/websocket/<key>`.
    pub(crate) written: String,
    pub(crate) template: Template,
    /// The path parameter that keys the session pool, if the route has any.
    pub(crate) key: Option<String>,
}

impl Args {
    /// Parses the template and resolves the key; errors point at the literal at fault.
    pub(crate) fn route(&self) -> syn::Result<Route> {
        let template = Template::from_lit(&self.template)?;
        let key = template.key_param(self.key.as_ref())?;
        Ok(Route {
            written: self.template.value(),
            template,
            key,
        })
    }
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

/// The parameter name after `key =`.
fn key_value(input: ParseStream) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    Err(input.error("expected the name of a path parameter as a string literal: `key = \"room\"`"))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        syn::parse2(tokens)
    }

    #[test]
    fn template_alone() {
        let args = parse(quote!("/websocket/<key>")).unwrap();
        assert_eq!(args.template.value(), "/websocket/<key>");
        assert!(args.key.is_none());
        assert!(parse(quote!("/echo",)).is_ok());
    }

    #[test]
    fn template_and_key() {
        let args = parse(quote!("/room/<room>/<user>", key = "room")).unwrap();
        assert_eq!(args.key.unwrap().value(), "room");
    }

    #[test]
    fn missing_template() {
        let e = parse(quote!()).unwrap_err().to_string();
        assert!(e.starts_with("expected the route template"), "{e}");
        let e = parse(quote!(key = "a")).unwrap_err().to_string();
        assert!(e.contains("expected the route template"), "{e}");
    }

    #[test]
    fn unknown_argument_lists_the_expected_one() {
        let e = parse(quote!("/a/<k>", kee = "k")).unwrap_err().to_string();
        assert_eq!(e, "expected `key`");
    }

    #[test]
    fn key_must_be_a_string() {
        let e = parse(quote!("/<a>", key = a)).unwrap_err().to_string();
        assert!(e.contains("`key = \"room\"`"), "{e}");
    }

    #[test]
    fn duplicate_key() {
        let e = parse(quote!("/<a>", key = "a", key = "a"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "duplicate `key` argument");
    }
}
