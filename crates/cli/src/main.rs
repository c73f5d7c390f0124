//! `pytables`: inspect and change what pytables-server holds, from a shell or a script.
//!
//! Every subcommand talks to the server of the current network namespace (or `--socket`); the
//! ones that change rules send one transaction, so they never race other clients.

mod apply;
mod canon;
mod commit;
mod error;
mod exec;
mod iptargs;
mod listing;
mod log;
mod save;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use pytables_client::{Client, ConnectOptions, SocketAddress};
use pytables_core::Family;

use error::EXIT_CODES;

#[derive(Parser)]
#[command(
    name = "pytables",
    version,
    about = "Inspect and change the netfilter rules held by pytables-server",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Server address: a socket path, or `@name` for an abstract socket. Default: the
    /// namespace's abstract address `@pytables.server`.
    #[arg(long, global = true, value_name = "PATH", env = "PYTABLES_SOCKET")]
    socket: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// `-6`: the IPv6 tables (ip6tables) instead of IPv4.
#[derive(Args, Clone, Copy)]
struct FamilyArg {
    /// Use the IPv6 tables (ip6tables).
    #[arg(short = '6', long = "ipv6")]
    ipv6: bool,
}

impl FamilyArg {
    fn family(self) -> Family {
        if self.ipv6 {
            Family::V6
        } else {
            Family::V4
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Server, backend, tables with rule counts, connected clients, commit figures and the last
    /// commits.
    #[command(after_help = EXIT_CODES)]
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the server's ruleset as iptables-save text (without the `#` lines).
    #[command(after_help = EXIT_CODES)]
    Save {
        /// Only this table.
        #[arg(short, long)]
        table: Option<String>,
        #[command(flatten)]
        family: FamilyArg,
        /// Print the tables as JSON (family, table, generation, chains with rules).
        #[arg(long)]
        json: bool,
        /// Print packet and byte counters on every rule, like `iptables-save -c`.
        #[arg(short, long)]
        counters: bool,
    },
    /// Make the kernel match an iptables-save file, atomically, printing the changes.
    ///
    /// The file is compared with the server's state; the difference (as iptables-restore
    /// lines) is printed and applied as one transaction: all of it or nothing. Applying the
    /// same file again changes nothing. Tables the file does not mention are left alone.
    #[command(after_help = EXIT_CODES)]
    Apply {
        /// The iptables-save file (`-` for standard input).
        file: PathBuf,
        /// Only print the changes.
        #[arg(long)]
        dry_run: bool,
        /// Add instead of replace: chains the file lacks are kept, and each rule of the file
        /// that its chain does not hold yet is appended.
        #[arg(short, long)]
        noflush: bool,
        #[command(flatten)]
        family: FamilyArg,
    },
    /// Run an iptables command line through the server: `pytables exec -- -t nat -A
    /// POSTROUTING -o eth0 -j MASQUERADE`.
    ///
    /// Supports -A -I -D -R -N -X -F -P -E -Z (one transaction each), -C (exit 1 when the rule
    /// is absent), -S (as `iptables -S`) and -L (a readable table; -n -v -x --line-numbers).
    /// Rules are compared in canonical form, so -D and -C accept rules as a person writes them.
    #[command(after_help = EXIT_CODES)]
    Exec {
        #[command(flatten)]
        family: FamilyArg,
        /// iptables' arguments (put them after `--`).
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "IPTABLES ARGS"
        )]
        args: Vec<String>,
    },
    /// The audit log: every transaction with its time, pid, uid, program and operations.
    #[command(after_help = EXIT_CODES)]
    Log {
        /// Keep printing new entries as they come.
        #[arg(short, long)]
        follow: bool,
        /// Only entries after this sequence number, or at/after this time
        /// (RFC 3339 UTC, e.g. 2026-11-26T15:30:00Z; a prefix such as 2026-11-26T15:30 works).
        #[arg(long, value_name = "SEQ|TIME")]
        since: Option<String>,
        /// One JSON object per entry and line.
        #[arg(long)]
        json: bool,
    },
    /// Write the current ruleset as iptables-save text, atomically (temporary file + rename),
    /// for boot-time restore.
    #[command(after_help = EXIT_CODES)]
    Persist {
        /// Where to write. Default: /etc/iptables/rules.v4 (rules.v6 with -6), as
        /// netfilter-persistent reads them.
        path: Option<PathBuf>,
        #[command(flatten)]
        family: FamilyArg,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Status { .. } => "status",
            Command::Save { .. } => "save",
            Command::Apply { .. } => "apply",
            Command::Exec { .. } => "exec",
            Command::Log { .. } => "log",
            Command::Persist { .. } => "persist",
        }
    }
}

fn connect(socket: Option<&str>, what: &str) -> error::Result<Client> {
    let opts = ConnectOptions {
        socket: socket.map(SocketAddress::parse),
        client_name: format!("pytables {what}"),
        ..ConnectOptions::default()
    };
    Ok(Client::connect(&opts)?)
}

fn run(cli: Cli) -> error::Result<()> {
    let mut client = connect(cli.socket.as_deref(), cli.command.name())?;
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Status { json } => status::run(&mut client, json, out),
        Command::Save {
            table,
            family,
            json,
            counters,
        } => save::print(
            &mut client,
            family.family(),
            table.as_deref(),
            json,
            counters,
            out,
        ),
        Command::Apply {
            file,
            dry_run,
            noflush,
            family,
        } => apply::run(&mut client, family.family(), &file, dry_run, noflush, out),
        Command::Exec { family, args } => exec::run(&mut client, family.family(), &args, out),
        Command::Log {
            follow,
            since,
            json,
        } => log::run(&mut client, since.as_deref(), follow, json, out),
        Command::Persist { path, family } => {
            save::persist(&mut client, family.family(), path.as_deref(), out)
        }
    }
}

fn main() -> ExitCode {
    // `pytables save | head` should end quietly like other Unix tools, not report EPIPE.
    // SAFETY: called before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = e.to_string();
            if !msg.is_empty() {
                eprintln!("pytables: {msg}");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exec_takes_iptables_words_after_the_double_dash() {
        let cli = Cli::parse_from(["pytables", "exec", "-6", "--", "-t", "nat", "-L", "-n"]);
        match cli.command {
            Command::Exec { family, args } => {
                assert!(family.ipv6);
                assert_eq!(args, ["-t", "nat", "-L", "-n"]);
            }
            _ => panic!("not exec"),
        }
    }
}
