//! What flows between stages: any [`Event`] type. Its `heap_bytes` feeds the queued-bytes
//! probes (observer's Memory column), so a mailbox of long lines weighs what it holds.

/// Something that can flow between stages.
///
/// Types that own no heap memory implement it with an empty body (`impl Event for MyId {}`);
/// types that do say how much, so queued memory is measured honestly.
///
/// ```
/// use palavriado::Event;
/// struct Record { fields: Vec<String> }
/// impl Event for Record {
///     fn heap_bytes(&self) -> u64 {
///         self.fields.heap_bytes()
///     }
/// }
/// let r = Record { fields: vec!["GET".into(), "/index.html".into()] };
/// assert!(r.heap_bytes() >= 14);
/// ```
pub trait Event: Send + 'static {
    /// Heap bytes owned by the event (beyond its own size).
    fn heap_bytes(&self) -> u64 {
        0
    }
}

macro_rules! plain_events {
    ($($t:ty),*) => { $(impl Event for $t {})* };
}
plain_events!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    usize,
    i8,
    i16,
    i32,
    i64,
    isize,
    f32,
    f64,
    &'static str
);

impl Event for String {
    fn heap_bytes(&self) -> u64 {
        self.capacity() as u64
    }
}

impl Event for Box<str> {
    fn heap_bytes(&self) -> u64 {
        self.len() as u64
    }
}

impl<T: Event> Event for Vec<T> {
    fn heap_bytes(&self) -> u64 {
        batch_bytes(self)
    }
}

impl<T: Event> Event for Option<T> {
    fn heap_bytes(&self) -> u64 {
        self.as_ref().map_or(0, Event::heap_bytes)
    }
}

impl<K: Event, V: Event> Event for std::collections::BTreeMap<K, V> {
    fn heap_bytes(&self) -> u64 {
        let entry = (size_of::<K>() + size_of::<V>()) as u64;
        self.iter()
            .map(|(k, v)| entry + k.heap_bytes() + v.heap_bytes())
            .sum()
    }
}

impl<K: Event, V: Event, H: Send + 'static> Event for std::collections::HashMap<K, V, H> {
    fn heap_bytes(&self) -> u64 {
        let entry = (size_of::<K>() + size_of::<V>() + 1) as u64;
        self.capacity() as u64 * entry
            + self
                .iter()
                .map(|(k, v)| k.heap_bytes() + v.heap_bytes())
                .sum::<u64>()
    }
}

impl<A: Event, B: Event> Event for (A, B) {
    fn heap_bytes(&self) -> u64 {
        self.0.heap_bytes() + self.1.heap_bytes()
    }
}

/// Bytes of one event: its own size plus the heap it owns.
pub(crate) fn event_bytes<E: Event>(e: &E) -> u64 {
    size_of::<E>() as u64 + e.heap_bytes()
}

/// Bytes of a batch: its events' own size plus the heap they own.
pub(crate) fn batch_bytes<E: Event>(events: &[E]) -> u64 {
    let own = size_of_val(events) as u64;
    own + events.iter().map(Event::heap_bytes).sum::<u64>()
}
