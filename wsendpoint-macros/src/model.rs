//! A typed view of the `impl` block: which methods handle which event, with what parameters.
//!
//! Building the view never fails; it keeps references into the syntax tree so that the checks in
//! `check.rs` can point their errors at the exact tokens.

use syn::{Attribute, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Meta, Pat, Path, Type};

/// A lifecycle event, named by its attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `#[on_handshake]`: an associated function that accepts or refuses the handshake and
    /// builds the handler; not an event of a live session.
    Handshake,
    Open,
    Message,
    Close,
    Error,
}

impl Role {
    /// Every role, in the order the generated trait methods are emitted.
    pub(crate) const ALL: [Role; 5] = [
        Role::Handshake,
        Role::Open,
        Role::Message,
        Role::Close,
        Role::Error,
    ];

    /// The attribute's name, which is also the name of the `Endpoint` method it implements.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Handshake => "on_handshake",
            Role::Open => "on_open",
            Role::Message => "on_message",
            Role::Close => "on_close",
            Role::Error => "on_error",
        }
    }

    /// Whether the method's return value is sent back (`on_open`, `on_message`), as opposed to
    /// returning nothing (`on_close`, `on_error`).
    pub(crate) fn replies(self) -> bool {
        matches!(self, Role::Open | Role::Message)
    }

    /// Whether an endpoint has at most one method of this role; `#[on_message]` may have one
    /// per message kind.
    pub(crate) fn is_single(self) -> bool {
        self != Role::Message
    }

    /// What a method of this role takes, for messages.
    pub(crate) fn accepts(self) -> &'static str {
        match self {
            Role::Handshake => "`&Handshake`, `State<T>` and path parameters bound by name",
            Role::Open => "`&Session`, `State<T>` and path parameters bound by name",
            Role::Message => {
                "`&Session`, `State<T>`, the message and path parameters bound by name"
            }
            Role::Close => {
                "`&Session`, `CloseReason`, `State<T>` and path parameters bound by name"
            }
            Role::Error => {
                "`&Session`, `wsendpoint::Error`, `State<T>` and path parameters bound by name"
            }
        }
    }

    /// What one method of this role handles, for messages: "this event", "the handshake".
    pub(crate) fn handles(self) -> &'static str {
        match self {
            Role::Handshake => "the handshake",
            _ => "this event",
        }
    }

    /// The role `attr` marks: `#[on_open]`, `#[wsendpoint::on_open]` or `#[::wsendpoint::on_open]`.
    pub(crate) fn of_attr(attr: &Attribute) -> Option<Role> {
        let name = role_attr_name(attr.path())?;
        Role::ALL.into_iter().find(|role| name == role.name())
    }
}

/// The last segment of `path` when it is bare or qualified by `wsendpoint` only.
fn role_attr_name(path: &Path) -> Option<String> {
    let segments: Vec<_> = path.segments.iter().collect();
    let last = match segments.as_slice() {
        [last] if path.leading_colon.is_none() => last,
        [krate, last] if krate.ident == "wsendpoint" && krate.arguments.is_none() => last,
        _ => return None,
    };
    last.arguments.is_none().then(|| last.ident.to_string())
}

/// One lifecycle attribute where it was written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoleAttr<'a> {
    pub(crate) role: Role,
    pub(crate) attr: &'a Attribute,
}

/// How a lifecycle method takes `self`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Receiver<'a> {
    /// `&mut self`.
    RefMut,
    /// `&self`.
    Ref,
    /// No receiver: an associated function, called as `Self::method(...)`.
    None,
    /// Anything else (`self`, `mut self`, `self: Box<Self>`): rejected by the checks.
    Other(&'a syn::Receiver),
}

/// One parameter of a lifecycle method.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arg<'a> {
    /// The pattern as written.
    pub(crate) pat: &'a Pat,
    /// The bound name, when the pattern is a plain (possibly `mut`) identifier.
    pub(crate) name: Option<&'a Ident>,
    pub(crate) ty: &'a Type,
}

impl<'a> Arg<'a> {
    /// The path parameter among `params` this parameter is bound to: the one with exactly its
    /// name. Only a plain name binds; any other pattern is provided by its type.
    pub(crate) fn bound_to<'p>(&self, params: &[&'p str]) -> Option<&'p str> {
        let name = self.name?;
        params.iter().copied().find(|param| *name == *param)
    }

    /// The identifier of a `ref name` or `name @ pattern` parameter, which binds nothing.
    pub(crate) fn binding_ident(&self) -> Option<&'a Ident> {
        match self.pat {
            Pat::Ident(ident) if self.name.is_none() => Some(&ident.ident),
            _ => None,
        }
    }
}

