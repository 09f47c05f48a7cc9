//! The `name = value` options after the route template, as one table: [`Opt`].
//!
//! Each option is a variant with its name, its parser and its one-line doc, and [`Opt::ALL`]
//! lists them in the order they are documented and emitted; the help of an unknown argument, the
//! detection of a repeated one, the parsing and the `# Options` table of `#[server_endpoint]`'s
//! docs all come from it. Each parser records its mistakes in the [`Ctxt`], at the value's tokens,
//! and leaves the option out when its value is invalid.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitInt, LitStr};

use crate::ctxt::Ctxt;
use crate::suggest::did_you_mean;
use crate::units;

/// One option of `#[server_endpoint]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opt {
    Key,
    AllowedOrigins,
    Subprotocols,
    MaxMessageSize,
    PingInterval,
    IdleTimeout,
    SendQueue,
    OnOverflow,
    OnDuplicateKey,
    OnDecodeError,
    History,
    HistorySize,
}

impl Opt {
    /// Every option, in the order they are documented and emitted.
    pub(crate) const ALL: [Opt; 12] = [
        Opt::Key,
        Opt::AllowedOrigins,
        Opt::Subprotocols,
        Opt::MaxMessageSize,
        Opt::PingInterval,
        Opt::IdleTimeout,
        Opt::SendQueue,
        Opt::OnOverflow,
        Opt::OnDuplicateKey,
        Opt::OnDecodeError,
        Opt::History,
        Opt::HistorySize,
    ];

    /// The option called `name`, if any.
    pub(crate) fn named(name: &str) -> Option<Opt> {
        Opt::ALL.into_iter().find(|opt| opt.name() == name)
    }

    /// Every option's name, for "expected one of" and "did you mean".
    pub(crate) fn names() -> [&'static str; 12] {
        Opt::ALL.map(Opt::name)
    }

    /// The name the user writes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Opt::Key => "key",
            Opt::AllowedOrigins => "allowed_origins",
            Opt::Subprotocols => "subprotocols",
            Opt::MaxMessageSize => "max_message_size",
            Opt::PingInterval => "ping_interval",
            Opt::IdleTimeout => "idle_timeout",
            Opt::SendQueue => "send_queue",
            Opt::OnOverflow => "on_overflow",
            Opt::OnDuplicateKey => "on_duplicate_key",
            Opt::OnDecodeError => "on_decode_error",
            Opt::History => "history",
            Opt::HistorySize => "history_size",
        }
    }

    /// The option's row in the `# Options` table of `#[server_endpoint]`'s docs. Rustdoc reads
    /// those docs as a literal in `lib.rs`, which cannot be built from this table, so a test holds
    /// the two equal instead.
    #[cfg(test)]
    fn doc(self) -> &'static str {
        match self {
            Opt::Key => "the path parameter that keys the session pool: `\"room\"`",
            Opt::AllowedOrigins => {
                "`\"*\"`, or a list of origins `[\"https://app.example\"]` \
                 (default: the server's own origin)"
            }
            Opt::Subprotocols => {
                "the subprotocols spoken, in order of preference: `[\"v2.json\", \"v1.json\"]`"
            }
            Opt::MaxMessageSize => {
                "`\"64KiB\"` (units B, KB, KiB, MB, MiB) or a number of bytes `65536`"
            }
            Opt::PingInterval => {
                "how often the server pings: `\"20s\"` (units ms, s, m, h) or `\"off\"`"
            }
            Opt::IdleTimeout => {
                "how long a client may send nothing before it is closed: `\"2m\"` or `\"off\"`; \
                 it must be longer than the ping interval"
            }
            Opt::SendQueue => "the outbound queue's capacity in messages: `256`",
            Opt::OnOverflow => {
                "`\"close\"` (1008) or `\"drop_newest\"`: what a send to a full queue does"
            }
            Opt::OnDuplicateKey => {
                "`\"allow\"`, `\"replace\"` or `\"reject\"`: what a second session under one key does"
            }
            Opt::OnDecodeError => {
                "`\"report\"` or `\"close\"` (1007): what a `Json<T>` message that does not decode does"
            }
            Opt::History => {
                "how long the text sent to each key is kept, so that a client that reconnects \
                 recovers what it missed: `\"2m\"` (default: nothing is kept)"
            }
            Opt::HistorySize => "how many messages `history` keeps per key: `1000`",
        }
    }

    /// Parses this option's `value` into its slot of `given`, recording any mistake in `ctxt`.
    pub(crate) fn parse(self, value: &Expr, ctxt: &Ctxt, given: &mut Given) {
        let name = self.name();
        let options = &mut given.options;
        match self {
            Opt::Key => given.key = key(value, ctxt),
            Opt::AllowedOrigins => options.allowed_origins = origins(value, ctxt),
            Opt::Subprotocols => options.subprotocols = string_list(value, &SUBPROTOCOLS, ctxt),
            Opt::MaxMessageSize => options.max_message_size = ctxt.ok(size(name, value)),
            Opt::PingInterval => options.ping_interval = ctxt.ok(duration(name, value)),
            Opt::IdleTimeout => options.idle_timeout = ctxt.ok(duration(name, value)),
            Opt::SendQueue => options.send_queue = ctxt.ok(count(name, value)),
            Opt::OnOverflow => options.on_overflow = ctxt.ok(choice(name, value, OVERFLOW)),
            Opt::OnDuplicateKey => {
                options.on_duplicate_key = ctxt.ok(choice(name, value, DUPLICATE_KEY));
            }
            Opt::OnDecodeError => {
                options.on_decode_error = ctxt.ok(choice(name, value, DECODE_ERRORS));
            }
            Opt::History => options.history = ctxt.ok(duration(name, value)),
            Opt::HistorySize => options.history_size = ctxt.ok(count(name, value)),
        }
    }
}

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

