//! The `pytables` command against a real pytables-server in throwaway namespaces, on every
//! backend under test. Outcomes are compared with what iptables itself prints.

mod common;

use common::*;

/// Splits a command line into words; double quotes group (enough for the commands below).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// Examples from the iptables and iptables-extensions man pages and everyday admin commands,
/// including ones iptables refuses (both must refuse them). Lines starting `-6 ` are IPv6.
const COMMANDS: &[&str] = &[
    "-N LOGDROP",
    "-A LOGDROP -j LOG --log-prefix \"dropped: \" --log-level 4",
    "-A LOGDROP -j DROP",
    "-A INPUT -i lo -j ACCEPT",
    "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
    "-A INPUT -m state --state NEW -p tcp --dport 22 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT",
    "-A INPUT -s 192.168.0.0/24 -j ACCEPT",
    "-A INPUT -s 10.0.0.1,10.0.0.2 -d 10.1.0.1 -j DROP",
    "-I INPUT 2 -p icmp --icmp-type echo-request -m limit --limit 1/s -j ACCEPT",
    "-I INPUT -s 10.9.0.1,10.9.0.2 -j DROP",
    "-A INPUT -p udp --sport 53 --dport 1024:65535 -j ACCEPT",
    "-A INPUT -m comment --comment \"allow ssh from office\" -p tcp --dport 2222 -j ACCEPT",
    "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
    "-A INPUT -p tcp --dport 139 -m recent --name badguy --set -j DROP",
    "-A INPUT -m recent --name badguy --rcheck --seconds 60 -j DROP",
    "-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT",
    "-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT",
    "-A INPUT -m length --length 1000: -j DROP",
    "-A INPUT -m pkttype --pkt-type broadcast -j DROP",
    "-A INPUT -s localhost -p tcp --dport 25 -j ACCEPT",
    "-A INPUT -m hashlimit --hashlimit-above 10/sec --hashlimit-mode srcip --hashlimit-name conn -j DROP",
    "-A INPUT -j LOGDROP",
    "-R INPUT 3 -p tcp --dport 23 -j DROP",
    "-D INPUT -s 192.168.0.0/24 -j ACCEPT",
    "-D INPUT -p udp --sport 53 --dport 1024: -j ACCEPT",
    "-D INPUT 1",
    "-P FORWARD DROP",
    "-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
    "-A FORWARD -m iprange --src-range 192.168.1.100-192.168.1.200 -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 0 -j ACCEPT",
    "-t nat -A POSTROUTING -o eth0 -j MASQUERADE",
    "-t nat -A POSTROUTING -s 10.0.0.0/8 -o eth1 -j SNAT --to-source 1.2.3.4",
    "-t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080",
    "-t nat -A PREROUTING -p tcp --dport 8080 -j REDIRECT --to-ports 3128",
    "-t mangle -A PREROUTING -j MARK --set-mark 1",
    "-t mangle -A PREROUTING -j CONNMARK --save-mark",
    "-t mangle -A PREROUTING -m mark --mark 0x1/0xff -j ACCEPT",
    "-t mangle -N TEMP",
    "-t mangle -E TEMP TEMP2",
    "-t mangle -A TEMP2 -j RETURN",
    "-t mangle -F TEMP2",
    "-t mangle -X TEMP2",
    "-t raw -A PREROUTING -p udp --dport 53 -j CT --notrack",
    "-N IN-SSH",
    "-A INPUT -p tcp ! --syn -m conntrack --ctstate NEW -j DROP",
    "-A INPUT -p tcp --tcp-flags ALL NONE -j DROP",
    "-A INPUT -f -j DROP",
    "-A INPUT ! -s 10.0.0.0/8 -p tcp --dport 22:25 -g IN-SSH",
    "-A IN-SSH -m limit --limit 5/min --limit-burst 10 -j LOG --log-prefix \"ssh: \"",
    "-A IN-SSH -j REJECT --reject-with icmp-host-prohibited",
    "-A INPUT -m string --algo bm --string \"GET /admin\" -j DROP",
    "-E IN-SSH SSH-IN",
    "-A INPUT -s 172.16.0.0/12 -j DROP",
    "-D INPUT --source 172.16.0.0/12 --jump DROP",
    "-I INPUT 1 -c 10 20 -s 1.2.3.4 -j ACCEPT",
    "-t mangle -N M1",
    "-t mangle -N M2",
    "-t mangle -A M1 -j M2",
    "-t mangle -A M2 -j RETURN",
    "-t mangle -X M2",
    "-t mangle -F",
    "-t mangle -X",
    "-t raw -F",
    "-Z",
    // Refused by iptables, so by pytables too.
    "-A NOSUCH -j ACCEPT",
    "-N LOGDROP",
    "-X INPUT",
    "-X LOGDROP",
    "-D INPUT -s 99.99.99.99/32 -j ACCEPT",
    "-D OUTPUT 5",
    "-A INPUT -p tcp --dport 99999 -j ACCEPT",
    "-A INPUT -j NOSUCHTARGET",
    "-P LOGDROP DROP",
    "-E SSH-IN LOGDROP",
    "-I INPUT 99 -j ACCEPT",
    "-R INPUT 99 -j ACCEPT",
    "-6 -A INPUT -s 2001:db8::1 -p tcp --dport 22 -j ACCEPT",
    "-6 -A INPUT -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT",
    "-6 -A INPUT -s 2001:db8::/32 -j DROP",
    "-6 -D INPUT -s 2001:db8::1 -p tcp --dport 22 -j ACCEPT",
    "-6 -P INPUT DROP",
];

