//! Lifecycle method signatures: receivers, generics, `unsafe`, parameter patterns and types.

#![allow(unused)]

use wsendpoint::prelude::*;

#[derive(Default)]
struct Receivers;

#[server_endpoint("/receivers")]
impl Receivers {
    #[on_open]
    fn by_value(self) {}

    #[on_message]
    fn mut_by_value(mut self) {}

    #[on_close]
    fn boxed(self: Box<Self>) {}

    #[on_error]
    fn this_is_fine(self: &mut Self) {}
}

#[derive(Default)]
struct Generics;

#[server_endpoint("/generics/<key>")]
impl Generics {
    #[on_open]
    fn open<T: Default>(&mut self) {}

    #[on_message]
    fn message<'a>(&mut self, text: &'a str) {}

    #[on_close]
    unsafe fn close(&mut self) {}
}

#[derive(Default)]
struct Parameters;

#[server_endpoint("/parameters/<key>")]
impl Parameters {
    #[on_open]
    fn open(&mut self, ref key: String, _: &Session) {}

    #[on_message]
    fn message(&mut self, text: impl AsRef<str>, all: Vec<impl Sized>) {}
}

fn main() {}
