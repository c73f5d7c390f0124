//! Sending a transaction, rebuilt and sent again while another client's change conflicts with
//! its preconditions.

use pytables_client::{Client, CommitReply, Transaction};

use crate::error::Result;

/// Conflicts are retried this many times, the transaction rebuilt from a fresh snapshot each
/// time (`-F` without a chain, `apply`).
const TRIES: usize = 5;

/// Commits what `build` makes, again while the server reports a precondition conflict.
/// An empty transaction is not sent (None).
pub fn commit_retrying(
    client: &mut Client,
    mut build: impl FnMut(&mut Client) -> Result<Transaction>,
) -> Result<Option<CommitReply>> {
    let mut attempt = 1;
    loop {
        let tx = build(client)?;
        if tx.ops.is_empty() {
            return Ok(None);
        }
        // The command keeps no copy of the tables: the reply need not carry them.
        match client.commit_lean(&tx) {
            Err(e) if e.is_conflict() && attempt < TRIES => attempt += 1,
            r => return Ok(Some(r?)),
        }
    }
}
