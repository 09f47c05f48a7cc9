//! Every path the generated code names, declared once.
//!
//! Runtime items are reached only through `::wsendpoint::__private`, so users need neither `axum`
//! nor `inventory` in their own `Cargo.toml`; std items are spelled in full from `::core`, so a
//! user's `Result` or `Option` alias cannot change what the generated code means.

use proc_macro2::{Ident, Punct, Spacing, Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};

/// An absolute path, `::a::b::C`, emitted with the call-site span or with a chosen one.
pub(crate) struct AbsPath(&'static [&'static str]);

impl AbsPath {
    /// The path with every token at `span`: an unmet trait bound on it is reported there.
    pub(crate) fn spanned(&self, span: Span) -> TokenStream {
        let mut tokens = TokenStream::new();
        for segment in self.0 {
            let mut first = Punct::new(':', Spacing::Joint);
            let mut second = Punct::new(':', Spacing::Alone);
            first.set_span(span);
            second.set_span(span);
            tokens.append(first);
            tokens.append(second);
            tokens.append(Ident::new(segment, span));
        }
        tokens
    }
}

impl ToTokens for AbsPath {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.spanned(Span::call_site()));
    }
}

macro_rules! paths {
    ($($(#[$doc:meta])* $name:ident = $($segment:ident)::+;)*) => {
        $($(#[$doc])* pub(crate) const $name: AbsPath = AbsPath(&[$(stringify!($segment)),+]);)*
    };
}

paths! {
    /// The trait the macro implements.
    ENDPOINT = wsendpoint::__private::Endpoint;
    ENDPOINT_CONFIG = wsendpoint::__private::EndpointConfig;
    ORIGIN_POLICY = wsendpoint::__private::OriginPolicy;
    OVERFLOW = wsendpoint::__private::Overflow;
    DUPLICATE_KEY = wsendpoint::__private::DuplicateKey;
    DECODE_ERRORS = wsendpoint::__private::DecodeErrors;
    HISTORY_CONFIG = wsendpoint::__private::HistoryConfig;
    OUTCOME = wsendpoint::__private::Outcome;
    ERROR = wsendpoint::__private::Error;
    PATH_PARAMS = wsendpoint::__private::PathParams;
    /// Parses a path parameter bound by name: at the handshake, and in every event.
    PATH_PARAM = wsendpoint::__private::path_param;
    INTO_REPLY = wsendpoint::__private::IntoReply;
    /// Turns `#[on_handshake]`'s return value into the verdict.
    INTO_ACCEPT = wsendpoint::__private::IntoAccept;
    HANDSHAKE = wsendpoint::__private::Handshake;
    ACCEPT = wsendpoint::__private::Accept;
    REJECT = wsendpoint::__private::Reject;
    FROM_HANDSHAKE = wsendpoint::__private::FromHandshake;
    STATE_MAP = wsendpoint::__private::StateMap;
    /// Checks at the handshake that the hub has a `State<T>` value.
    REQUIRE_STATE = wsendpoint::__private::require_state;
    MESSAGE_KINDS = wsendpoint::__private::MessageKinds;
    /// What a message no `#[on_message]` method takes gets.
    UNHANDLED = wsendpoint::__private::unhandled;
    EXPECT_UNIT = wsendpoint::__private::expect_unit;
    OPEN_EVENT = wsendpoint::__private::OpenEvent;
    MESSAGE_EVENT = wsendpoint::__private::MessageEvent;
    ERROR_EVENT = wsendpoint::__private::ErrorEvent;
    CLOSE_EVENT = wsendpoint::__private::CloseEvent;
    FROM_OPEN = wsendpoint::__private::FromOpen;
    FROM_MESSAGE = wsendpoint::__private::FromMessage;
    FROM_ERROR = wsendpoint::__private::FromError;
    FROM_CLOSE = wsendpoint::__private::FromClose;
    REGISTRATION = wsendpoint::__private::Registration;
    /// `inventory::submit!` is reached through this re-export.
    INVENTORY = wsendpoint::__private::inventory;

    RESULT_OK = core::result::Result::Ok;
    RESULT_ERR = core::result::Result::Err;
    RESULT = core::result::Result;
    OPTION_SOME = core::option::Option::Some;
    OPTION_NONE = core::option::Option::None;
    DEFAULT = core::default::Default;
    FUTURE = core::future::Future;
    SEND = core::marker::Send;
    DURATION = core::time::Duration;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_absolute() {
        assert_eq!(
            ENDPOINT.to_token_stream().to_string(),
            ":: wsendpoint :: __private :: Endpoint"
        );
    }
}
