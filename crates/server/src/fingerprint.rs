//! Cheap "has the kernel changed?" signals, so the server re-reads a table with iptables-save
//! only when something really changed it.
//!
//! - nf_tables: the ruleset generation id, one NFT_MSG_GETGEN netlink request. It counts every
//!   committed change in the namespace (any table, any family).
//! - legacy: `IPT_SO_GET_INFO` (entry count, size) and a hash of the `IPT_SO_GET_ENTRIES` blob
//!   with each entry's counters zeroed (so traffic does not look like a change).

use std::collections::HashMap;
use std::io;

use pytables_core::{Backend, Family};

use crate::netlink::{self, Fd};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fingerprint {
    NftGeneration(u32),
    /// `hooks` stands for the hook offsets (`valid_hooks`, `hook_entry`, `underflow`).
    Legacy {
        entries: u32,
        size: u32,
        hooks: u64,
        hash: u64,
    },
}

impl Fingerprint {
    /// What `IPT_SO_GET_INFO` alone shows of a legacy table: (entries, size, hooks).
    pub fn outline(&self) -> Option<(u32, u32, u64)> {
        match *self {
            Fingerprint::Legacy {
                entries,
                size,
                hooks,
                ..
            } => Some((entries, size, hooks)),
            Fingerprint::NftGeneration(_) => None,
        }
    }
}

/// The current fingerprint of (family, table). A missing legacy table is `entries: 0`.
pub fn current(backend: Backend, family: Family, table: &str) -> io::Result<Fingerprint> {
    match backend {
        Backend::Nft => nft_generation().map(Fingerprint::NftGeneration),
        Backend::Legacy => legacy(family, table),
    }
}

const NFT_MSG_GETGEN: u16 = 16;
const NFT_MSG_NEWGEN: u16 = 15;
const NFTA_GEN_ID: u16 = 1;

/// Asks nf_tables for its ruleset generation id.
pub fn nft_generation() -> io::Result<u32> {
    let mut generation = None;
    netlink::nftables(
        NFT_MSG_GETGEN,
        false,
        libc::AF_UNSPEC as u8,
        &[],
        |kind, body| {
            if kind == NFT_MSG_NEWGEN {
                let id = netlink::find(&netlink::attributes(body), NFTA_GEN_ID);
                generation =
                    id.and_then(|v| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?)));
            }
        },
    )?;
    generation.ok_or_else(|| io::Error::other("no NFTA_GEN_ID in the NFT_MSG_GETGEN reply"))
}

// From <linux/netfilter_ipv4/ip_tables.h> / ip6_tables.h: same numbers on SOL_IP / SOL_IPV6.
const SO_GET_INFO: libc::c_int = 64;
const SO_GET_ENTRIES: libc::c_int = 65;
const TABLE_MAXNAMELEN: usize = 32;
/// Size of `struct ipt_getinfo`: name, valid_hooks, hook_entry[5], underflow[5], num_entries, size.
const GETINFO_LEN: usize = TABLE_MAXNAMELEN + 4 + 20 + 20 + 4 + 4;
/// Offset of `struct xt_counters` inside `ipt_entry` / `ip6t_entry`, and of `next_offset`.
fn entry_layout(family: Family) -> (usize, usize) {
    match family {
        // ipt_ip is 84 bytes: nfcache@84, target_offset@88, next_offset@90, comefrom@92, counters@96.
        Family::V4 => (96, 90),
        // ip6t_ip6 is 136 bytes: nfcache@136, target_offset@140, next_offset@142, counters@152.
        Family::V6 => (152, 142),
    }
}

/// Hook numbers of `ipt_getinfo`'s arrays, as iptables names the built-in chains.
pub(crate) const HOOKS: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// One chain of a legacy blob: entry offsets of its rules, and of its policy (built-in chains).
pub(crate) struct BlobChain {
    pub name: String,
    pub rules: Vec<usize>,
    pub policy: Option<usize>,
}

