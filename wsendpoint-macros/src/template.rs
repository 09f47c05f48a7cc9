//! The route template: `"/websocket/<key>"` (or Java's `"/websocket/{key}"`) parsed into segments.
//!
//! A template starts with `/`; its segments are separated by `/`, none is empty, and only the root
//! route `/` ends with `/`. A segment is either static text or one whole path parameter, `<name>` or
//! `{name}`, whose name is a Rust identifier because it is bound to the method argument of the same
//! name. Spans inside a string literal cannot be narrowed on stable Rust, so every error names the
//! offending segment in its text.

use std::collections::BTreeSet;

use syn::ext::IdentExt;
use syn::LitStr;

use crate::ctxt::Ctxt;

/// One `/`-separated piece of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text matched as is.
    Static(String),
    /// A captured path parameter, by name.
    Param(String),
}

/// A parsed route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses the template of `lit`, recording every problem found in it at the literal (its
    /// text has no spans of its own); the template if there was none.
    pub(crate) fn parse(lit: &LitStr, ctxt: &Ctxt) -> Option<Template> {
        let template = lit.value();
        let report = |message: String| ctxt.error_at(lit.span(), message);
        ctxt.scope(|| {
            let segments: Vec<Segment> = raw_segments(&template, &report)
                .into_iter()
                .filter_map(|raw| segment(raw).map_err(report).ok())
                .collect();
            duplicate_params(&segments, &report);
            Template { segments }
        })
    }

    /// The route in axum's syntax, where captures are written `{name}`: `/websocket/{key}`.
    pub(crate) fn route(&self) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Static(text) => format!("/{text}"),
                Segment::Param(name) => format!("/{{{name}}}"),
            })
            .collect()
    }

    /// Names of the path parameters, in template order.
    pub(crate) fn params(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Param(name) => Some(name.as_str()),
                Segment::Static(_) => None,
            })
            .collect()
    }

    /// The segments, in order.
    #[cfg(test)]
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The path parameter that keys the session pool: the one `key = "..."` names, else the only
    /// parameter or the last one, else none.
    pub(crate) fn key_param(&self, key: Option<&LitStr>) -> syn::Result<Option<String>> {
        let params = self.params();
        let Some(key) = key else {
            return Ok(params.last().map(|name| (*name).to_owned()));
        };
        let name = key.value();
        if params.contains(&name.as_str()) {
            return Ok(Some(name));
        }
        let message = match params.as_slice() {
            [] => format!("`key = \"{name}\"` names no path parameter: the route has none"),
            _ => format!(
                "`key = \"{name}\"` names no path parameter; the route's parameters are {}",
                backticked(&params)
            ),
        };
        Err(syn::Error::new(key.span(), message))
    }
}

/// Splits off the leading `/` and the segments after it, reporting a missing leading `/` and a
/// trailing `/` (allowed only for the root route).
fn raw_segments<'t>(template: &'t str, report: &impl Fn(String)) -> Vec<&'t str> {
    if template == "/" {
        return Vec::new();
    }
    let rest = match template.strip_prefix('/') {
        Some(rest) => rest,
        None => {
            report(format!(
                "the route template must start with `/`: write \"/{template}\""
            ));
            template
        }
    };
    if rest.is_empty() {
        return Vec::new();
    }
    let rest = match rest.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => {
            report(format!(
                "trailing `/` in \"{template}\": only the root route \"/\" ends with `/`"
            ));
            trimmed
        }
        _ => rest,
    };
    rest.split('/').collect()
}

/// Classifies one segment: static text, or a whole `<name>` / `{name}` parameter.
fn segment(raw: &str) -> Result<Segment, String> {
    if raw.is_empty() {
        return Err("empty segment (`//`) in the route template: remove the extra `/`".to_owned());
    }
    let pieces = pieces(raw)?;
    match pieces.as_slice() {
        [Piece::Param(name)] => param_name(raw, name).map(|name| Segment::Param(name.to_owned())),
        pieces if pieces.iter().any(|piece| matches!(piece, Piece::Param(_))) => Err(format!(
            "a path parameter must be a whole segment, found `{raw}`: \
             put each `<param>` between two `/`"
        )),
        _ => static_text(raw).map(|text| Segment::Static(text.to_owned())),
    }
}