/// `-C` lines after the commands above: (line, does iptables find it).
const CHECKS: &[&str] = &[
    "-C INPUT -p tcp --dport 23 -j DROP",
    "-C INPUT -p tcp --dport 24 -j DROP",
    "-C INPUT -s 10.0.0.1,10.0.0.2 -d 10.1.0.1 -j DROP",
    "-C INPUT -m comment --comment \"allow ssh from office\" -p tcp --dport 2222 -j ACCEPT",
    "-t nat -C POSTROUTING -o eth0 -j MASQUERADE",
    "-C NOSUCH -j ACCEPT",
    // Host names and extensions the normaliser may not model: judged by iptables itself.
    "-C INPUT -s localhost -p tcp --dport 25 -j ACCEPT",
    "-C INPUT -p tcp --dport 139 -m recent --name badguy --set -j DROP",
    "-C INPUT -m recent --name badguy --rcheck --seconds 60 -j DROP",
    "-C INPUT -m recent --name badguy --rcheck --seconds 61 -j DROP",
    "-C INPUT -m hashlimit --hashlimit-above 10/sec --hashlimit-mode srcip --hashlimit-name conn -j DROP",
];

fn split_family(line: &str) -> (Family, &str) {
    match line.strip_prefix("-6 ") {
        Some(rest) => (Family::V6, rest),
        None => (Family::V4, line),
    }
}

#[test]
fn exec_gives_the_same_ruleset_as_iptables() {
    if !can_run() {
        return;
    }
    for backend in backends_under_test() {
        let server = Server::start("cli-exec", backend);
        let plain = Netns::new("cli-exec-ref").unwrap();
        for line in COMMANDS {
            let (family, rest) = split_family(line);
            let w = words(rest);
            let w: Vec<&str> = w.iter().map(String::as_str).collect();
            let reference = iptables(&plain, backend, family, &w);
            let mut args = vec!["exec"];
            if family == Family::V6 {
                args.push("-6");
            }
            args.push("--");
            args.extend(&w);
            let ours = server.pytables(&args);
            assert_eq!(
                ours.status.success(),
                reference.status.success(),
                "{backend:?}: `{line}`: iptables said {:?}, pytables said {:?}",
                String::from_utf8_lossy(&reference.stderr),
                String::from_utf8_lossy(&ours.stderr)
            );
            if !ours.status.success() {
                assert_eq!(
                    code(&ours),
                    Some(if line.contains("99999") { 2 } else { 1 }),
                    "`{line}`"
                );
                assert!(
                    !ours.stderr.is_empty(),
                    "`{line}`: refusal without a message"
                );
            }
        }
        for (family, table) in [
            (Family::V4, "filter"),
            (Family::V4, "nat"),
            (Family::V4, "mangle"),
            (Family::V4, "raw"),
            (Family::V6, "filter"),
        ] {
            let reference = without_comments(&plain.save(backend, family, Some(table)).unwrap());
            assert_eq!(
                server.kernel_save(family, Some(table)),
                reference,
                "{backend:?} {family} {table}: kernel rulesets differ"
            );
            // -S prints what `iptables -S` prints.
            let mut args = vec!["exec"];
            if family == Family::V6 {
                args.push("-6");
            }
            args.extend(["--", "-t", table, "-S"]);
            let s_ref = iptables(&plain, backend, family, &["-t", table, "-S"]);
            assert_eq!(
                server.ok(&args),
                String::from_utf8_lossy(&s_ref.stdout),
                "{backend:?} {family} {table}: -S differs"
            );
        }
        // Counters are zero in both namespaces (no traffic; `-Z` ran), so `-v` compares too.
        for args in [
            "-S INPUT",
            "-S LOGDROP",
            "-S SSH-IN",
            "-S -v",
            "-S INPUT 2 -v",
            "-t nat -S -v",
        ] {
            let w: Vec<&str> = args.split_whitespace().collect();
            let s_ref = iptables(&plain, backend, Family::V4, &w);
            assert_eq!(
                server.exec(args),
                String::from_utf8_lossy(&s_ref.stdout),
                "{backend:?}: `{args}`"
            );
        }
        for line in CHECKS {
            let w = words(line);
            let w: Vec<&str> = w.iter().map(String::as_str).collect();
            let reference = iptables(&plain, backend, Family::V4, &w);
            let mut args = vec!["exec", "--"];
            args.extend(&w);
            let ours = server.pytables(&args);
            assert_eq!(
                ours.status.success(),
                reference.status.success(),
                "{backend:?}: `{line}`: {}",
                String::from_utf8_lossy(&ours.stderr)
            );
            assert_eq!(
                code(&ours),
                Some(if reference.status.success() { 0 } else { 1 })
            );
        }
        // -L lists every chain with its rules.
        let listing = server.exec("-L -n -v --line-numbers");
        for chain in [
            "Chain INPUT (policy ACCEPT",
            "Chain FORWARD (policy DROP",
            "Chain LOGDROP (1 reference)",
        ] {
            assert!(
                listing.contains(chain),
                "{backend:?}: -L lacks {chain:?}:\n{listing}"
            );
        }
    }
}

