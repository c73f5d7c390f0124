//! The little of netfilter's netlink protocol the server speaks itself (the ruleset generation,
//! dumps of a table's rules and chains), and an owned socket.

use std::io;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// A socket (or any fd) closed on drop.
pub(crate) struct Fd(pub libc::c_int);

impl Fd {
    pub fn socket(domain: libc::c_int, protocol: libc::c_int) -> io::Result<Fd> {
        // SAFETY: plain socket(2) call; the fd is owned by the returned value.
        let fd = unsafe { libc::socket(domain, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Fd(fd))
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.0) };
    }
}

/// Sends an nf_tables request (`kind`, for `nfproto`, with `attrs` already encoded) and hands
/// each reply to `each` as (NFT_MSG_* type, attributes after nfgenmsg) as it arrives: all of a
/// dump up to NLMSG_DONE, or the one answer of a plain request. (A dump of 100,000 rules is
/// ~30 MB; nothing of it is kept.)
pub(crate) fn nftables(
    kind: u16,
    dump: bool,
    nfproto: u8,
    attrs: &[u8],
    mut each: impl FnMut(u16, &[u8]),
) -> io::Result<()> {
    let fd = Fd::socket(libc::AF_NETLINK, libc::NETLINK_NETFILTER)?;
    let len = 16 + 4 + attrs.len();
    let mut req = Vec::with_capacity(len);
    req.extend_from_slice(&(len as u32).to_ne_bytes());
    req.extend_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | kind).to_ne_bytes());
    let mut flags = libc::NLM_F_REQUEST as u16;
    if dump {
        flags |= libc::NLM_F_DUMP as u16;
    }
    req.extend_from_slice(&flags.to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel's
    req.extend_from_slice(&[nfproto, 0, 0, 0]); // nfgenmsg: family, version 0, res_id
    req.extend_from_slice(attrs);
    // SAFETY: sending our own buffer on our socket.
    if unsafe { libc::send(fd.0, req.as_ptr().cast(), req.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut answered = false;
    let mut buf = vec![0u8; if dump { 256 * 1024 } else { 8192 }];
    loop {
        // SAFETY: receiving into our own buffer.
        let n = unsafe { libc::recv(fd.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut data = &buf[..n as usize];
        while data.len() >= 16 {
            let len = u32::from_ne_bytes(data[0..4].try_into().unwrap()) as usize;
            if len < 16 || len > data.len() {
                return Err(io::Error::other("truncated netlink message"));
            }
            match u16::from_ne_bytes(data[4..6].try_into().unwrap()) {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    let code = i32::from_ne_bytes(data[16..20].try_into().unwrap_or([0; 4]));
                    return match code {
                        0 => Ok(()),
                        _ => Err(io::Error::from_raw_os_error(-code)),
                    };
                }
                kind if len >= 20 => {
                    each(kind & 0xff, &data[20..len]);
                    answered = true;
                }
                _ => {}
            }
            data = &data[((len + 3) & !3).min(data.len())..];
        }
        if !dump && answered {
            return Ok(());
        }
    }
}

/// A string attribute (NUL-terminated, padded to 4 bytes).
pub(crate) fn string_attr(kind: u16, value: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(8 + value.len());
    a.extend_from_slice(&((4 + value.len() + 1) as u16).to_ne_bytes());
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(value.as_bytes());
    a.push(0);
    while a.len() % 4 != 0 {
        a.push(0);
    }
    a
}

/// The (type, payload) attributes of a netlink attribute stream (nesting flags dropped).
pub(crate) fn attributes(data: &[u8]) -> Vec<(u16, &[u8])> {
    attrs(data).collect()
}

/// [`attributes`] without collecting them: for per-rule work on dumps of many rules.
pub(crate) fn attrs(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            return None;
        }
        let value = &data[4..len];
        data = &data[((len + 3) & !3).min(data.len())..];
        Some((kind, value))
    })
}

/// The payload of the first attribute `kind` of an attribute stream.
pub(crate) fn attr(data: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(data).find(|(t, _)| *t == kind).map(|(_, v)| v)
}

/// A string attribute's bytes, without its NUL and padding.
pub(crate) fn cstr(data: &[u8]) -> &[u8] {
    &data[..data.iter().position(|&b| b == 0).unwrap_or(data.len())]
}

pub(crate) fn find<'a>(attrs: &[(u16, &'a [u8])], kind: u16) -> Option<&'a [u8]> {
    attrs.iter().find(|(t, _)| *t == kind).map(|(_, v)| *v)
}

pub(crate) fn string(data: &[u8]) -> String {
    String::from_utf8_lossy(cstr(data)).into_owned()
}