/// A legacy table as the kernel hands it out: `ipt_getinfo`'s hook offsets and the entries.
pub(crate) struct LegacyBlob {
    pub family: Family,
    pub valid_hooks: u32,
    pub hook_entry: [u32; 5],
    pub underflow: [u32; 5],
    pub entries: u32,
    /// `ipt_get_entries`: a 40-byte header, then the entries (`ipt_entry`/`ip6t_entry` with
    /// matches and target), counters included. See [`LegacyBlob::data`].
    buf: Vec<u8>,
}

/// Bytes before the entries in `ipt_get_entries` (table name, size).
const ENTRIES_AT: usize = 40;

thread_local! {
    /// The last blob's buffer, kept for the next read: a fresh 2 MB buffer (10,000 rules)
    /// costs page faults while the kernel fills it. Up to [`SPARE_MAX`] only, so a big table's
    /// blob (20 MB for 100,000 rules) does not stay resident between reads.
    static SPARE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

const SPARE_MAX: usize = 4 << 20;

impl Drop for LegacyBlob {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        SPARE.with(|s| {
            let mut spare = s.borrow_mut();
            if buf.capacity() > spare.capacity() && buf.capacity() <= SPARE_MAX {
                *spare = buf;
            }
        });
    }
}

/// `ipt_getinfo` of a table: its hook offsets, entry count and size.
struct Info {
    valid_hooks: u32,
    hook_entry: [u32; 5],
    underflow: [u32; 5],
    entries: u32,
    size: u32,
}

impl Info {
    fn hooks(&self) -> u64 {
        hooks_hash(self.valid_hooks, &self.hook_entry, &self.underflow)
    }
}

