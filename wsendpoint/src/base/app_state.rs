//! Shared application state: values given to the hub once, injected into handlers as [`State<T>`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::base::error::Error;

/// A value of the application's shared state, injected by type into any lifecycle method or
/// `#[on_handshake]`: a job runner, a database pool, a token verifier.
///
/// Give the value to the hub with [`Hub::with_state`](crate::Hub::with_state); a handshake to an
/// endpoint that needs a `State<T>` the hub lacks is answered with 500 and logged.
///
/// ```
/// use wsendpoint::prelude::*;
///
/// #[derive(Clone)]
/// struct Greeting(&'static str);
///
/// #[derive(Default)]
/// struct Greeter;
///
/// #[server_endpoint("/greet/<name>")]
/// impl Greeter {
///     #[on_open]
///     fn open(&mut self, greeting: State<Greeting>, name: String) -> String {
///         format!("{}, {name}", greeting.0 .0)
///     }
/// }
///
/// let hub = Hub::new().with_state(Greeting("hello"));
/// # drop(hub);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<T>(pub T);

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for State<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// The hub's state values, one per type.
#[derive(Clone, Default)]
pub struct StateMap(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl StateMap {
    pub(crate) fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// A clone of the value of type `T`, if the hub has one.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }

    /// Whether the hub has a value of type `T`.
    pub fn contains<T: 'static>(&self) -> bool {
        self.0.contains_key(&TypeId::of::<T>())
    }
}

impl fmt::Debug for StateMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateMap")
            .field("values", &self.0.len())
            .finish()
    }
}

/// The state value of type `T`, or the error naming the missing type.
pub(crate) fn require<T: Clone + Send + Sync + 'static>(state: &StateMap) -> Result<T, Error> {
    state
        .get::<T>()
        .ok_or(Error::MissingState(std::any::type_name::<T>()))
}
