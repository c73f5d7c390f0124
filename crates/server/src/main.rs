//! `pytables-server`: see the library's [`pytables_server::run`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pytables_proto::SocketAddress;
use pytables_server::{BackendChoice, Config, FileConfig};

/// Owns the netfilter ruleset of this network namespace and applies clients' transactions.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// iptables backend; auto picks the one that already holds rules, else what `iptables -V`
    /// reports. PYTABLES_BACKEND overrides.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Listen on a filesystem socket (or `@name` for an abstract one) instead of the default
    /// `@pytables.server`. Default also from PYTABLES_SOCKET.
    #[arg(long)]
    socket: Option<String>,
    /// Octal mode of a filesystem socket, e.g. 660.
    #[arg(long, value_parser = parse_octal)]
    socket_mode: Option<u32>,
    /// Owner uid of a filesystem socket.
    #[arg(long)]
    socket_owner: Option<u32>,
    /// Group gid of a filesystem socket.
    #[arg(long)]
    socket_group: Option<u32>,
    /// TOML (or .json) file: `allow` grants, `readers`, `audit_file`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Append the audit log as JSON lines to this file (overrides the config file's).
    #[arg(long)]
    audit_file: Option<PathBuf>,
}

fn parse_octal(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    pytables_server::init_logging();
    let args = Args::parse();
    let mut config = Config {
        backend: args.backend,
        socket: args.socket.as_deref().map(SocketAddress::parse),
        socket_mode: args.socket_mode,
        socket_owner: args.socket_owner,
        socket_group: args.socket_group,
        ..Config::default()
    };
    if let Some(path) = &args.config {
        match FileConfig::read(path) {
            Ok(file) => {
                config.policy = file.policy;
                config.audit_file = file.audit_file;
                if let Some(n) = file.audit_ring {
                    config.audit_ring = n;
                }
            }
            Err(e) => {
                eprintln!("pytables-server: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if args.audit_file.is_some() {
        config.audit_file = args.audit_file;
    }
    match pytables_server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pytables-server: {e}");
            ExitCode::from(1)
        }
    }
}
