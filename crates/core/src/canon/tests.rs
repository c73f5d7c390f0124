//! Tricky cases, each measured with iptables 1.8.9 (both backends agree on all of them).

use super::*;

fn canon(family: Family, table: Option<&str>, spec: &str) -> String {
    match canonical_text(family, table, spec) {
        Ok(Canon::Known(s)) => s,
        Ok(Canon::Unknown(w)) => format!("UNKNOWN: {w}"),
        Err(e) => format!("ERROR: {e}"),
    }
}

fn v4(spec: &str) -> String {
    canon(Family::V4, Some("filter"), spec)
}

fn v6(spec: &str) -> String {
    canon(Family::V6, Some("filter"), spec)
}

#[test]
fn addresses_masks_and_protocols() {
    assert_eq!(v4("-s 1.2.3.4 -j ACCEPT"), "-s 1.2.3.4/32 -j ACCEPT");
    assert_eq!(
        v4("-d 10.0.0.0/8 ! -s 1.1.1.1"),
        "! -s 1.1.1.1/32 -d 10.0.0.0/8"
    );
    assert_eq!(v4("-s 1.2.3.4/0.0.0.255"), "-s 0.0.0.4/0.0.0.255");
    assert_eq!(v4("-s 0.0.0.0/0 -p all"), "");
    assert_eq!(v4("-p 6"), "-p tcp");
    assert_eq!(v4("-p 47"), "-p gre");
    assert_eq!(v4("-p icmpv6"), "-p ipv6-icmp");
    assert_eq!(v4("-p 255"), "-p 255");
    assert_eq!(v4("-p TCP --dport 22"), "-p tcp -m tcp --dport 22");
    assert_eq!(v6("-s 2001:db8::1/ffff::ff"), "-s 2001::1/ffff::ff");
    assert!(v4("-s 1.2.3.4/33").starts_with("ERROR: -s: invalid mask `33'"));
    assert!(v4("-p foo").starts_with("ERROR: -p: unknown protocol"));
    assert!(v4("-s example.org").starts_with("UNKNOWN"));
    assert!(v6("-f").starts_with("ERROR: -f"));
    assert!(v4("-i averyveryverylongname").contains("IFNAMSIZ"));
    // iptables-save prints an interface bare: a name it could not print back is refused.
    for odd in [
        r#"-i "eth0 -j DROP""#,
        r#"-o "a\"b""#,
        r#"-i "a\\b""#,
        "-i \"x\ty\"",
    ] {
        assert!(v4(odd).contains("no space, quote"), "{odd}: {}", v4(odd));
    }
    assert_eq!(v4("-i eth0.1@x -o wg+"), "-i eth0.1@x -o wg+");
}

#[test]
fn ports_and_ranges() {
    assert_eq!(
        v4("-p tcp --dport 1024:"),
        "-p tcp -m tcp --dport 1024:65535"
    );
    assert_eq!(v4("-p tcp --dport :1024"), "-p tcp -m tcp --dport 0:1024");
    assert_eq!(v4("-p tcp --dport 80:80"), "-p tcp -m tcp --dport 80");
    assert_eq!(v4("-p tcp --sport http"), "-p tcp -m tcp --sport 80");
    assert_eq!(v4("-p tcp --dport 0x50"), "-p tcp -m tcp --dport 80");
    // iptables 1.8 refuses the intrapositioned form, and so do we.
    assert!(v4("-p udp --dport ! 53").contains("before the option"));
    assert!(v4("-p tcp --dport 90:80").contains("min > max"));
    assert!(v4("-p tcp --dport 65536").contains("invalid port/service"));
    assert!(v4("-p tcp --dport 22 --dport 23").starts_with("ERROR"));
    assert_eq!(
        v4("-p tcp -m multiport --destination-ports http,https,1000:2000"),
        "-p tcp -m multiport --dports 80,443,1000:2000"
    );
    assert!(v6("-m multiport --dports 80").starts_with("ERROR"));
}

#[test]
fn tcp_flags_and_syn() {
    assert_eq!(
        v4("-p tcp --syn"),
        "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN"
    );
    assert_eq!(
        v4("-p tcp ! --syn"),
        "-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN"
    );
    assert_eq!(
        v4("-p tcp --tcp-flags ALL NONE"),
        "-p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE"
    );
    assert_eq!(
        v4("-p tcp --dport 22 --sport 1:2 --tcp-flags ack,syn SYN --tcp-option 5"),
        "-p tcp -m tcp --sport 1:2 --dport 22 --tcp-option 5 --tcp-flags SYN,ACK SYN"
    );
    assert!(v4("-p tcp --tcp-flags SYN FOO").contains("Unknown TCP flag `FOO'"));
}

