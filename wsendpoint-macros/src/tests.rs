//! Expansion snapshots: `try_expand` on `quote!` input, formatted with `prettyplease`, compared
//! with the file snapshots in `wsendpoint-macros/tests/snapshots/`.
//!
//! Update them with `INSTA_UPDATE=always cargo test -p wsendpoint-macros`, then read the diff.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::{server_endpoint, try_expand};

/// The formatted expansion of `#[server_endpoint(attr)] item`.
fn expand(attr: TokenStream, item: TokenStream) -> String {
    let out = try_expand(attr, item).unwrap_or_else(|e| panic!("expansion failed: {e}"));
    let file: syn::File = syn::parse2(out).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

macro_rules! assert_expansion {
    ($name:literal, $expansion:expr) => {
        insta::with_settings!({
            snapshot_path => "../tests/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $expansion);
        })
    };
}

#[test]
fn mining_all_roles_async_and_sync() {
    let out = expand(
        quote!("/websocket/<key>"),
        quote! {
            impl MiningSocket {
                /// Starts the job.
                #[on_open]
                async fn open(&mut self, session: &Session, key: String) {
                    self.key = key;
                }

                #[on_message]
                fn command(&mut self, text: &str) -> Result<String, Rejected> {
                    self.handle(text)
                }

                #[wsendpoint::on_close]
                async fn close(&mut self, reason: CloseReason) {}

                #[on_error]
                fn error(&mut self, session: &Session, error: wsendpoint::Error) {}

                fn handle(&mut self, text: &str) -> Result<String, Rejected> {
                    Ok(text.into())
                }
            }
        },
    );
    assert_expansion!("mining", out);
}

#[test]
fn every_option_handshake_state_and_three_message_kinds() {
    let out = expand(
        quote!(
            "/jobs/<tenant>/<id>",
            key = "id",
            allowed_origins = ["https://app.example", "http://localhost:8080"],
            subprotocols = ["v2.json", "v1.json"],
            max_message_size = "64KiB",
            ping_interval = "20s",
            idle_timeout = "1m",
            send_queue = 128,
            on_overflow = "drop_newest",
            on_duplicate_key = "replace",
            on_decode_error = "close",
            history = "2m",
            history_size = 500,
        ),
        quote! {
            impl Jobs {
                #[on_handshake]
                async fn handshake(
                    handshake: &Handshake,
                    verifier: State<Verifier>,
                    id: u64,
                ) -> Result<Accept<Self>, Reject> {
                    let user = verifier.check(handshake.query("token")).await?;
                    Ok(Accept::new(Jobs::new(id)).with_key(user))
                }

                #[on_open]
                async fn open(&mut self, session: &Session, tenant: String, db: State<Db>) {}

                #[on_message]
                async fn command(&mut self, Json(cmd): Json<Command>, session: &Session) -> Json<Reply> {
                    self.run(cmd).await
                }

                #[on_message]
                fn upload(&mut self, data: Vec<u8>, id: u64) -> Option<Vec<u8>> {
                    None
                }

                #[on_message]
                fn pong(&mut self, _: Pong) {}

                #[on_close]
                async fn close(&mut self, reason: CloseReason, db: State<Db>) {}

                #[on_error]
                fn error(&mut self, error: wsendpoint::Error, jobs: State<Arc<JobRunner>>) {}
            }
        },
    );
    assert_expansion!("every_option", out);
}

#[test]
fn sync_receiverless_handshake() {
    let out = expand(
        quote!("/inbox", allowed_origins = "*", ping_interval = "off"),
        quote! {
            impl Inbox {
                #[wsendpoint::on_handshake]
                fn accept(handshake: &Handshake) -> Result<Self, Reject> {
                    match handshake.query("user") {
                        Some(user) => Ok(Inbox { user: user.to_owned() }),
                        None => Err(Reject::unauthorized("who are you?")),
                    }
                }

                #[on_message]
                fn text(&mut self, text: &str) -> String {
                    format!("{}: {text}", self.user)
                }
            }
        },
    );
    assert_expansion!("sync_handshake", out);
}

#[test]
fn multi_param_route_with_key_and_typed_id() {
    let out = expand(
        quote!("/room/<room>/<user>/<id>", key = "room"),
        quote! {
            impl Chat {
                #[on_open]
                async fn join(&mut self, room: String, user: String, id: u64, session: &Session) {}

                #[on_message]
                async fn say(&mut self, id: u64, text: String, room: String) -> String {
                    text
                }

                #[on_close]
                fn leave(&mut self, room: String, id: u64) {}
            }
        },
    );
    assert_expansion!("multi_param_key", out);
}

#[test]
fn java_brace_params() {
    let out = expand(
        quote!("/java/{group}/{member}"),
        quote! {
            impl JavaStyle {
                #[on_open]
                fn open(&mut self, mut member: String) {}
            }
        },
    );
    assert_expansion!("java_braces", out);
}

#[test]
fn receiverless_and_shared_self() {
    let out = expand(
        quote!("/stats"),
        quote! {
            impl Stats {
                #[on_open]
                fn greet(session: &Session) -> &'static str {
                    "hello"
                }

                #[on_message]
                async fn count(&self, text: &str) -> String {
                    text.len().to_string()
                }

                #[on_error]
                async fn log(error: wsendpoint::Error) {}
            }
        },
    );
    assert_expansion!("receiverless_and_ref_self", out);
}

