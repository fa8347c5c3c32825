//! Attaching by address: a palavriado program's, or (spelled `console://HOST:PORT`) a tokio
//! program's serving tokio-console's protocol. Here, not in [`super::client`], so that the
//! tokio-console follower (which builds on the client's attachment) is below it, not beside it.

use std::time::Duration;

use super::client::{Attachment, SILENCE};
use crate::observe::error::Error;

impl Attachment {
    /// Connects to the program serving at `addr` and reads its greeting (blocking, at most a
    /// few seconds); then a background thread follows it. Errors are one line naming `addr`.
    /// An address spelled `console://HOST:PORT` is a tokio program serving tokio-console's
    /// protocol (`console-subscriber`; the `console` feature).
    pub fn connect(addr: &str) -> Result<Attachment, Error> {
        Self::connect_with(addr, SILENCE)
    }

    /// [`Attachment::connect`], giving up after `silence` without a frame (instead of 5 s).
    pub fn connect_with(addr: &str, silence: Duration) -> Result<Attachment, Error> {
        if addr.trim().starts_with("console://") {
            #[cfg(feature = "console")]
            return crate::observe::console::live::open(addr, silence).map_err(Error::Attach);
            #[cfg(not(feature = "console"))]
            return Err(Error::Attach(format!(
                "cannot attach to '{addr}': this build has no tokio-console support (build \
                 with the `console` feature)"
            )));
        }
        Attachment::open(addr, silence).map_err(Error::Attach)
    }
}
