//! Where the server listens: an abstract name (the default, private to the network namespace)
//! or a filesystem path.

use std::fmt;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::path::PathBuf;

use crate::{DEFAULT_ABSTRACT_NAME, SOCKET_ENV};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketAddress {
    /// Linux abstract socket name (without the leading NUL).
    Abstract(String),
    Path(PathBuf),
}

impl SocketAddress {
    /// Parses `@name` (abstract) or a path.
    pub fn parse(s: &str) -> SocketAddress {
        match s.strip_prefix('@') {
            Some(name) => SocketAddress::Abstract(name.to_string()),
            None => SocketAddress::Path(PathBuf::from(s)),
        }
    }

    /// `PYTABLES_SOCKET` if set and not empty, else the default abstract name.
    pub fn from_env() -> SocketAddress {
        match std::env::var(SOCKET_ENV) {
            Ok(v) if !v.is_empty() => SocketAddress::parse(&v),
            _ => SocketAddress::default(),
        }
    }

    pub fn to_std(&self) -> io::Result<SocketAddr> {
        match self {
            SocketAddress::Abstract(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            SocketAddress::Path(p) => SocketAddr::from_pathname(p),
        }
    }

    pub fn connect(&self) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&self.to_std()?)
    }
}

impl Default for SocketAddress {
    fn default() -> Self {
        SocketAddress::Abstract(DEFAULT_ABSTRACT_NAME.to_string())
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Abstract(n) => write!(f, "@{n}"),
            SocketAddress::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl std::str::FromStr for SocketAddress {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SocketAddress::parse(s))
    }
}
