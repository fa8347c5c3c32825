//! The events of one message. A lone event travels inline: with many partitions and small
//! demand most messages carry one event, and a vector for each would be an allocation on the
//! sending scheduler freed on the receiving one (glibc then takes the other thread's arena
//! lock: with 256 partitions, a third of the run went to the allocator).

/// The events of one message, in order: one event inline, or a vector of them.
#[derive(Debug)]
pub enum Batch<E> {
    /// A single event, no allocation.
    One(E),
    /// Any number of events.
    Many(Vec<E>),
}

impl<E> Batch<E> {
    /// How many events.
    pub fn len(&self) -> usize {
        match self {
            Batch::One(_) => 1,
            Batch::Many(v) => v.len(),
        }
    }

    /// True when it holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events, in order.
    pub fn as_slice(&self) -> &[E] {
        match self {
            Batch::One(e) => std::slice::from_ref(e),
            Batch::Many(v) => v,
        }
    }
}

impl<E> From<Vec<E>> for Batch<E> {
    fn from(events: Vec<E>) -> Self {
        Batch::Many(events)
    }
}

impl<E> IntoIterator for Batch<E> {
    type Item = E;
    type IntoIter = BatchIter<E>;

    fn into_iter(self) -> BatchIter<E> {
        match self {
            Batch::One(e) => BatchIter::One(Some(e)),
            Batch::Many(v) => BatchIter::Many(v.into_iter()),
        }
    }
}

/// The events of a [`Batch`], taken one by one.
#[derive(Debug)]
pub enum BatchIter<E> {
    /// What is left of a single event.
    One(Option<E>),
    /// What is left of a vector.
    Many(std::vec::IntoIter<E>),
}

impl<E> Iterator for BatchIter<E> {
    type Item = E;

    #[inline]
    fn next(&mut self) -> Option<E> {
        match self {
            BatchIter::One(e) => e.take(),
            BatchIter::Many(v) => v.next(),
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            BatchIter::One(e) => usize::from(e.is_some()),
            BatchIter::Many(v) => v.len(),
        };
        (n, Some(n))
    }
}

impl<E> ExactSizeIterator for BatchIter<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_and_many_give_their_events_in_order() {
        let one = Batch::One("a");
        assert_eq!((one.len(), one.as_slice()), (1, &["a"][..]));
        let mut it = one.into_iter();
        assert_eq!(it.len(), 1);
        assert_eq!(it.next(), Some("a"));
        assert_eq!((it.len(), it.next()), (0, None));
        let many = Batch::from(vec![1, 2, 3]);
        assert_eq!(many.as_slice(), [1, 2, 3]);
        let mut it = many.into_iter();
        assert_eq!(it.next(), Some(1));
        assert_eq!(it.len(), 2);
        assert_eq!(it.collect::<Vec<_>>(), [2, 3]);
        assert!(Batch::<u8>::from(Vec::new()).is_empty());
    }
}