/// Text and bracketed parameters inside one segment.
#[derive(Debug)]
enum Piece<'s> {
    Text,
    Param(&'s str),
}

/// Splits a segment into text and `<...>` / `{...}` pieces, checking that brackets pair up.
fn pieces(raw: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut open: Option<(char, usize)> = None;
    for (at, c) in raw.char_indices() {
        match (c, open) {
            ('<' | '{', None) => open = Some((c, at)),
            ('<' | '{', Some((first, _))) => {
                return Err(format!(
                    "`{c}` inside `{first}...` in segment `{raw}`: parameters do not nest"
                ))
            }
            ('>' | '}', None) => {
                return Err(format!(
                    "`{c}` without a matching `{}` in segment `{raw}`",
                    opening(c)
                ))
            }
            ('>' | '}', Some((first, start))) if opening(c) == first => {
                pieces.push(Piece::Param(&raw[start + 1..at]));
                open = None;
            }
            ('>' | '}', Some((first, _))) => {
                return Err(format!(
                    "mismatched brackets in segment `{raw}`: `{first}` is closed by `{c}`; \
                     write `<name>` or `{{name}}`"
                ))
            }
            (_, None) => pieces.push(Piece::Text),
            (_, Some(_)) => {}
        }
    }
    match open {
        Some((first, _)) => Err(format!(
            "unclosed `{first}` in segment `{raw}`: write `<name>` or `{{name}}`"
        )),
        None => Ok(pieces),
    }
}

/// The opening bracket that `close` closes.
fn opening(close: char) -> char {
    if close == '>' {
        '<'
    } else {
        '{'
    }
}

/// Checks that a parameter's name can be an argument name.
fn param_name<'s>(raw: &str, name: &'s str) -> Result<&'s str, String> {
    if name.is_empty() {
        return Err(format!(
            "empty parameter name `{raw}`: name it, e.g. `<key>`"
        ));
    }
    let ident = |ident: syn::Ident| ident == name && !name.starts_with("r#");
    if syn::parse_str::<syn::Ident>(name).is_ok_and(ident) {
        return Ok(name);
    }
    let keyword = syn::parse::Parser::parse_str(syn::Ident::parse_any, name).is_ok_and(ident);
    let what = if keyword {
        "a Rust keyword"
    } else {
        "not a Rust identifier"
    };
    Err(format!(
        "parameter name `{name}` in `{raw}` is {what}: \
         a path parameter is bound to the method argument of the same name"
    ))
}

/// Checks that static text holds nothing that can never match a request path.
fn static_text(raw: &str) -> Result<&str, String> {
    let found = raw
        .chars()
        .find(|c| matches!(c, '?' | '#') || c.is_whitespace());
    match found {
        Some(c) if c.is_whitespace() => Err(format!(
            "whitespace in segment `{raw}` can never match a request path"
        )),
        Some(c) => Err(format!(
            "`{c}` in segment `{raw}` can never match a request path: \
             a route matches the path only, without query or fragment"
        )),
        None => Ok(raw),
    }
}

/// Reports each parameter name used more than once, once.
fn duplicate_params(segments: &[Segment], report: &impl Fn(String)) {
    let mut seen = BTreeSet::new();
    let mut reported = BTreeSet::new();
    for segment in segments {
        if let Segment::Param(name) = segment {
            if !seen.insert(name) && reported.insert(name) {
                report(format!(
                    "duplicate path parameter `{name}`: each parameter needs its own name"
                ));
            }
        }
    }
}

