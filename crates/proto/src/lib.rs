//! The pytables wire protocol (docs/PROTOCOL.md).
//!
//! - [`frame`]: a frame is a 4-byte big-endian length and that many bytes of JSON.
//! - [`addr`]: where the server listens (abstract name or path).
//! - [`msg`]: the request and response messages, and the typed errors.

pub mod addr;
pub mod frame;
pub mod msg;

pub use addr::SocketAddress;
pub use frame::{read_frame, write_frame, FrameError, MAX_FRAME};
pub use msg::*;
pub use pytables_core::ops::{Expected, Op, OpError, Transaction};

/// Bumped on any incompatible change to the messages. A server answers `Hello` with its own
/// version and refuses requests from a client whose major version differs.
pub const PROTOCOL_VERSION: u32 = 1;

/// The default address: an abstract Unix socket (leading NUL), so it is private to the network
/// namespace and needs no file on disk.
pub const DEFAULT_ABSTRACT_NAME: &str = "pytables.server";

/// Environment variable naming the socket; a name starting with `@` is abstract.
pub const SOCKET_ENV: &str = "PYTABLES_SOCKET";
