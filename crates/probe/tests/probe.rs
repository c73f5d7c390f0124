//! The probe against the real binaries (root only; both backends unless PYTABLES_BACKEND).

use pytables_core::Family;
use pytables_netns::{available, backends_under_test};
use pytables_probe::{canonicalize, ProbeError, Prober};

#[test]
fn probe_answers_refuses_and_caches() {
    if !available() {
        eprintln!("skipping: needs root");
        return;
    }
    for backend in backends_under_test() {
        let prober = Prober::new(backend);
        let specs = [
            "-s localhost -j ACCEPT",
            "-p tcp --dport 99999",
            "-s 1.2.3.4,5.6.7.8",
            "-m owner --uid-owner root",
            "-p tcp --dport 99999",
            "-j MYCHAIN",
        ];
        let got = prober.canonical(Family::V4, "filter", &specs);
        assert_eq!(
            got[0],
            Ok("-s 127.0.0.1/32 -j ACCEPT".to_string()),
            "{backend:?}"
        );
        match &got[1] {
            Err(ProbeError::Refused { spec, message }) => {
                assert_eq!(spec, "-p tcp --dport 99999");
                assert!(
                    message.contains("invalid port/service `99999'"),
                    "{message}"
                );
            }
            other => panic!("{backend:?}: {other:?}"),
        }
        assert!(
            matches!(&got[2], Err(ProbeError::Several { count: 2, .. })),
            "{got:?}"
        );
        assert_eq!(got[3], Ok("-m owner --uid-owner 0".to_string()));
        assert_eq!(got[4], got[1]);
        assert_eq!(got[5], Ok("-j MYCHAIN".to_string()));
        let injected = prober.canonical(Family::V4, "filter", &["-j ACCEPT\n-A PTPROBE0 -j DROP"]);
        assert!(
            matches!(injected[0], Err(ProbeError::Refused { .. })),
            "{injected:?}"
        );
        // Cached: the same answers without running anything (checked by timing being moot;
        // the answers must simply agree).
        assert_eq!(prober.canonical(Family::V4, "filter", &specs), got);

        // Refused by the kernel at COMMIT (legacy) — found by halving the batch.
        let v6 = prober.canonical(
            Family::V6,
            "filter",
            &[
                "-p tcp -j ACCEPT",
                "-m tcp --dport 22",
                "-j LOG --log-level 3",
            ],
        );
        assert_eq!(v6[0], Ok("-p tcp -j ACCEPT".to_string()));
        assert!(matches!(v6[1], Err(ProbeError::Refused { .. })), "{v6:?}");
        assert_eq!(v6[2], Ok("-j LOG --log-level 3".to_string()));

        assert_eq!(
            canonicalize(Family::V4, backend, "filter", "-p 6 --dport http").unwrap(),
            "-p tcp -m tcp --dport 80"
        );
        assert_eq!(
            canonicalize(Family::V4, backend, "filter", "-s localhost").unwrap(),
            "-s 127.0.0.1/32"
        );
        assert!(canonicalize(Family::V4, backend, "filter", "-p tcp --dport 0x10000").is_err());
    }
}

#[test]
fn sets_named_by_specs_are_created_in_the_scratch_namespace() {
    if !available() {
        eprintln!("skipping: needs root");
        return;
    }
    for backend in backends_under_test() {
        let got = Prober::new(backend).canonical(
            Family::V6,
            "filter",
            &[
                "-m set --match-set ptauto src,dst --return-nomatch",
                "-j SET --add-set ptauto2 src --exist",
            ],
        );
        assert_eq!(
            got[0],
            Ok("-m set --match-set ptauto src,dst --return-nomatch".to_string()),
            "{backend:?}"
        );
        assert!(got[1].is_ok(), "{backend:?}: {:?}", got[1]);
    }
}

#[test]
fn setup_commands_make_sets_available() {
    if !available() {
        eprintln!("skipping: needs root");
        return;
    }
    for backend in backends_under_test() {
        let prober = Prober::new(backend).with_setup("ipset create ptprobe hash:ip");
        let got = prober.canonical(
            Family::V4,
            "filter",
            &["-m set ! --match-set ptprobe src,dst -j DROP"],
        );
        assert_eq!(
            got[0],
            Ok("-m set ! --match-set ptprobe src,dst -j DROP".to_string()),
            "{backend:?}"
        );
    }
}
