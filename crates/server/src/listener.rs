//! The listening socket. Default: the abstract name `@pytables.server`, private to the network
//! namespace, so binding fails with EADDRINUSE when a server already runs there. With a path,
//! a live server on it is detected by connecting; a stale file is replaced.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{SocketAddr, UnixListener as StdListener, UnixStream as StdStream};
use std::path::PathBuf;

use pytables_proto::SocketAddress;
use tokio::net::{UnixListener, UnixStream};

use crate::config::Config;

pub struct Listener {
    inner: UnixListener,
    address: SocketAddress,
}

impl Listener {
    pub fn bind(config: &Config) -> Result<Listener, String> {
        let address = config
            .socket
            .clone()
            .unwrap_or_else(SocketAddress::from_env);
        let std_listener = match &address {
            SocketAddress::Abstract(name) => {
                let addr = SocketAddr::from_abstract_name(name.as_bytes())
                    .map_err(|e| format!("bad socket name @{name}: {e}"))?;
                StdListener::bind_addr(&addr).map_err(|e| in_use(&address, e))?
            }
            SocketAddress::Path(path) => bind_path(path, config)?,
        };
        std_listener
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        let inner = UnixListener::from_std(std_listener).map_err(|e| e.to_string())?;
        Ok(Listener { inner, address })
    }

    pub fn address(&self) -> &SocketAddress {
        &self.address
    }

    pub async fn accept(&self) -> io::Result<UnixStream> {
        self.inner.accept().await.map(|(s, _)| s)
    }

    /// Removes a filesystem socket at shutdown.
    pub fn cleanup(&self) {
        if let SocketAddress::Path(p) = &self.address {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn in_use(address: &SocketAddress, e: io::Error) -> String {
    if e.kind() == io::ErrorKind::AddrInUse {
        format!("another pytables-server already serves this network namespace at {address}")
    } else {
        format!("cannot listen on {address}: {e}")
    }
}

fn bind_path(path: &PathBuf, config: &Config) -> Result<StdListener, String> {
    let address = SocketAddress::Path(path.clone());
    if path.exists() {
        if StdStream::connect(path).is_ok() {
            return Err(in_use(&address, io::ErrorKind::AddrInUse.into()));
        }
        std::fs::remove_file(path)
            .map_err(|e| format!("cannot remove stale {}: {e}", path.display()))?;
    }
    let listener = StdListener::bind(path).map_err(|e| in_use(&address, e))?;
    if let Some(mode) = config.socket_mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    }
    if config.socket_owner.is_some() || config.socket_group.is_some() {
        std::os::unix::fs::chown(path, config.socket_owner, config.socket_group)
            .map_err(|e| format!("chown {}: {e}", path.display()))?;
    }
    Ok(listener)
}