#[test]
fn message_only_with_optional_reply() {
    let out = expand(
        quote!("/"),
        quote! {
            impl Echo {
                #[on_message]
                fn echo(&mut self, text: String) -> Option<String> {
                    (!text.is_empty()).then_some(text)
                }
            }
        },
    );
    assert_expansion!("message_only", out);
}

#[test]
fn cfg_is_copied_onto_dispatch_and_checks() {
    let out = expand(
        quote!("/debug/<id>"),
        quote! {
            #[cfg(feature = "debug-endpoint")]
            impl Debug {
                #[cfg(debug_assertions)]
                #[on_open]
                fn open(&mut self, id: u32) {}

                #[cfg(unix)]
                #[cfg(feature = "auth")]
                #[on_handshake]
                fn handshake(handshake: &Handshake, db: State<Db>) -> Result<Self, Reject> {
                    Ok(Debug)
                }
            }
        },
    );
    assert_expansion!("cfg_copied", out);
}

#[test]
fn errors_keep_the_stripped_impl_block() {
    let out = server_endpoint(
        quote!("/a/<k>", kee = "k"),
        quote! {
            impl Broken {
                #[on_open] fn open(self) {}
                #[on_message] #[on_close] fn both(&mut self) {}
            }
        },
    );
    let out = out.to_string();
    let (block, errors) = out.split_once(":: core :: compile_error").expect("errors");
    assert_eq!(
        block.trim(),
        "impl Broken { fn open (self) { } fn both (& mut self) { } }"
    );
    assert_eq!(errors.matches("compile_error").count(), 2, "{out}");
}

#[test]
fn errors_on_a_struct_keep_the_struct() {
    let out = server_endpoint(
        quote!("/a"),
        quote!(
            struct NotAnImpl;
        ),
    )
    .to_string();
    assert!(out.starts_with("struct NotAnImpl ;"), "{out}");
    assert!(out.contains("goes on an inherent `impl` block"), "{out}");
}

#[test]
fn misplaced_role_attribute_keeps_the_item() {
    let out = crate::expand::misplaced_role(
        "on_open",
        quote!(
            fn f() {}
        ),
    )
    .to_string();
    assert!(
        out.contains("`#[on_open]` must be used on a method"),
        "{out}"
    );
    assert!(out.ends_with("fn f () { }"), "{out}");
}
