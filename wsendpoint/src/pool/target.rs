//! Whom a pool send addresses: one seam that local delivery and the backplane share.

/// The sessions a send addresses, borrowed for the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    Key(&'a str),
    Group(&'a str),
    All,
}

/// A [`Target`] kept: what a backplane channel stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    Key(Box<str>),
    Group(Box<str>),
    All,
}

impl Scope {
    pub(crate) fn of(target: Target<'_>) -> Self {
        match target {
            Target::Key(key) => Scope::Key(key.into()),
            Target::Group(group) => Scope::Group(group.into()),
            Target::All => Scope::All,
        }
    }

    pub(crate) fn target(&self) -> Target<'_> {
        match self {
            Scope::Key(key) => Target::Key(key),
            Scope::Group(group) => Target::Group(group),
            Scope::All => Target::All,
        }
    }
}