#[test]
fn quoting_and_inversions() {
    assert_eq!(
        v4("-m comment --comment 'it'"),
        "-m comment --comment \"\\'it\\'\""
    );
    assert_eq!(
        v4("-m comment --comment \"a b\" -m comment --comment c"),
        "-m comment --comment \"a b\" -m comment --comment c"
    );
    assert_eq!(
        v4("-m comment --comment \"a.b\""),
        "-m comment --comment \"a.b\""
    );
    assert_eq!(
        v4("-j LOG --log-level debug --log-prefix \"x'y\""),
        "-j LOG --log-prefix \"x\\'y\" --log-level 7"
    );
    assert_eq!(
        v4("-m string --string \"a\\\"b\" --algo bm"),
        "-m string --string \"a\\\"b\" --algo bm"
    );
    assert_eq!(
        v4("-m string --hex-string \"|41424344|\" --algo bm"),
        "-m string --string \"ABCD\" --algo bm"
    );
    assert_eq!(v4("-m mark ! --mark 16/255"), "-m mark ! --mark 0x10/0xff");
    assert!(v4("-m comment ! --comment x").starts_with("ERROR"));
}

#[test]
fn conntrack_marks_rates() {
    assert_eq!(
        v4("-m conntrack --ctstate DNAT,SNAT,UNTRACKED,ESTABLISHED,RELATED,NEW,INVALID --ctproto tcp"),
        "-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT --ctproto 6"
    );
    assert_eq!(v4("-m state --state NEW,NEW"), "-m state --state NEW");
    assert_eq!(v4("-m limit"), "-m limit --limit 3/hour");
    assert_eq!(
        v4("-m limit --limit 10/minute --limit-burst 5"),
        "-m limit --limit 10/min"
    );
    assert_eq!(v4("-m limit --limit 60/minute"), "-m limit --limit 1/sec");
    assert_eq!(
        v4("-j MARK --and-mark 4"),
        "-j MARK --set-xmark 0x0/0xfffffffb"
    );
    assert_eq!(v4("-j MARK --set-mark 1/2"), "-j MARK --set-xmark 0x1/0x3");
    assert_eq!(
        v4("-j CONNMARK --save-mark --mask 0xff"),
        "-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff"
    );
    assert_eq!(
        v6("-m recent --set"),
        "-m recent --set --name DEFAULT --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff --rsource"
    );
    assert_eq!(
        v4("-m statistic --mode random --probability 0.1"),
        "-m statistic --mode random --probability 0.10000000009"
    );
}

#[test]
fn targets() {
    assert_eq!(
        v4("-j REJECT"),
        "-j REJECT --reject-with icmp-port-unreachable"
    );
    assert_eq!(
        v6("-j REJECT --reject-with no-route"),
        "-j REJECT --reject-with icmp6-no-route"
    );
    assert!(v6("-j REJECT --reject-with icmp-port-unreachable").starts_with("ERROR"));
    assert_eq!(
        canon(
            Family::V4,
            Some("nat"),
            "-p tcp --dport http -j DNAT --to-destination 10.0.0.1:http"
        ),
        "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80"
    );
    assert!(canon(Family::V4, Some("nat"), "-j SNAT").contains("--to-source\" must be specified"));
    assert!(canon(Family::V4, Some("nat"), "-j DNAT --to 1.2.3.4:80").contains("Need TCP"));
    assert!(v4("-j DNAT --to 1.2.3.4").contains("only valid in the nat table"));
    assert_eq!(v4("-j MYCHAIN"), "-j MYCHAIN");
    assert_eq!(v4("-g MYCHAIN"), "-g MYCHAIN");
    assert!(v4("-j MYCHAIN --foo").starts_with("ERROR"));
    assert!(v4("-p tcp -j SYNPROXY --mss 1460").starts_with("UNKNOWN"));
    assert!(v4("-j LOG --log-level err").contains("log level \"err\" unknown"));
    assert_eq!(
        canon(Family::V4, Some("mangle"), "-j TOS --and-tos 0x10"),
        "-j TOS --set-tos 0x00/0xef"
    );
    assert_eq!(
        v4("-j CLASSIFY --set-class 1:10"),
        "-j CLASSIFY --set-class 0001:0010"
    );
}

#[test]
fn options_go_to_the_extension_iptables_gives_them_to() {
    assert_eq!(
        v4("-m comment --comment x -p tcp --dport 22 -j ACCEPT"),
        "-p tcp -m comment --comment x -m tcp --dport 22 -j ACCEPT"
    );
    assert_eq!(
        v4("-m mark --mark 1 -m comment --comment x --mark 2"),
        "ERROR: match mark --mark: option \"--mark\" can only be used once."
    );
    assert_eq!(
        v4("-m mark -m comment --comment x --mark 2"),
        "-m mark --mark 0x2 -m comment --comment x"
    );
    assert!(v4("-p tcp -m tcp --sport 1 -m tcp --dport 2").starts_with("UNKNOWN"));
}