#[test]
fn save_equals_iptables_save() {
    if !can_run() {
        return;
    }
    for backend in backends_under_test() {
        let server = Server::start("cli-save", backend);
        server.exec("-N USER");
        server.exec("-A INPUT -p tcp --dport 22 -j USER");
        server.ok(&[
            "exec",
            "--",
            "-A",
            "USER",
            "-m",
            "comment",
            "--comment",
            "it's \"quoted\"",
            "-j",
            "ACCEPT",
        ]);
        server.exec("-t nat -A POSTROUTING -o eth0 -j MASQUERADE");
        server.ok(&[
            "exec",
            "-6",
            "--",
            "-A",
            "FORWARD",
            "-d",
            "2001:db8::/64",
            "-j",
            "DROP",
        ]);
        // Something changed behind the server's back is seen too.
        let out = iptables(
            &server.ns,
            backend,
            Family::V4,
            &["-A", "OUTPUT", "-j", "ACCEPT"],
        );
        assert!(out.status.success());
        // Tables created after the server loaded, through it and behind its back: they must
        // appear where iptables-save puts them (legacy: newest first; nft: its fixed order).
        server.exec("-t mangle -A PREROUTING -j ACCEPT");
        let out = iptables(
            &server.ns,
            backend,
            Family::V4,
            &["-t", "raw", "-A", "OUTPUT", "-j", "ACCEPT"],
        );
        assert!(out.status.success());
        server.exec("-6 -t mangle -A OUTPUT -j ACCEPT");
        // Asking for a table the kernel lacks must not make it appear in the whole save.
        server.ok(&["save", "-6", "-t", "security"]);

        // The whole output, byte for byte, tables in iptables-save's order.
        assert_eq!(
            server.ok(&["save"]),
            server.kernel_save(Family::V4, None),
            "{backend:?}"
        );
        assert_eq!(
            server.ok(&["save", "-6"]),
            server.kernel_save(Family::V6, None),
            "{backend:?}"
        );
        assert_eq!(
            server.ok(&["save", "-t", "nat"]),
            server.kernel_save(Family::V4, Some("nat")),
            "{backend:?}"
        );
        // Traffic moves counters after the server's last read; `save -c` must show them.
        let traffic = "for i in 1 2 3; do echo x > /dev/udp/127.0.0.1/9; done";
        assert!(server
            .ns
            .run("bash", &["-c", traffic])
            .unwrap()
            .status
            .success());
        let with_counters = server
            .ns
            .run_ok(&backend.binary(Family::V4, Tool::Save), &["-c"])
            .unwrap();
        assert!(
            with_counters.contains("] -A OUTPUT -j ACCEPT")
                && !with_counters.contains("[0:0] -A OUTPUT -j ACCEPT"),
            "{backend:?}: no traffic counted:\n{with_counters}"
        );
        assert_eq!(
            server.ok(&["save", "-c"]),
            without_comments(&with_counters),
            "{backend:?}"
        );
        // `-S -v` reads current counters too.
        let s_v = iptables(&server.ns, backend, Family::V4, &["-S", "OUTPUT", "-v"]);
        assert_eq!(
            server.exec("-S OUTPUT -v"),
            String::from_utf8_lossy(&s_v.stdout)
        );

        let json: serde_json::Value =
            serde_json::from_str(&server.ok(&["save", "--json"])).unwrap();
        let filter = json
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "filter")
            .expect("filter in --json");
        assert_eq!(filter["family"], "v4");
        let user = filter["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "USER")
            .unwrap();
        assert_eq!(user["rules"].as_array().unwrap().len(), 1);
    }
}