/// What the options give, before the route is resolved.
#[derive(Debug, Default)]
pub(crate) struct Given {
    pub(crate) key: KeyArg,
    pub(crate) options: Options,
}

/// The `key` option, which picks the route's pool key.
#[derive(Debug, Default)]
pub(crate) enum KeyArg {
    /// Left out: the route's only or last parameter keys the pool.
    #[default]
    Default,
    Named(LitStr),
    /// Given, but not a string; its error is recorded, and no route is resolved, so the checks
    /// that need one do not add errors about a key nobody named.
    Invalid,
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
    /// In milliseconds; `None` for `"off"`.
    pub(crate) history: Option<Valued<Option<u64>>>,
    pub(crate) history_size: Option<Valued<u64>>,
}

impl Options {
    /// A history size alone says nothing about how long to keep messages.
    pub(crate) fn check_history(&self, ctxt: &Ctxt) {
        let kept = matches!(self.history, Some(Valued { value: Some(_), .. }));
        if let (Some(size), false) = (&self.history_size, kept) {
            ctxt.error_at(
                size.span,
                "`history_size` needs `history`, how long messages are kept: `history = \"2m\"`",
            );
        }
    }

    /// An idle timeout no longer than the ping interval would close clients that answer every
    /// ping.
    pub(crate) fn check_timeouts(&self, ctxt: &Ctxt) {
        let (Some(ping), Some(idle)) = (&self.ping_interval, &self.idle_timeout) else {
            return;
        };
        let (Some(ping_ms), Some(idle_ms)) = (ping.value, idle.value) else {
            return;
        };
        if idle_ms <= ping_ms {
            ctxt.error_at(
                idle.span,
                format!(
                    "`idle_timeout` ({}) must be longer than `ping_interval` ({}): \
                     a client that answers every ping would still be closed as idle",
                    units::show_duration(idle_ms),
                    units::show_duration(ping_ms)
                ),
            );
        }
    }
}

/// `key = "room"`.
fn key(value: &Expr, ctxt: &Ctxt) -> KeyArg {
    let Some(lit) = lit_str(value) else {
        ctxt.error_spanned_by(
            value,
            "expected the name of a path parameter as a string literal: `key = \"room\"`",
        );
        return KeyArg::Invalid;
    };
    KeyArg::Named(lit.clone())
}

/// What a list of strings accepts, for its messages: `allowed_origins` and `subprotocols`.
struct ListRules {
    /// The shapes accepted, when the value or an element has another.
    expected: &'static str,
    /// Why `[]` is refused.
    empty: &'static str,
    /// What an element is, for "duplicate {what}".
    what: &'static str,
    /// An element's own check: the message of its error.
    valid: fn(&str) -> Result<(), String>,
    /// Whether two elements are the same one.
    same: fn(&str, &str) -> bool,
}

