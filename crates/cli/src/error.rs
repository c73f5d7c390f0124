//! What can go wrong in a `pytables` command, and the exit code each kind gives.

use pytables_client::{ClientError, ServerError};

/// The exit codes, as `pytables --help` documents them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (for `exec -C`: the rule exists)
  1  the server refused the change, or it failed (precondition, iptables error,
     permission); for `exec -C`: the rule does not exist
  2  usage error: bad arguments, an unreadable rule or ruleset file
  3  cannot reach pytables-server (not running in this network namespace?) or
     the connection broke
  4  local I/O error (reading or writing a file)";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or input text.
    #[error("{0}")]
    Usage(String),
    /// The server (or iptables behind it) refused, or a check found nothing.
    #[error("{0}")]
    Refused(String),
    /// No server, or the connection failed.
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Io(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Refused(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Unreachable(_) => 3,
            CliError::Io(_) => 4,
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match &e {
            ClientError::Server(s) => match **s {
                ServerError::VersionMismatch { .. } => CliError::Unreachable(e.to_string()),
                ServerError::BadRequest { .. } => CliError::Usage(e.to_string()),
                _ => CliError::Refused(e.to_string()),
            },
            _ => CliError::Unreachable(e.to_string()),
        }
    }
}

impl From<crate::iptargs::UsageError> for CliError {
    fn from(e: crate::iptargs::UsageError) -> Self {
        CliError::Usage(e.0)
    }
}

pub type Result<T> = std::result::Result<T, CliError>;
