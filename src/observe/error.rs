//! The library's error: what failed, in one line naming the file or address, and what to do.

/// What can go wrong in palavriado's API. Each variant holds the one-line message (it names
/// the file or address and says what to do); match on the variant to tell the kinds apart.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A recording could not be written.
    Save(String),
    /// A recording could not be read: missing, truncated, corrupt, or of a newer version.
    Open(String),
    /// Live samples could not be served on the address.
    Serve(String),
    /// A program could not be attached to: nothing listens, or it is not a palavriado program.
    Attach(String),
    /// A fleet could not be read from Prometheus: unreachable, a query refused, nothing matched.
    Fleet(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Save(m)
            | Error::Open(m)
            | Error::Serve(m)
            | Error::Attach(m)
            | Error::Fleet(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