const ORIGINS: ListRules = ListRules {
    expected: "expected `\"*\"` or a list of origins: \
               `allowed_origins = [\"https://app.example\"]`",
    empty: "an empty list would refuse every browser: list the origins, write `\"*\"` for any, \
            or leave `allowed_origins` out to allow the server's own origin only",
    what: "origin",
    valid: |text| match text {
        "*" => Ok(()),
        origin => units::origin(origin),
    },
    same: |a, b| a.eq_ignore_ascii_case(b),
};

const SUBPROTOCOLS: ListRules = ListRules {
    expected: "expected a list of subprotocol names, in order of preference: \
               `subprotocols = [\"v2.json\", \"v1.json\"]`",
    empty: "an empty list names no subprotocol: list at least one, \
            or leave `subprotocols` out",
    what: "subprotocol",
    valid: units::http_token,
    same: |a, b| a == b,
};

/// `allowed_origins = "*"`, `= "https://app.example"` or `= ["https://a.example", ...]`.
fn origins(value: &Expr, ctxt: &Ctxt) -> Option<Origins> {
    let list = string_list(value, &ORIGINS, ctxt)?;
    if list.iter().any(|lit| lit.value() == "*") {
        return Some(Origins::Any);
    }
    Some(Origins::List(list))
}

/// A string or a non-empty list of strings, each valid and none repeated; every bad element is
/// reported, and the list is left out if any was.
fn string_list(value: &Expr, rules: &ListRules, ctxt: &Ctxt) -> Option<Vec<LitStr>> {
    if matches!(peel(value), Expr::Array(array) if array.elems.is_empty()) {
        ctxt.error_spanned_by(value, rules.empty);
        return None;
    }
    ctxt.scope(|| {
        let list = strings(value, rules.expected, ctxt);
        for lit in &list {
            if let Err(message) = (rules.valid)(&lit.value()) {
                ctxt.error_at(lit.span(), message);
            }
        }
        for (at, lit) in list.iter().enumerate() {
            let value = lit.value();
            if list[..at]
                .iter()
                .any(|earlier| (rules.same)(&earlier.value(), &value))
            {
                ctxt.error_at(lit.span(), format!("duplicate {} \"{value}\"", rules.what));
            }
        }
        list
    })
}

/// The strings of a string or a list of strings; each element that is not a string, or the
/// value if it is neither, is an error.
fn strings(value: &Expr, expected: &str, ctxt: &Ctxt) -> Vec<LitStr> {
    if let Some(lit) = lit_str(value) {
        return vec![lit.clone()];
    }
    let Expr::Array(array) = peel(value) else {
        ctxt.error_spanned_by(value, expected);
        return Vec::new();
    };
    let mut list = Vec::new();
    for elem in &array.elems {
        match lit_str(elem) {
            Some(lit) => list.push(lit.clone()),
            None => ctxt.error_spanned_by(elem, expected),
        }
    }
    list
}

/// `max_message_size = "64KiB"` or `= 65536`.
fn size(name: &str, value: &Expr) -> syn::Result<Valued<u64>> {
    let bytes = match literal(value) {
        Some(Lit::Str(lit)) => {
            units::size(&lit.value()).map_err(|message| syn::Error::new(lit.span(), message))?
        }
        Some(Lit::Int(lit)) => match lit.suffix() {
            "" | "usize" => positive(lit, name)?,
            suffix => return Err(quote_unit(lit, suffix, name)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_option_once_in_declaration_order() {
        assert_eq!(Opt::ALL.len(), Opt::HistorySize as usize + 1);
        for (at, opt) in Opt::ALL.into_iter().enumerate() {
            assert_eq!(opt as usize, at, "{opt:?}");
            assert_eq!(Opt::named(opt.name()), Some(opt));
        }
        assert_eq!(Opt::named("r#key"), None);
    }

    /// The `# Options` table of `#[server_endpoint]`'s docs has one row per option, in order,
    /// saying what [`Opt::doc`] says.
    #[test]
    fn the_documented_options_are_the_table() {
        let documented: Vec<&str> = include_str!("lib.rs")
            .lines()
            .filter(|line| line.starts_with("/// | `"))
            .collect();
        let table: Vec<String> = Opt::ALL
            .into_iter()
            .map(|opt| format!("/// | `{}` | {} |", opt.name(), opt.doc()))
            .collect();
        assert_eq!(documented, table);
    }
}