const GOOD_FILE: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:WEB - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 80 -j WEB
-A INPUT -s 10.0.0.1 -j ACCEPT
-A WEB -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
";

#[test]
fn apply_is_atomic_and_idempotent() {
    if !can_run() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("pytables-cli-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = write("good.rules", GOOD_FILE);
    // One bad line in the nat table: iptables refuses it, so the filter part must not land either.
    let bad_kernel = write(
        "bad-kernel.rules",
        &GOOD_FILE
            .replace("-A WEB -j ACCEPT", "-A WEB -j DROP")
            .replace("-o eth0 -j MASQUERADE", "-o eth0 -j NOSUCHTARGET"),
    );
    let bad_syntax = write(
        "bad-syntax.rules",
        &GOOD_FILE.replace("-A WEB -j ACCEPT", "-A WEB -j DROP\n-A NOCHAIN -j ACCEPT"),
    );
    let bad_value = write(
        "bad-value.rules",
        &GOOD_FILE.replace("-A WEB -j ACCEPT", "-A WEB -p tcp --dport 99999 -j DROP"),
    );
    for backend in backends_under_test() {
        let server = Server::start("cli-apply", backend);
        server.exec("-N OLD");
        server.exec("-A OUTPUT -j OLD");

        // Dry run prints the change and changes nothing.
        let before = server.kernel_save(Family::V4, None);
        let plan = server.ok(&["apply", "--dry-run", &good]);
        assert!(
            plan.contains("-N WEB") && plan.contains("-X OLD"),
            "{backend:?}: {plan}"
        );
        assert_eq!(server.kernel_save(Family::V4, None), before);

        let printed = server.ok(&["apply", &good]);
        assert_eq!(
            printed, plan,
            "{backend:?}: apply printed another diff than --dry-run"
        );
        let filter = server.kernel_save(Family::V4, Some("filter"));
        let expected = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:WEB - [0:0]\n\
            -A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 80 -j WEB\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n\
            -A WEB -j ACCEPT\nCOMMIT\n";
        assert_eq!(filter, expected, "{backend:?}");
        assert!(server
            .kernel_save(Family::V4, Some("nat"))
            .contains("-A POSTROUTING -o eth0 -j MASQUERADE"));

        // Idempotent: nothing to print, nothing committed.
        let seq_before = server.ok(&["log", "--json"]).lines().count();
        assert_eq!(
            server.ok(&["apply", &good]),
            "",
            "{backend:?}: second apply changed something"
        );
        assert_eq!(server.ok(&["log", "--json"]).lines().count(), seq_before);

        // --noflush adds what is missing and keeps the rest; again, it adds nothing.
        let extra = write(
            &format!("extra-{}.rules", backend.name()),
            "*filter\n:INPUT DROP [0:0]\n:EXTRA - [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT\n",
        );
        server.ok(&["apply", "--noflush", &extra]);
        let after = server.kernel_save(Family::V4, Some("filter"));
        assert!(
            after.contains(":WEB - [0:0]") && after.contains(":EXTRA - [0:0]"),
            "{after}"
        );
        assert_eq!(
            after.matches("-A INPUT -i lo -j ACCEPT").count(),
            1,
            "{after}"
        );
        assert!(
            after.contains("-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n"),
            "{after}"
        );
        assert_eq!(server.ok(&["apply", "--noflush", &extra]), "");

        // -6 works on the IPv6 tables and leaves IPv4 alone.
        let v4 = server.kernel_save(Family::V4, None);
        let six = write(
            &format!("six-{}.rules", backend.name()),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::1 -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
        );
        server.ok(&["apply", "-6", &six]);
        assert_eq!(
            server.kernel_save(Family::V6, Some("filter")),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -s 2001:db8::1/128 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
        );
        assert_eq!(server.kernel_save(Family::V4, None), v4);
        assert_eq!(server.ok(&["apply", "-6", &six]), "");

        // Atomic: each bad file is refused and changes nothing, in any table.
        let state = server.kernel_save(Family::V4, None);
        for (file, exit) in [(&bad_kernel, 1), (&bad_syntax, 2), (&bad_value, 2)] {
            let out = server.pytables(&["apply", file]);
            assert_eq!(
                code(&out),
                Some(exit),
                "{backend:?} {file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.stderr.is_empty());
            assert_eq!(
                server.kernel_save(Family::V4, None),
                state,
                "{backend:?}: {file} changed the kernel"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn log_lists_every_commit_with_pid_uid_program() {
    if !can_run() {
        return;
    }
    for backend in backends_under_test() {
        let server = Server::start("cli-log", backend);
        let mut pids = Vec::new();
        for i in 0..3 {
            let child = server
                .ns
                .command(env!("CARGO_BIN_EXE_pytables"))
                .args([
                    "exec",
                    "--",
                    "-A",
                    "INPUT",
                    "-s",
                    &format!("10.0.0.{i}"),
                    "-j",
                    "DROP",
                ])
                .spawn()
                .unwrap();
            pids.push(child.id() as i64);
            assert!(child.wait_with_output().unwrap().status.success());
        }
        // A refused one is logged too.
        assert_eq!(
            code(&server.pytables(&["exec", "--", "-D", "INPUT", "-s", "1.1.1.1", "-j", "DROP"])),
            Some(1)
        );

        let entries: Vec<serde_json::Value> = server
            .ok(&["log", "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mine: Vec<_> = entries
            .iter()
            .filter(|e| e["program"].as_str().unwrap_or("").contains("pytables"))
            .collect();
        assert_eq!(mine.len(), 4, "{backend:?}: {entries:#?}");
        for (e, pid) in mine.iter().zip(&pids) {
            assert_eq!(e["pid"].as_i64(), Some(*pid), "{backend:?}: {e}");
            assert_eq!(e["uid"], 0);
            assert_eq!(e["result"], "ok");
        }
        assert_ne!(mine[3]["result"], "ok");

        let text = server.ok(&["log"]);
        assert!(
            text.contains("-t filter -A INPUT -s 10.0.0.1/32 -j DROP"),
            "{text}"
        );
        let since = mine[1]["seq"].as_u64().unwrap().to_string();
        let later = server.ok(&["log", "--json", "--since", &since]);
        assert_eq!(later.lines().count(), 2, "{backend:?}: {later}");
        assert_eq!(
            code(&server.pytables(&["log", "--since", "yesterday"])),
            Some(2)
        );

        // --follow prints commits as they happen.
        let last = mine[3]["seq"].as_u64().unwrap().to_string();
        let mut follower = server
            .ns
            .command(env!("CARGO_BIN_EXE_pytables"))
            .args(["log", "--follow", "--json", "--since", &last])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        server.exec("-N FOLLOWED");
        let mut line = String::new();
        let mut reader = std::io::BufReader::new(follower.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        follower.kill().unwrap();
        follower.wait().unwrap();
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(entry["ops"][0]["chain"], "FOLLOWED", "{backend:?}: {line}");
    }
}

#[test]
fn persist_status_and_no_server() {
    if !can_run() {
        return;
    }
    for backend in backends_under_test() {
        let server = Server::start("cli-persist", backend);
        server.exec("-A INPUT -p tcp --dport 443 -j ACCEPT");
        let path = std::env::temp_dir().join(format!(
            "pytables-cli-{}-{}.v4",
            std::process::id(),
            backend.name()
        ));
        let out = server.ok(&["persist", path.to_str().unwrap()]);
        assert!(out.contains("1 rules"), "{out}");
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            without_comments(&written),
            server.kernel_save(Family::V4, None)
        );
        // The file restores: load it into a fresh namespace and read the same back.
        let fresh = Netns::new("cli-persist-restore").unwrap();
        let r = fresh.restore(backend, Family::V4, &[], &written).unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        assert_eq!(
            without_comments(&fresh.save(backend, Family::V4, Some("filter")).unwrap()),
            server.kernel_save(Family::V4, Some("filter"))
        );
        std::fs::remove_file(&path).unwrap();

        let status = server.ok(&["status"]);
        assert!(
            status.contains(&format!("backend   {}", backend.name())),
            "{status}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&server.ok(&["status", "--json"])).unwrap();
        assert_eq!(json["committed"], 1);
        assert_eq!(json["recent"].as_array().unwrap().len(), 1);

        // Clients: a `log --follow` stays connected; `status` lists it and itself.
        let mut follower = server
            .ns
            .command(env!("CARGO_BIN_EXE_pytables"))
            .args(["log", "--follow"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let follower_pid = follower.id() as i64;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let clients = loop {
            let json: serde_json::Value =
                serde_json::from_str(&server.ok(&["status", "--json"])).unwrap();
            let clients = json["clients"].as_array().unwrap().clone();
            // Listed from its connection on; wait for its first request to be counted too.
            let follower_seen = clients
                .iter()
                .any(|c| c["pid"] == follower_pid && c["requests"].as_u64() >= Some(1));
            if follower_seen {
                break clients;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "follower not listed: {json}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(clients.len(), 2, "{backend:?}: {clients:?}");
        for c in &clients {
            assert_eq!(c["program"], "pytables", "{backend:?}: {c}");
            assert_eq!(c["uid"], 0, "{backend:?}: {c}");
            assert!(c["requests"].as_u64().unwrap() >= 1, "{backend:?}: {c}");
            assert!(c["connected"].as_str().unwrap().ends_with('Z'), "{c}");
        }
        let text = server.ok(&["status"]);
        let listed = |pid: &str| {
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(pid) && l.contains(" pytables "))
        };
        assert!(listed(&follower_pid.to_string()), "{backend:?}:\n{text}");
        assert_eq!(
            text.lines().filter(|l| l.contains(" pytables ")).count(),
            2,
            "{backend:?}:\n{text}"
        );
        follower.kill().unwrap();
        follower.wait().unwrap();
    }
    // A server on a filesystem socket is reached with --socket (or PYTABLES_SOCKET) only.
    let backend = backends_under_test()[0];
    let sock = std::env::temp_dir().join(format!("pytables-cli-{}.sock", std::process::id()));
    let sock = sock.to_str().unwrap();
    let server = Server::start_with(
        "cli-socket",
        backend,
        &["--socket", sock],
        &["--socket", sock],
    );
    server.ok(&["--socket", sock, "exec", "--", "-N", "VIA-PATH"]);
    assert!(server
        .kernel_save(Family::V4, Some("filter"))
        .contains(":VIA-PATH - [0:0]"));
    assert_eq!(code(&server.pytables(&["status"])), Some(3));
    drop(server);
    let _ = std::fs::remove_file(sock);

    // No server in this namespace: exit 3.
    let empty = Netns::new("cli-noserver").unwrap();
    let out = empty
        .command(env!("CARGO_BIN_EXE_pytables"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(
        code(&out),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn concurrent_execs_lose_nothing() {
    if !can_run() {
        return;
    }
    const CLIENTS: usize = 4;
    const EACH: usize = 25;
    for backend in backends_under_test() {
        let server = Server::start("cli-concurrent", backend);
        server.exec("-N RACE");
        std::thread::scope(|s| {
            for c in 0..CLIENTS {
                let server = &server;
                s.spawn(move || {
                    for i in 0..EACH {
                        // Appends and inserts at the top, interleaved with the other clients.
                        let cmd = if i % 2 == 0 { "-A" } else { "-I" };
                        server.exec(&format!("{cmd} RACE -s 10.{c}.0.{} -j ACCEPT", i + 1));
                    }
                });
            }
        });
        let save = server.kernel_save(Family::V4, Some("filter"));
        for c in 0..CLIENTS {
            for i in 0..EACH {
                let line = format!("-A RACE -s 10.{c}.0.{}/32 -j ACCEPT\n", i + 1);
                assert_eq!(
                    save.matches(&line).count(),
                    1,
                    "{backend:?}: {line:?} in\n{save}"
                );
            }
        }
        assert_eq!(
            save.matches("-A RACE ").count(),
            CLIENTS * EACH,
            "{backend:?}"
        );
        assert_eq!(server.ok(&["save"]), server.kernel_save(Family::V4, None));
    }
}
