//! Blocks a host: puts `-s HOST -j DROP` first in filter/INPUT unless it already is there, then
//! prints the audit entry that records the change.
//!
//! ```sh
//! ip netns exec NS cargo run -p pytables-client --example block_host -- 203.0.113.7
//! ```

use pytables_client::builder::{RuleBuilder, TxBuilder};
use pytables_client::{Client, ConnectOptions, Expected};
use pytables_core::save::parse_save;
use pytables_core::Family;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = std::env::args().nth(1).ok_or("usage: block_host ADDRESS")?;
    let rule = RuleBuilder::new()
        .source(&host)
        .jump("DROP")
        .build(Family::V4, "filter")?;
    let mut client = Client::connect(&ConnectOptions {
        client_name: "block_host example".into(),
        ..ConnectOptions::default()
    })?;
    // The rule now first in INPUT, read fresh on every try.
    let first_rule = |c: &mut Client| -> Result<Option<String>, pytables_client::ClientError> {
        let snap = c.snapshot(Family::V4, Some("filter"))?;
        let table = parse_save(&snap.tables[0].text)
            .map_err(|e| pytables_client::ClientError::Protocol(e.to_string()))?
            .remove(0);
        Ok(table
            .chain("INPUT")
            .and_then(|ch| ch.rules.first())
            .map(|r| r.spec.clone()))
    };
    if first_rule(&mut client)?.as_deref() == Some(rule.spec.as_str()) {
        println!("{host} is already blocked first in INPUT");
        return Ok(());
    }
    let reply = client.commit_with_retry(5, |c| {
        // Insert at the top only if the top is still what this try read; else the server
        // refuses it as a conflict and this runs again.
        let expect = Some(match first_rule(c)? {
            Some(spec) => Expected::Rule(spec),
            None => Expected::End,
        });
        Ok(TxBuilder::new(Family::V4)
            .insert("filter", "INPUT", 0, rule.clone(), expect)
            .build())
    })?;
    println!(
        "blocked {host}: `-A INPUT {}` (audit entry #{})",
        rule.spec, reply.seq
    );
    Ok(())
}
