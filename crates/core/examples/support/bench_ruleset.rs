//! The benchmark ruleset, shared by the parse benchmark (crates/netns/examples/parse_bench.rs)
//! and the canon profiler (crates/core/examples/canon_profile.rs) so both measure the same text.

/// A restore file of `n` rules: ~90% in filter (100 user chains), ~10% in nat.
pub fn ruleset(n: usize) -> String {
    use std::fmt::Write;
    let n_nat = n / 10;
    let n_filter = n - n_nat;
    let chains = 100usize;
    let mut s = String::with_capacity(n * 110);
    s.push_str("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for c in 0..chains {
        let _ = writeln!(s, ":SVC-{c:03} - [0:0]");
    }
    // INPUT: the jumps, then the rest of its share.
    let mut emitted = 0;
    for c in 0..chains.min(n_filter) {
        let _ = writeln!(
            s,
            "-A INPUT -p tcp -m tcp --dport {} -j SVC-{c:03}",
            1000 + c
        );
        emitted += 1;
    }
    let mut i = 0usize;
    while emitted < n_filter {
        let chain = format!("SVC-{:03}", i % chains);
        let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
        let port = 1 + (i * 7919) % 65000;
        let spec = match i % 10 {
            0 => format!("-s 10.{a}.{b}.{c}/32 -p tcp -m tcp --dport {port} -m comment --comment \"svc {i} http\" -j ACCEPT"),
            1 => format!("-d 172.{}.{b}.0/24 -p udp -m udp --dport {port} -j DROP", 16 + a % 16),
            2 => format!("-p tcp -m conntrack --ctstate NEW -m multiport --dports 80,443,{port} -j ACCEPT"),
            3 => format!("! -s 192.168.{b}.0/24 -i eth{} -j LOG --log-prefix \"drop {i} \"", c % 4),
            4 => "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m limit --limit 10/sec -j ACCEPT".to_string(),
            5 => format!("-m mark --mark 0x{:x}/0xffff -j RETURN", i & 0xffff),
            6 => "-p icmp -m icmp --icmp-type 8 -j ACCEPT".to_string(),
            7 => format!("-s 10.{a}.{b}.{c}/32 -j REJECT --reject-with icmp-port-unreachable"),
            8 => "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".to_string(),
            _ => format!("-s 100.{a}.{b}.{c}/32 -d 10.96.{b}.{c}/32 -p tcp -m tcp --sport 1024:65535 --dport {port} -j ACCEPT"),
        };
        let _ = writeln!(s, "-A {chain} {spec}");
        emitted += 1;
        i += 1;
    }
    s.push_str("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC - [0:0]\n");
    let mut emitted = 0;
    if n_nat > 0 {
        s.push_str(
            "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n",
        );
        emitted += 1;
    }
    let mut i = 0usize;
    while emitted < n_nat {
        let (b, c) = ((i >> 8) & 255, i & 255);
        let spec = match i % 4 {
            0 => ("KUBE-SERVICES", format!("-d 10.96.{b}.{c}/32 -p tcp -m comment --comment \"default/svc-{i}:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC")),
            1 => ("KUBE-SVC", "-m statistic --mode random --probability 0.50000000000 -j RETURN".to_string()),
            2 => ("KUBE-SVC", format!("-p tcp -m tcp -j DNAT --to-destination 10.244.{b}.{c}:8080")),
            _ => ("POSTROUTING", format!("-s 10.244.{b}.0/24 ! -d 10.244.0.0/16 -j MASQUERADE")),
        };
        let _ = writeln!(s, "-A {} {}", spec.0, spec.1);
        emitted += 1;
        i += 1;
    }
    s.push_str("COMMIT\n");
    s
}