#[test]
fn a_stray_option_may_belong_to_a_match_not_modelled() {
    assert!(v4("-m nfacct -m comment --comment x --nfacct-name y").starts_with("UNKNOWN"));
    assert!(v4("-m comment --comment x --bogus 1").starts_with("ERROR"));
}

#[test]
fn options_after_the_target_go_to_their_match() {
    assert_eq!(
        v4("-p tcp -j ACCEPT --dport 22"),
        "-p tcp -m tcp --dport 22 -j ACCEPT"
    );
    assert_eq!(
        v4("-m mark -j LOG --mark 1 --log-level 3"),
        "-m mark --mark 0x1 -j LOG --log-level 3"
    );
    assert!(v4("-j ACCEPT --bogus").starts_with("ERROR"));
}

/// The old way round: build the canonical rule, then print it.
fn via_spec(family: Family, table: &str, spec: &str) -> Result<Canon<String>, CanonTextError> {
    let rule = RuleSpec::parse(spec)?;
    Ok(canonical_rule_in(family, Some(table), &rule)?.map(|r| r.to_spec_string()))
}

/// `canonical_text` prints without building a `RuleSpec`: it must answer exactly what
/// building and printing answers — canonical form, unknown reason or error — on the
/// conformance specs, their canonical forms, and (deterministic) mutations of them.
#[test]
fn text_path_equals_built_rule_printed() {
    const WORDS: &[&str] = &[
        "0",
        "65536",
        "0x10",
        "1:2",
        "!",
        "-",
        "\"a b\"",
        "--dport",
        "--sport",
        "--mark",
        "--comment",
        "--tcp-flags",
        "SYN",
        "-m",
        "-p",
        "-j",
        "-g",
        "tcp",
        "udp",
        "mark",
        "LOG",
        "TCPMSS",
        "--clamp-mss-to-pmtu",
        "DNAT",
        "ACCEPT",
        "--to-destination",
        "1.2.3.4",
        "comment",
        "multiport",
        "--ports",
        "-s",
        "-f",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    let mut checked = 0;
    for line in include_str!("../../../netns/tests/canon_specs.txt").lines() {
        let l = line.strip_prefix('!').unwrap_or(line);
        let mut p = l.splitn(3, '|');
        let family = match p.next() {
            Some("v4") => Family::V4,
            Some("v6") => Family::V6,
            _ => continue,
        };
        let (Some(table), Some(spec)) = (p.next(), p.next()) else {
            continue;
        };
        let mut specs = vec![spec.to_string()];
        if let Ok(Canon::Known(c)) = canonical_text(family, Some(table), spec) {
            specs.push(c);
        }
        for _ in 0..20 {
            let mut words: Vec<&str> = spec.split(' ').collect();
            for _ in 0..1 + next() % 3 {
                let i = next() % words.len().max(1);
                let w = WORDS[next() % WORDS.len()];
                match next() % 3 {
                    0 if !words.is_empty() => words[i] = w,
                    1 if !words.is_empty() => {
                        words.remove(i);
                    }
                    _ => words.insert(i.min(words.len()), w),
                }
            }
            specs.push(words.join(" "));
        }
        for s in &specs {
            assert_eq!(
                canonical_text(family, Some(table), s),
                via_spec(family, table, s),
                "{s}"
            );
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn values_iptables_save_prints_bare() {
    let problem = |spec: &str| super::save_form_problem(&RuleSpec::parse(spec).unwrap());
    for odd in [
        r#"-m recent --set --name "a b""#,
        r#"-m hashlimit --hashlimit-upto 1/s --hashlimit-name "a'b""#,
        r#"-m physdev --physdev-out "c d""#,
        r#"-m rateest --rateest "x y" --rateest-bps 1 --rateest-lt"#,
        r#"-j IDLETIMER --timeout 5 --label "t 1""#,
        r#"-j RATEEST --rateest-name "r\\s""#,
        r#"-o "e f" -j ACCEPT"#,
    ] {
        let p = problem(odd);
        assert!(
            p.as_deref().is_some_and(|p| p.contains("no space, quote")),
            "{odd}: {p:?}"
        );
    }
    // Quoted in the save form, or plain: nothing to refuse.
    for fine in [
        r#"-m comment --comment "a b""#,
        r#"-m helper --helper "a b""#,
        r#"-j LOG --log-prefix "a b""#,
        "-m recent --set --name list_1 -j IDLETIMER --timeout 5 --label t1",
        // The match named like the target: only the target's option is bare.
        r#"-m rateest --rateest r1 --rateest-bps 1 --rateest-lt -j LOG --log-prefix "x y""#,
    ] {
        assert_eq!(problem(fine), None, "{fine}");
    }
}

#[test]
fn multiport_without_protocol_blames_the_option_given() {
    for opt in ["sports", "dports", "ports"] {
        let got = v4(&format!("-m multiport --{opt} 1,2"));
        assert!(
            got.starts_with(&format!("ERROR: match multiport --{opt}: multiport needs")),
            "{got}"
        );
    }
}