/// `` `a`, `b` `` for messages.
pub(crate) fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(template: &str) -> Result<Template, Vec<String>> {
        crate::ctxt::run_stage(|ctxt| Template::parse(&lit(template), ctxt))
    }

    fn ok(template: &str) -> Template {
        parse(template).unwrap_or_else(|e| panic!("{template}: {e:?}"))
    }

    fn err(template: &str) -> Vec<String> {
        match parse(template) {
            Ok(parsed) => panic!("{template} parsed: {parsed:?}"),
            Err(errors) => errors,
        }
    }

    fn assert_err(template: &str, needle: &str) {
        let errors = err(template);
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "{template}: no error containing {needle:?} in {errors:?}"
        );
    }

    #[test]
    fn angle_params_become_axum_captures() {
        let t = ok("/websocket/<key>");
        assert_eq!(
            t.segments(),
            [
                Segment::Static("websocket".into()),
                Segment::Param("key".into())
            ]
        );
        assert_eq!(t.route(), "/websocket/{key}");
        assert_eq!(t.params(), ["key"]);
    }

    #[test]
    fn java_braces_are_accepted() {
        let t = ok("/room/{room}/<user>");
        assert_eq!(t.route(), "/room/{room}/{user}");
        assert_eq!(t.params(), ["room", "user"]);
    }

    #[test]
    fn static_routes_and_root() {
        assert_eq!(ok("/").route(), "/");
        assert!(ok("/").params().is_empty());
        assert_eq!(ok("/echo").route(), "/echo");
        assert_eq!(ok("/a/b-c/d.e").route(), "/a/b-c/d.e");
        assert_eq!(ok("/_under/<_x>").params(), ["_x"]);
    }

    #[test]
    fn must_start_with_slash() {
        assert_err("websocket/<key>", "must start with `/`");
        assert_err("", "must start with `/`");
    }

    #[test]
    fn trailing_slash_only_for_root() {
        assert_err("/chat/", "trailing `/`");
        assert_err("/<key>/", "trailing `/`");
    }

    #[test]
    fn empty_segments() {
        assert_err("//", "empty segment");
        assert_err("/a//b", "empty segment");
    }

    #[test]
    fn empty_param_names() {
        assert_err("/a/<>", "empty parameter name `<>`");
        assert_err("/a/{}", "empty parameter name `{}`");
    }

    #[test]
    fn param_names_must_be_identifiers() {
        assert_err("/<1st>", "`1st` in `<1st>` is not a Rust identifier");
        assert_err("/<a-b>", "`a-b`");
        assert_err("/<type>", "`type` in `<type>` is a Rust keyword");
        assert_err("/<self>", "`self` in `<self>` is a Rust keyword");
        assert_err("/<_>", "`_`");
        assert_err("/<r#type>", "`r#type`");
        assert_err("/< key>", "` key`");
    }

    #[test]
    fn duplicate_params_are_reported_once() {
        let errors = err("/<a>/<a>/{a}");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("duplicate path parameter `a`"));
    }

    #[test]
    fn unbalanced_brackets() {
        assert_err("/<key", "unclosed `<` in segment `<key`");
        assert_err("/{key", "unclosed `{` in segment `{key`");
        assert_err("/key>", "`>` without a matching `<` in segment `key>`");
        assert_err("/key}", "`}` without a matching `{`");
        assert_err("/<key}", "mismatched brackets in segment `<key}`");
        assert_err("/{key>", "mismatched brackets in segment `{key>`");
        assert_err("/<<key>>", "do not nest");
    }

    #[test]
    fn params_must_be_whole_segments() {
        assert_err("/a<b>", "must be a whole segment, found `a<b>`");
        assert_err("/<a><b>", "found `<a><b>`");
        assert_err("/<a>.json", "found `<a>.json`");
        assert_err("/v{n}", "found `v{n}`");
    }

    #[test]
    fn static_text_that_never_matches() {
        assert_err("/a?b", "`?` in segment `a?b`");
        assert_err("/a#b", "`#`");
        assert_err("/a b", "whitespace in segment `a b`");
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = err("ws//<>/<a/<1>/");
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    fn lit(value: &str) -> LitStr {
        LitStr::new(value, proc_macro2::Span::call_site())
    }

    #[test]
    fn key_defaults_to_last_param() {
        assert_eq!(ok("/echo").key_param(None).unwrap(), None);
        assert_eq!(ok("/<a>").key_param(None).unwrap().as_deref(), Some("a"));
        assert_eq!(
            ok("/<a>/<b>").key_param(None).unwrap().as_deref(),
            Some("b")
        );
    }

    #[test]
    fn explicit_key_must_name_a_param() {
        let t = ok("/room/<room>/<user>");
        assert_eq!(
            t.key_param(Some(&lit("room"))).unwrap().as_deref(),
            Some("room")
        );
        let e = t.key_param(Some(&lit("rom"))).unwrap_err().to_string();
        assert!(e.contains("`room`, `user`"), "{e}");
        let e = ok("/echo")
            .key_param(Some(&lit("k")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("the route has none"), "{e}");
    }
}