fn hooks_hash(valid_hooks: u32, hook_entry: &[u32; 5], underflow: &[u32; 5]) -> u64 {
    let mut words = [0u8; 44];
    let all = std::iter::once(valid_hooks).chain(hook_entry.iter().chain(underflow).copied());
    for (i, w) in all.enumerate() {
        words[4 * i..4 * i + 4].copy_from_slice(&w.to_ne_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(&words)
}

/// A raw socket of the family and its getsockopt level.
fn legacy_socket(family: Family) -> io::Result<(Fd, libc::c_int)> {
    let (domain, level) = match family {
        Family::V4 => (libc::AF_INET, libc::SOL_IP),
        Family::V6 => (libc::AF_INET6, libc::SOL_IPV6),
    };
    Ok((Fd::socket(domain, libc::IPPROTO_RAW)?, level))
}

/// `IPT_SO_GET_INFO`; None when the table is not loaded.
fn get_info(fd: &Fd, level: libc::c_int, table: &str) -> io::Result<Option<Info>> {
    if table.len() >= TABLE_MAXNAMELEN {
        return Err(io::Error::other("table name too long"));
    }
    let mut info = [0u8; GETINFO_LEN];
    info[..table.len()].copy_from_slice(table.as_bytes());
    match getsockopt(fd, level, SO_GET_INFO, &mut info) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    }
    let word = |i: usize| u32::from_ne_bytes(info[i..i + 4].try_into().unwrap());
    let words = |at: usize| std::array::from_fn(|h| word(at + 4 * h));
    Ok(Some(Info {
        valid_hooks: word(TABLE_MAXNAMELEN),
        hook_entry: words(TABLE_MAXNAMELEN + 4),
        underflow: words(TABLE_MAXNAMELEN + 24),
        entries: word(GETINFO_LEN - 8),
        size: word(GETINFO_LEN - 4),
    }))
}

/// The outline of a legacy table (see [`Fingerprint::outline`]) without copying its entries:
/// a few microseconds. A missing table is `(0, 0, 0)`.
pub fn legacy_outline(family: Family, table: &str) -> io::Result<(u32, u32, u64)> {
    let (fd, level) = legacy_socket(family)?;
    Ok(get_info(&fd, level, table)?.map_or((0, 0, 0), |i| (i.entries, i.size, i.hooks())))
}

/// Reads (family, table) with `IPT_SO_GET_INFO` and `IPT_SO_GET_ENTRIES`; None when the
/// table is not loaded.
pub(crate) fn legacy_blob(family: Family, table: &str) -> io::Result<Option<LegacyBlob>> {
    let (fd, level) = legacy_socket(family)?;
    let Some(info) = get_info(&fd, level, table)? else {
        return Ok(None);
    };
    let size = info.size;
    let mut blob = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
    blob.clear();
    blob.resize(ENTRIES_AT + size as usize, 0);
    blob[..table.len()].copy_from_slice(table.as_bytes());
    blob[32..36].copy_from_slice(&size.to_ne_bytes());
    getsockopt(&fd, level, SO_GET_ENTRIES, &mut blob)?;
    Ok(Some(LegacyBlob {
        family,
        valid_hooks: info.valid_hooks,
        hook_entry: info.hook_entry,
        underflow: info.underflow,
        entries: info.entries,
        buf: blob,
    }))
}

impl LegacyBlob {
    /// The entries.
    pub fn data(&self) -> &[u8] {
        &self.buf[ENTRIES_AT..]
    }

    /// Offsets of every entry, in order.
    pub fn offsets(&self) -> Vec<usize> {
        let (counters_at, next_at) = entry_layout(self.family);
        let mut out = Vec::with_capacity(self.entries as usize);
        let mut i = 0;
        while i + counters_at + 16 <= self.data().len() {
            out.push(i);
            let next = u16::from_ne_bytes(
                self.data()[i + next_at..i + next_at + 2]
                    .try_into()
                    .unwrap(),
            );
            if next == 0 {
                break;
            }
            i += next as usize;
        }
        out
    }

    /// The chains in the order the kernel holds them, with the offsets of their rules (and
    /// their policy entry, built-in chains). A built-in chain runs from its hook's entry to its
    /// underflow (the policy); a user chain from its `ERROR` head (named after it) to its
    /// closing `RETURN`; a last `ERROR` entry ends the table.
    pub fn chains(&self) -> Vec<BlobChain> {
        let hooks: Vec<usize> = (0..5)
            .filter(|h| self.valid_hooks & (1 << h) != 0)
            .collect();
        let mut out: Vec<BlobChain> = Vec::new();
        let mut open = false; // rules now belong to out.last()
        for offset in self.offsets() {
            if let Some(&h) = hooks
                .iter()
                .find(|&&h| self.hook_entry[h] as usize == offset)
            {
                out.push(BlobChain {
                    name: HOOKS[h].to_string(),
                    rules: Vec::new(),
                    policy: None,
                });
                open = true;
            }
            let (target, data) = self.target_at(offset);
            if target == "ERROR" {
                let name = data.split(|&b| b == 0).next().unwrap_or_default();
                let name = String::from_utf8_lossy(name).into_owned();
                if name == "ERROR" {
                    break;
                }
                out.push(BlobChain {
                    name,
                    rules: Vec::new(),
                    policy: None,
                });
                open = true;
                continue;
            }
            let Some(chain) = out.last_mut().filter(|_| open) else {
                continue;
            };
            let builtin = HOOKS.contains(&chain.name.as_str());
            if builtin && hooks.iter().any(|&h| self.underflow[h] as usize == offset) {
                chain.policy = Some(offset);
                open = false;
            } else {
                chain.rules.push(offset);
            }
        }
        // A user chain's last entry is its RETURN, not a rule.
        for c in out.iter_mut().filter(|c| !HOOKS.contains(&c.name.as_str())) {
            c.rules.pop();
        }
        out
    }

    /// Per chain, in the kernel's order, a hash of each rule's entry that does not depend on
    /// where the entry sits: counters, `nfcache` and `comefrom` left out, a jump's verdict (the
    /// offset of the chain it jumps to) replaced by a hash of that chain's name, and the verdict
    /// of a rule without a target (the offset of the entry after it) by a mark. The same rule
    /// hashes the same in any read of the table, so two reads can be compared rule for rule.
    ///
    /// The entries are rewritten in place to hash them where they lie: take the fingerprint
    /// ([`of_legacy_blob`]) first.
    pub fn rule_hashes(&mut self) -> Vec<(String, Vec<u64>)> {
        let (counters_at, next_at) = entry_layout(self.family);
        let offsets = self.offsets();
        let hooks: Vec<usize> = (0..5)
            .filter(|h| self.valid_hooks & (1 << h) != 0)
            .collect();
        let (hook_entry, underflow) = (self.hook_entry, self.underflow);
        let data = &mut self.buf[ENTRIES_AT..];
        let u16_at = |d: &[u8], i: usize| u16::from_ne_bytes([d[i], d[i + 1]]) as usize;
        // A user chain's ERROR head: the chain's name.
        let head = |d: &[u8], offset: usize| -> Option<String> {
            let t = offset + u16_at(d, offset + next_at - 2);
            (d.get(t + 2..t + 8) == Some(b"ERROR\0")).then(|| {
                let name = &d[t + 32..(t + 64).min(d.len())];
                let name = name.split(|&b| b == 0).next().unwrap_or_default();
                String::from_utf8_lossy(name).into_owned()
            })
        };
        // A jump's verdict is the offset of the entry after the chain's ERROR head.
        let mut starts: HashMap<usize, u64> = HashMap::new();
        for &offset in &offsets {
            if let Some(name) = head(data, offset) {
                let first = offset + u16_at(data, offset + next_at);
                starts.insert(first, xxhash_rust::xxh3::xxh3_64(name.as_bytes()));
            }
        }
        let mut out: Vec<(String, Vec<u64>)> = Vec::new();
        let (mut open, mut builtin) = (false, false);
        for &offset in &offsets {
            if let Some(&h) = hooks.iter().find(|&&h| hook_entry[h] as usize == offset) {
                out.push((HOOKS[h].to_string(), Vec::new()));
                (open, builtin) = (true, true);
            }
            if let Some(name) = head(data, offset) {
                if name == "ERROR" {
                    break; // the table's end
                }
                out.push((name, Vec::new()));
                (open, builtin) = (true, false);
                continue;
            }
            if !open {
                continue;
            }
            if builtin && hooks.iter().any(|&h| underflow[h] as usize == offset) {
                open = false; // the policy
                continue;
            }
            let end = (offset + u16_at(data, offset + next_at)).min(data.len());
            let entry = &mut data[offset..end];
            entry[next_at - 6..next_at - 2].fill(0); // nfcache
            entry[next_at + 2..counters_at + 16].fill(0); // comefrom, counters
            let t = u16_at(entry, next_at - 2);
            // A standard target (empty name): its verdict, then 4 bytes of padding.
            if entry.get(t + 2) == Some(&0) && entry.len() >= t + 40 {
                let verdict = i32::from_ne_bytes(entry[t + 32..t + 36].try_into().unwrap());
                let jump = usize::try_from(verdict).ok();
                if jump == Some(end) {
                    entry[t + 32..t + 40].fill(0xff);
                } else if let Some(to) = jump.and_then(|j| starts.get(&j)) {
                    entry[t + 32..t + 40].copy_from_slice(&to.to_ne_bytes());
                }
            }
            let hash = xxhash_rust::xxh3::xxh3_64(entry);
            if let Some(last) = out.last_mut() {
                last.1.push(hash);
            }
        }
        // A user chain's last entry is its RETURN, not a rule.
        for (name, hashes) in out.iter_mut() {
            if !HOOKS.contains(&name.as_str()) {
                hashes.pop();
            }
        }
        out
    }

    /// The (packets, bytes) of the entry at `offset`.
    pub fn counters_at(&self, offset: usize) -> (u64, u64) {
        let at = offset + entry_layout(self.family).0;
        let word = |i: usize| u64::from_ne_bytes(self.data()[i..i + 8].try_into().unwrap());
        (word(at), word(at + 8))
    }

    /// The entry's target: its name and the bytes after the 32-byte `xt_entry_target` header.
    pub fn target_at(&self, offset: usize) -> (&str, &[u8]) {
        let target_offset_at = entry_layout(self.family).1 - 2;
        let t = offset
            + u16::from_ne_bytes(
                self.data()[offset + target_offset_at..offset + target_offset_at + 2]
                    .try_into()
                    .unwrap(),
            ) as usize;
        let size = u16::from_ne_bytes(self.data()[t..t + 2].try_into().unwrap()) as usize;
        let name = &self.data()[t + 2..t + 31];
        let name = std::str::from_utf8(&name[..name.iter().position(|&b| b == 0).unwrap_or(29)])
            .unwrap_or("");
        let end = (t + size).min(self.data().len());
        (name, &self.data()[(t + 32).min(end)..end])
    }
}

fn legacy(family: Family, table: &str) -> io::Result<Fingerprint> {
    Ok(match legacy_blob(family, table)? {
        Some(mut blob) => of_legacy_blob(&mut blob),
        // The table is not loaded: nothing in it.
        None => Fingerprint::Legacy {
            entries: 0,
            size: 0,
            hooks: 0,
            hash: 0,
        },
    })
}

/// The fingerprint of a blob read by [`legacy_blob`]: its entries without their counters (so
/// traffic does not look like a change). The counters are zeroed in the blob (read them
/// first), so the entries hash in one pass (xxh3: a 2 MB table of 10,000 rules in ~0.1 ms,
/// on the path of every legacy commit's check).
pub(crate) fn of_legacy_blob(blob: &mut LegacyBlob) -> Fingerprint {
    let (counters_at, next_at) = entry_layout(blob.family);
    let data = &mut blob.buf[ENTRIES_AT..];
    let mut i = 0;
    while i + counters_at + 16 <= data.len() {
        data[i + counters_at..i + counters_at + 16].fill(0);
        let next = u16::from_ne_bytes([data[i + next_at], data[i + next_at + 1]]);
        if next == 0 {
            break;
        }
        i += next as usize;
    }
    Fingerprint::Legacy {
        entries: blob.entries,
        size: data.len() as u32,
        hooks: hooks_hash(blob.valid_hooks, &blob.hook_entry, &blob.underflow),
        hash: xxhash_rust::xxh3::xxh3_64(data),
    }
}

fn getsockopt(fd: &Fd, level: libc::c_int, opt: libc::c_int, buf: &mut [u8]) -> io::Result<()> {
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: buf is valid for len bytes.
    let rc = unsafe { libc::getsockopt(fd.0, level, opt, buf.as_mut_ptr().cast(), &mut len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two IPv4 entries of 152 bytes each, `fill` in every byte but the header fields.
    fn blob(fill: u8, packets: u8) -> LegacyBlob {
        let mut buf = vec![0u8; ENTRIES_AT + 2 * 152];
        for e in 0..2 {
            let at = ENTRIES_AT + e * 152;
            buf[at..at + 152].fill(fill);
            buf[at + 90..at + 92].copy_from_slice(&152u16.to_ne_bytes());
            buf[at + 96..at + 112].fill(packets); // counters
        }
        LegacyBlob {
            family: Family::V4,
            valid_hooks: 0,
            hook_entry: [0; 5],
            underflow: [0; 5],
            entries: 2,
            buf,
        }
    }

    #[test]
    fn counters_do_not_change_a_legacy_fingerprint_and_anything_else_does() {
        let base = of_legacy_blob(&mut blob(7, 0));
        assert_eq!(of_legacy_blob(&mut blob(7, 9)), base);
        assert_ne!(of_legacy_blob(&mut blob(8, 0)), base);
        let mut one_byte = blob(7, 0);
        one_byte.buf[ENTRIES_AT + 152 + 140] ^= 1; // second entry, after its counters
        assert_ne!(of_legacy_blob(&mut one_byte), base);
    }
}