/// A method carrying at least one lifecycle attribute.
#[derive(Debug)]
pub(crate) struct Method<'a> {
    pub(crate) item: &'a ImplItemFn,
    /// Its lifecycle attributes in source order; a valid method has exactly one.
    pub(crate) roles: Vec<RoleAttr<'a>>,
    pub(crate) receiver: Receiver<'a>,
    pub(crate) args: Vec<Arg<'a>>,
    /// Its `#[cfg(...)]` attributes, copied onto the generated dispatch.
    pub(crate) cfgs: Vec<&'a Attribute>,
}

impl<'a> Method<'a> {
    /// The role of a valid method.
    pub(crate) fn role(&self) -> Role {
        self.roles[0].role
    }

    pub(crate) fn ident(&self) -> &'a Ident {
        &self.item.sig.ident
    }

    pub(crate) fn is_async(&self) -> bool {
        self.item.sig.asyncness.is_some()
    }
}

/// The `impl` block under `#[server_endpoint]`.
#[derive(Debug)]
pub(crate) struct EndpointImpl<'a> {
    pub(crate) item: &'a ItemImpl,
    /// Methods with lifecycle attributes, in source order.
    pub(crate) methods: Vec<Method<'a>>,
    /// Lifecycle attributes on items that are not methods (constants, types, macros).
    pub(crate) misplaced: Vec<RoleAttr<'a>>,
    /// The block's own `#[cfg(...)]` attributes written after `#[server_endpoint]`, copied onto
    /// the generated glue.
    pub(crate) cfgs: Vec<&'a Attribute>,
}

impl<'a> EndpointImpl<'a> {
    pub(crate) fn from_impl(item: &'a ItemImpl) -> Self {
        let mut methods = Vec::new();
        let mut misplaced = Vec::new();
        for impl_item in &item.items {
            match impl_item {
                ImplItem::Fn(method) => methods.extend(Method::from_fn(method)),
                other => misplaced.extend(role_attrs(item_attrs(other))),
            }
        }
        EndpointImpl {
            item,
            methods,
            misplaced,
            cfgs: cfg_attrs(&item.attrs),
        }
    }

    /// The method handling `role`: the first one marked with it.
    pub(crate) fn handler(&self, role: Role) -> Option<&Method<'a>> {
        self.methods.iter().find(|method| method.role() == role)
    }

    /// Every method handling `role`, in source order.
    pub(crate) fn handlers(&self, role: Role) -> impl Iterator<Item = &Method<'a>> {
        self.methods
            .iter()
            .filter(move |method| method.role() == role)
    }
}

impl<'a> Method<'a> {
    /// The view of `item`, if it carries a lifecycle attribute.
    fn from_fn(item: &'a ImplItemFn) -> Option<Self> {
        let roles = role_attrs(&item.attrs);
        if roles.is_empty() {
            return None;
        }
        let mut receiver = Receiver::None;
        let mut args = Vec::new();
        for input in &item.sig.inputs {
            match input {
                FnArg::Receiver(r) => receiver = receiver_of(r),
                FnArg::Typed(typed) => args.push(Arg {
                    pat: &typed.pat,
                    name: plain_name(&typed.pat),
                    ty: &typed.ty,
                }),
            }
        }
        Some(Method {
            item,
            roles,
            receiver,
            args,
            cfgs: cfg_attrs(&item.attrs),
        })
    }
}

fn cfg_attrs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .collect()
}

fn role_attrs(attrs: &[Attribute]) -> Vec<RoleAttr<'_>> {
    attrs
        .iter()
        .filter_map(|attr| Role::of_attr(attr).map(|role| RoleAttr { role, attr }))
        .collect()
}

fn item_attrs(item: &ImplItem) -> &[Attribute] {
    match item {
        ImplItem::Const(item) => &item.attrs,
        ImplItem::Fn(item) => &item.attrs,
        ImplItem::Type(item) => &item.attrs,
        ImplItem::Macro(item) => &item.attrs,
        _ => &[],
    }
}

