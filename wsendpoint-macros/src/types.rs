//! What the macro can tell about a parameter from its type's syntax alone.
//!
//! Types are checked by the runtime's traits; this module only recognizes the few shapes the
//! checks and the dispatch need: the message kinds a parameter takes (`String` is text, `Vec<u8>`
//! binary, `Pong` a pong), `State<T>`, and the std types that look like a path parameter's value.
//! A type is recognized by its last path segment, so `wsendpoint::Json<T>` and `Json<T>` are the
//! same; a type the macro does not know is left to the traits.

use std::fmt;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{GenericArgument, PathArguments, PathSegment, Type};

/// A set of message kinds: the messages a parameter (or an `#[on_message]` method) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Kinds(u8);

impl Kinds {
    pub(crate) const NONE: Kinds = Kinds(0);
    pub(crate) const TEXT: Kinds = Kinds(1);
    pub(crate) const BINARY: Kinds = Kinds(2);
    pub(crate) const PONG: Kinds = Kinds(4);
    /// The raw `Message`: text and binary.
    pub(crate) const DATA: Kinds = Kinds(1 | 2);

    /// Each single kind, with its name in messages.
    const EACH: [(Kinds, &'static str); 3] = [
        (Kinds::TEXT, "text"),
        (Kinds::BINARY, "binary"),
        (Kinds::PONG, "pong"),
    ];

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in either set.
    pub(crate) fn or(self, other: Kinds) -> Kinds {
        Kinds(self.0 | other.0)
    }

    /// The kinds in both sets.
    pub(crate) fn and(self, other: Kinds) -> Kinds {
        Kinds(self.0 & other.0)
    }

    /// The single kinds in the set, in the order text, binary, pong.
    pub(crate) fn each(self) -> impl Iterator<Item = Kinds> {
        Kinds::EACH
            .into_iter()
            .map(|(kind, _)| kind)
            .filter(move |kind| !self.and(*kind).is_empty())
    }
}

impl fmt::Display for Kinds {
    /// `text`, `text and binary`, `text, binary and pong`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Kinds::EACH
            .into_iter()
            .filter(|(kind, _)| !self.and(*kind).is_empty())
            .map(|(_, name)| name)
            .collect();
        match names.as_slice() {
            [] => f.write_str("no"),
            [one] => f.write_str(one),
            [init @ .., last] => write!(f, "{} and {last}", init.join(", ")),
        }
    }
}

/// The message kinds a parameter of type `ty` takes, when its type is the message itself:
/// text for `String`, `&str` and `Json<T>`; binary for `Vec<u8>`, `&[u8]` and `Bytes`; pongs for
/// `Pong`; text and binary for the raw `Message`. Empty for anything else.
pub(crate) fn message_kinds(ty: &Type) -> Kinds {
    let ty = peel(ty);
    match ty {
        Type::Slice(slice) if is_u8(&slice.elem) => Kinds::BINARY,
        Type::Path(_) => match last_segment(ty) {
            Some(segment) => segment_kinds(segment),
            None => Kinds::NONE,
        },
        _ => Kinds::NONE,
    }
}

fn segment_kinds(segment: &PathSegment) -> Kinds {
    let name = segment.ident.to_string();
    match (name.as_str(), type_args(segment).as_slice()) {
        ("String" | "str", []) => Kinds::TEXT,
        ("Json", [_]) => Kinds::TEXT,
        ("Vec", [elem]) if is_u8(elem) => Kinds::BINARY,
        ("Bytes", []) => Kinds::BINARY,
        ("Pong", []) => Kinds::PONG,
        ("Message", []) => Kinds::DATA,
        _ => Kinds::NONE,
    }
}

/// `T` when `ty` is `State<T>`.
pub(crate) fn state_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let segment = path.path.segments.last()?;
    match type_args(segment).as_slice() {
        [inner] if segment.ident == "State" => Some(inner),
        _ => None,
    }
}

/// Whether `ty` is a std type that a path parameter's value is commonly parsed into: `String`,
/// `bool`, `char`, the number primitives, `NonZero*` and the IP address types. Such a parameter
/// can only have come from the URL, so a name that matches no path parameter is a mistake.
pub(crate) fn is_path_value(ty: &Type) -> bool {
    let Type::Path(path) = peel_parens(ty) else {
        return false;
    };
    if path.qself.is_some() {
        return false;
    }
    let Some(segment) = path.path.segments.last() else {
        return false;
    };
    let name = segment.ident.to_string();
    match type_args(segment).as_slice() {
        [] => {
            PATH_VALUES.contains(&name.as_str())
                || (name.starts_with("NonZero") && name.len() > "NonZero".len())
        }
        [_] => name == "NonZero",
        _ => false,
    }
}

const PATH_VALUES: &[&str] = &[
    "String",
    "bool",
    "char",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "f32",
    "f64",
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
];

/// Whether `ty` is `String` (by its last segment).
pub(crate) fn is_string(ty: &Type) -> bool {
    let ty = peel_parens(ty);
    matches!(ty, Type::Path(_))
        && last_segment(ty).is_some_and(|s| s.ident == "String" && s.arguments.is_none())
}

/// The type (or any tokens) as a user would write it, for messages: `Vec<u8>`, `&str`,
/// `Json<Command>`.
pub(crate) fn display(tokens: impl ToTokens) -> String {
    let mut out = String::new();
    write_tokens(&mut out, tokens.into_token_stream());
    out
}

