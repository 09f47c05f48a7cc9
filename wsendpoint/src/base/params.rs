//! Path parameters captured from the route template, and their typed parsing.

use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;

use crate::base::error::Error;

/// The path parameters of one connection, in template order, percent-decoded.
///
/// ```
/// use wsendpoint::PathParams;
///
/// let params = PathParams::from_pairs([("room", "lobby"), ("user", "ada")]);
/// assert_eq!(params.get("user"), Some("ada"));
/// assert_eq!(params.get("nope"), None);
/// assert_eq!(params.iter().count(), 2);
/// ```
// A boxed slice, not a `Vec`: it lives as long as the session, and a collected `Vec` keeps
// the spare capacity of the one it was built from (192 bytes for a single parameter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Box<[(Box<str>, Box<str>)]>);

impl PathParams {
    /// Builds the parameters from `(name, value)` pairs.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<Box<str>>,
        V: Into<Box<str>>,
    {
        PathParams(
            pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        )
    }

    /// The raw value of the parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| &**n == name).map(|(_, v)| &**v)
    }

    /// `(name, value)` pairs in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (&**n, &**v))
    }
}

/// A type a path parameter can be bound to by name: anything [`FromStr`] whose error displays.
///
/// A value that does not parse is answered with HTTP 400 before the upgrade.
///
/// ```
/// use std::str::FromStr;
/// use wsendpoint::prelude::*;
///
/// /// A job id such as `job-42`.
/// struct JobId(u32);
///
/// impl FromStr for JobId {
///     type Err = String;
///     fn from_str(s: &str) -> Result<Self, String> {
///         let n = s.strip_prefix("job-").ok_or("a job id starts with `job-`")?;
///         n.parse().map(JobId).map_err(|e| format!("{e}"))
///     }
/// }
///
/// #[derive(Default)]
/// struct Jobs;
///
/// #[server_endpoint("/jobs/<job>")]
/// impl Jobs {
///     // `/jobs/job-7` opens; `/jobs/7` is answered with 400.
///     #[on_open]
///     fn open(&mut self, job: JobId) -> String {
///         format!("watching job {}", job.0)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "path parameter of type `{Self}` cannot be parsed from the URL",
    label = "bound by name to a path parameter, so it must implement `FromStr`",
    note = "use `String`, a number type, or your own type implementing `FromStr` with a `Display` error"
)]
pub trait FromPathParam: Sized {
    /// Parses the raw, percent-decoded segment.
    fn from_path_param(value: &str) -> Result<Self, String>;
}

impl<T> FromPathParam for T
where
    T: FromStr,
    T::Err: Display,
{
    fn from_path_param(value: &str) -> Result<Self, String> {
        value.parse().map_err(|e: T::Err| e.to_string())
    }
}

/// Parses the parameter `name` as `T`: used by generated code in every event.
pub(crate) fn parse_param<T: FromPathParam>(
    params: &PathParams,
    name: &'static str,
) -> Result<T, Error> {
    let value = params.get(name).unwrap_or_default();
    T::from_path_param(value).map_err(|message| Error::PathParam {
        name,
        value: Arc::from(value),
        message: Arc::from(message),
    })
}