fn item_attrs_mut(item: &mut ImplItem) -> Option<&mut Vec<Attribute>> {
    match item {
        ImplItem::Const(item) => Some(&mut item.attrs),
        ImplItem::Fn(item) => Some(&mut item.attrs),
        ImplItem::Type(item) => Some(&mut item.attrs),
        ImplItem::Macro(item) => Some(&mut item.attrs),
        _ => None,
    }
}

/// `&mut self`, `&self` (also written `self: &mut Self`, `self: &Self`), or something else.
fn receiver_of(receiver: &syn::Receiver) -> Receiver<'_> {
    match &*receiver.ty {
        Type::Reference(reference) if is_self(&reference.elem) => {
            if reference.mutability.is_some() {
                Receiver::RefMut
            } else {
                Receiver::Ref
            }
        }
        _ => Receiver::Other(receiver),
    }
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.is_ident("Self"))
}

/// The name bound by `name`, `mut name` or `_name`; `None` for any other pattern.
fn plain_name(pat: &Pat) -> Option<&Ident> {
    match pat {
        Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => Some(&ident.ident),
        _ => None,
    }
}

/// Whether `meta` is the bare attribute, without arguments.
pub(crate) fn is_bare(meta: &Meta) -> bool {
    matches!(meta, Meta::Path(_))
}

/// Removes the lifecycle attributes from every item of the block, so the block compiles as is.
pub(crate) fn strip_role_attrs(item: &mut ItemImpl) {
    for impl_item in &mut item.items {
        if let Some(attrs) = item_attrs_mut(impl_item) {
            attrs.retain(|attr| Role::of_attr(attr).is_none());
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    #[test]
    fn role_attributes_bare_or_qualified() {
        let roles = |attr: Attribute| Role::of_attr(&attr);
        assert_eq!(roles(parse_quote!(#[on_open])), Some(Role::Open));
        assert_eq!(
            roles(parse_quote!(#[wsendpoint::on_message])),
            Some(Role::Message)
        );
        assert_eq!(
            roles(parse_quote!(#[::wsendpoint::on_close])),
            Some(Role::Close)
        );
        assert_eq!(roles(parse_quote!(#[on_error(x)])), Some(Role::Error));
        assert_eq!(
            roles(parse_quote!(#[wsendpoint::on_handshake])),
            Some(Role::Handshake)
        );
        assert_eq!(roles(parse_quote!(#[other::on_open])), None);
        assert_eq!(roles(parse_quote!(#[::on_open])), None);
        assert_eq!(roles(parse_quote!(#[on_opened])), None);
    }

    #[test]
    fn methods_are_viewed_with_receivers_and_names() {
        let item: ItemImpl = parse_quote! {
            impl S {
                #[on_open] async fn a(&mut self, mut key: String, _s: &Session) {}
                #[on_message] fn b(&self, (x, y): (u8, u8)) {}
                #[on_close] fn c(reason: CloseReason) {}
                #[on_error] fn d(self: &mut Self) {}
                fn unmarked(self) {}
                #[on_open] const X: u8 = 1;
            }
        };
        let view = EndpointImpl::from_impl(&item);
        assert_eq!(view.methods.len(), 4);
        assert_eq!(view.misplaced.len(), 1);
        let a = view.handler(Role::Open).unwrap();
        assert!(a.is_async() && matches!(a.receiver, Receiver::RefMut));
        let names: Vec<_> = a
            .args
            .iter()
            .map(|arg| arg.name.unwrap().to_string())
            .collect();
        assert_eq!(names, ["key", "_s"]);
        let b = view.handler(Role::Message).unwrap();
        assert!(matches!(b.receiver, Receiver::Ref) && b.args[0].name.is_none());
        assert!(matches!(
            view.handler(Role::Close).unwrap().receiver,
            Receiver::None
        ));
        assert!(matches!(
            view.handler(Role::Error).unwrap().receiver,
            Receiver::RefMut
        ));
    }

    #[test]
    fn stripping_keeps_other_attributes() {
        let mut item: ItemImpl = parse_quote! {
            impl S {
                #[doc = "x"] #[on_open] #[wsendpoint::on_open] fn a(&mut self) {}
                #[on_close] const X: u8 = 1;
            }
        };
        strip_role_attrs(&mut item);
        let expected: ItemImpl = parse_quote! {
            impl S {
                #[doc = "x"] fn a(&mut self) {}
                const X: u8 = 1;
            }
        };
        assert_eq!(item, expected);
    }
}