fn write_tokens(out: &mut String, tokens: TokenStream) {
    let mut word_before = false;
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                write_tokens(out, group.stream());
                out.push_str(close);
                word_before = false;
            }
            TokenTree::Ident(ident) => {
                if word_before {
                    out.push(' ');
                }
                out.push_str(&ident.to_string());
                word_before = true;
            }
            TokenTree::Literal(literal) => {
                if word_before {
                    out.push(' ');
                }
                out.push_str(&literal.to_string());
                word_before = true;
            }
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                // A lone `:` (not half of `::`) separates a pattern from its type.
                let lone_colon =
                    c == ':' && punct.spacing() == Spacing::Alone && !out.ends_with(':');
                out.push(c);
                if matches!(c, ',' | ';') || lone_colon {
                    out.push(' ');
                }
                word_before = false;
            }
        }
    }
}

/// `ty` without references, parentheses and invisible groups: `&'a str` is `str`.
fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Reference(reference) => peel(&reference.elem),
        Type::Paren(paren) => peel(&paren.elem),
        Type::Group(group) => peel(&group.elem),
        _ => ty,
    }
}

/// `ty` without parentheses and invisible groups (a `$ty` from a `macro_rules!`).
fn peel_parens(ty: &Type) -> &Type {
    match ty {
        Type::Paren(paren) => peel_parens(&paren.elem),
        Type::Group(group) => peel_parens(&group.elem),
        _ => ty,
    }
}

fn last_segment(ty: &Type) -> Option<&PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

/// The type arguments of `Segment<A, B>`; none for a segment without `<...>`.
fn type_args(segment: &PathSegment) -> Vec<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn is_u8(ty: &Type) -> bool {
    matches!(peel_parens(ty), Type::Path(path) if path.qself.is_none() && path.path.is_ident("u8"))
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn kinds(ty: Type) -> Kinds {
        message_kinds(&ty)
    }

    #[test]
    fn message_kinds_by_type() {
        assert_eq!(kinds(parse_quote!(String)), Kinds::TEXT);
        assert_eq!(kinds(parse_quote!(&str)), Kinds::TEXT);
        assert_eq!(kinds(parse_quote!(&'a str)), Kinds::TEXT);
        assert_eq!(kinds(parse_quote!(Json<Command>)), Kinds::TEXT);
        assert_eq!(kinds(parse_quote!(wsendpoint::Json<Vec<u8>>)), Kinds::TEXT);
        assert_eq!(kinds(parse_quote!(Vec<u8>)), Kinds::BINARY);
        assert_eq!(kinds(parse_quote!(&[u8])), Kinds::BINARY);
        assert_eq!(kinds(parse_quote!(bytes::Bytes)), Kinds::BINARY);
        assert_eq!(kinds(parse_quote!(Pong)), Kinds::PONG);
        assert_eq!(kinds(parse_quote!(Message)), Kinds::DATA);
        assert_eq!(kinds(parse_quote!(&Session)), Kinds::NONE);
        assert_eq!(kinds(parse_quote!(Vec<u16>)), Kinds::NONE);
        assert_eq!(kinds(parse_quote!(State<Db>)), Kinds::NONE);
        assert_eq!(kinds(parse_quote!(Words)), Kinds::NONE);
    }

    #[test]
    fn kinds_print_as_words() {
        assert_eq!(Kinds::TEXT.to_string(), "text");
        assert_eq!(Kinds::DATA.to_string(), "text and binary");
        assert_eq!(Kinds(7).to_string(), "text, binary and pong");
        assert_eq!(
            Kinds::DATA.each().collect::<Vec<_>>(),
            [Kinds::TEXT, Kinds::BINARY]
        );
    }

    #[test]
    fn state_is_recognized() {
        let ty: Type = parse_quote!(State<Db>);
        assert_eq!(state_inner(&ty), Some(&parse_quote!(Db)));
        let ty: Type = parse_quote!(wsendpoint::State<Arc<Jobs>>);
        assert!(state_inner(&ty).is_some());
        let ty: Type = parse_quote!(&State<Db>);
        assert!(state_inner(&ty).is_none());
        let ty: Type = parse_quote!(State);
        assert!(state_inner(&ty).is_none());
    }

    #[test]
    fn path_values() {
        let yes: [Type; 6] = [
            parse_quote!(String),
            parse_quote!(u64),
            parse_quote!(bool),
            parse_quote!(std::num::NonZeroU32),
            parse_quote!(NonZero<u8>),
            parse_quote!(std::net::IpAddr),
        ];
        assert!(yes.iter().all(is_path_value));
        let no: [Type; 5] = [
            parse_quote!(&str),
            parse_quote!(Vec<u8>),
            parse_quote!(CloseReason),
            parse_quote!(&Session),
            parse_quote!(NonZero),
        ];
        assert!(!no.iter().any(is_path_value));
    }

    #[test]
    fn types_display_as_written() {
        let show = |ty: Type| display(&ty);
        assert_eq!(show(parse_quote!(Vec<u8>)), "Vec<u8>");
        assert_eq!(show(parse_quote!(&'a mut str)), "&'a mut str");
        assert_eq!(show(parse_quote!(&[u8])), "&[u8]");
        assert_eq!(show(parse_quote!(Result<Json<A>, E>)), "Result<Json<A>, E>");
        assert_eq!(
            show(parse_quote!(wsendpoint::Message)),
            "wsendpoint::Message"
        );
        assert_eq!(
            display(quote::quote!(Json(cmd): Json<C>)),
            "Json(cmd): Json<C>"
        );
    }
}
