//! `srrd run` against real FRR 8.4 (zebra + ospfd --apiserver) in network
//! namespaces (lab/srrd.clab.yml, lab/src/cluster.rs): two subnets joined by r1, nodes n1, n2
//! on LAN A and n3 on LAN B, a client c1 behind r1. A tiny HTTP service
//! answers with the name of the node that serves it; every claim is checked
//! from the client. Needs root and FRR (CI has both).

mod common;

use std::path::Path;
use std::time::Duration;

use common::daemon_cluster::{Cluster, NODES};
use common::lab::{require_root, wait_for, Lab, Signal};

#[test]
fn symmetric_service_starts_on_highest_router_id_and_fails_over_across_subnets() {
    let mut c = Cluster::new([100, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    // n3 (10.255.0.13) is the highest router id, on LAN B.
    let t = c.wait_served_by("n3", Duration::from_secs(20));
    eprintln!("served by n3 {t:?} after start");
    c.assert_only_holder("n3");

    // n3's LSAs, as n1's ospfd holds them, decode and authenticate. The
    // server answers before its start primitive returns: the started state
    // may follow the first answer by a moment.
    let key = c.lab().dir().join("cluster.key").display().to_string();
    let lsdb = || {
        c.lab()
            .exec_ok("n1", &[env!("CARGO_BIN_EXE_srrd"), "lsdb", "--key", &key])
    };
    let of_n3 = |lsdb: &str, kind: &str, what: &str| {
        lsdb.lines().any(|l| {
            l.contains(r#""adv_router":"10.255.0.13""#)
                && l.contains(&format!(r#""kind":"{kind}""#))
                && l.contains(what)
        })
    };
    let started = wait_for(Duration::from_secs(5), || {
        of_n3(&lsdb(), "service", r#""state":"active/started""#)
    });
    let text = lsdb();
    assert!(
        of_n3(&text, "daemon", r#""node_name":"n3""#),
        "no daemon LSA of n3 at n1:\n{text}"
    );
    assert!(started.is_some(), "no started web LSA of n3 at n1:\n{text}");

    // The active node dies: n2 (10.255.0.12, LAN A) takes over once ospfd
    // declares n3 dead (dead interval 1 s).
    c.kill_node("n3");
    let t = c.wait_served_by("n2", Duration::from_secs(10));
    eprintln!("node crash n3 -> n2 (other subnet): client served again after {t:?}");
    c.assert_only_holder("n2");

    // Graceful stop of the holder: n1 takes over, n2 exits 0 without its VIP.
    let status = c.stop_srrd("n2");
    assert!(
        status.success(),
        "srrd on n2 exited with {status}\n{}",
        c.logs()
    );
    let t = c.wait_served_by("n1", Duration::from_secs(10));
    eprintln!("graceful stop n2 -> n1: client served again after {t:?}");
    c.assert_only_holder("n1");
}

#[test]
fn asymmetric_service_returns_to_the_preferred_node() {
    let mut c = Cluster::new([200, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    c.wait_served_by("n1", Duration::from_secs(20));
    c.assert_only_holder("n1");

    let status = c.stop_srrd("n1");
    assert!(status.success(), "srrd on n1 exited with {status}");
    c.wait_served_by("n3", Duration::from_secs(10));
    c.assert_only_holder("n3");

    // The preferred node returns and preempts.
    c.start_srrd("n1");
    let t = c.wait_served_by("n1", Duration::from_secs(20));
    eprintln!("n1 back: preempted n3 after {t:?}");
    c.assert_only_holder("n1");
}

#[test]
fn ospfd_crash_on_the_active_node_moves_the_service() {
    let mut c = Cluster::new([100, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    c.wait_served_by("n3", Duration::from_secs(20));

    c.lab().kill_ospfd("n3");
    let t = c.wait_served_by("n2", Duration::from_secs(10));
    eprintln!("ospfd crash on n3 -> n2: client served again after {t:?}");
    // srrd on n3 lost its session: it stopped the service and took the VIP away.
    let gone = wait_for(Duration::from_secs(5), || c.vip_holders() == vec!["n2"]);
    assert!(
        gone.is_some(),
        "VIP holders {:?}\n{}",
        c.vip_holders(),
        c.logs()
    );
    assert!(
        c.lab().is_running(c.srrd("n3")),
        "srrd on n3 must keep running"
    );

    // ospfd returns: srrd reconnects; the service stays on n2 (sticky).
    c.lab().start_frr("n3");
    c.lab().wait_ospf_full("r1", 3, Duration::from_secs(30));
    let rejoined = wait_for(Duration::from_secs(20), || {
        c.srrd("n3")
            .log_text()
            .matches("OSPF API session ready")
            .count()
            >= 2
    });
    assert!(
        rejoined.is_some(),
        "srrd on n3 did not reconnect\n{}",
        c.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(c.who_serves(), "n2");
    c.assert_only_holder("n2");
}

#[test]
fn srrd_kill9_and_restart_leaves_no_stray_vip_and_no_duplicate() {
    let mut c = Cluster::new([100, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    c.wait_served_by("n3", Duration::from_secs(20));

    // kill -9: ospfd flushes n3's LSAs, n2 takes over; n3's VIP stays
    // behind on its lo until srrd comes back.
    let h = c.srrd("n3").clone();
    c.lab().kill(&h);
    let took_over = wait_for(Duration::from_secs(10), || c.vip_holders().contains(&"n2"));
    assert!(took_over.is_some(), "n2 did not take over\n{}", c.logs());

    c.start_srrd("n3");
    let clean = wait_for(Duration::from_secs(15), || c.vip_holders() == vec!["n2"]);
    assert!(
        clean.is_some(),
        "VIP holders {:?}\n{}",
        c.vip_holders(),
        c.logs()
    );
    c.wait_served_by("n2", Duration::from_secs(5));
    // Still exactly one after the dust settles.
    std::thread::sleep(Duration::from_secs(2));
    c.assert_only_holder("n2");
}

/// srrd on every node, web served by n3 (the highest router id) and
/// settled.
fn serve_from_n3(c: &mut Cluster) {
    for node in NODES {
        c.start_srrd(node);
    }
    c.wait_served_by("n3", Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(2));
}

/// A quick `srrd run` on n3, whose previous run left web running: it
/// adopts web, the VIP never leaves n3, nothing is stopped.
fn restart_adopts_on_n3(c: &mut Cluster) {
    c.start_srrd("n3");
    let moved = wait_for(Duration::from_secs(4), || c.vip_holders() != vec!["n3"]);
    assert!(
        moved.is_none(),
        "VIP holders {:?}\n{}",
        c.vip_holders(),
        c.logs()
    );
    c.wait_served_by("n3", Duration::from_secs(2));
    let log = c.srrd("n3").log_text();
    assert!(
        log.contains("adopting it") && !log.contains("stopped a service"),
        "{}",
        c.logs()
    );
}

#[test]
fn srrd_kill9_and_quick_restart_adopts_without_a_failover() {
    let mut c = Cluster::new([100, 100, 100]);
    serve_from_n3(&mut c);

    // kill -9, then a new run at once: within the peers' restart grace
    // (1 s) it finds web running (its check passes) and adopts it.
    let h = c.srrd("n3").clone();
    c.lab().kill(&h);
    assert!(
        c.lab().wait_gone(&h, Duration::from_secs(2)),
        "srrd on n3 lives on"
    );
    restart_adopts_on_n3(&mut c);
}

#[test]
fn keep_services_on_stop_lets_the_next_binary_adopt() {
    let mut c = Cluster::with_extra([100, 100, 100], |_, _, config| {
        config.node.keep_services_on_stop = true;
    });
    serve_from_n3(&mut c);

    // SIGTERM for an upgrade: srrd exits at once, web and its VIP stay,
    // and the next run adopts them within the peers' restart grace.
    let status = c.stop_srrd("n3");
    assert!(status.success(), "srrd on n3 exited with {status}");
    assert_eq!(c.vip_holders(), vec!["n3"], "{}", c.logs());
    restart_adopts_on_n3(&mut c);
}

#[test]
fn sigusr2_exits_for_an_upgrade_and_the_next_run_adopts() {
    let mut c = Cluster::new([100, 100, 100]);
    serve_from_n3(&mut c);

    let h = c.srrd("n3").clone();
    c.lab().signal(&h, Signal::SIGUSR2);
    let status = c.lab().wait_exit(&h, Duration::from_secs(5));
    assert_eq!(status.and_then(|s| s.code()), Some(75), "{}", c.logs());
    assert_eq!(c.vip_holders(), vec!["n3"], "{}", c.logs());
    restart_adopts_on_n3(&mut c);
}

#[test]
fn misconfigured_node_fails_fast_naming_the_problem() {
    require_root();
    let lab = Lab::new("misconfigured");
    lab.add_node("x");
    let dir = lab.node_dir("x");
    let run = |config: &Path| {
        let out = lab.exec(
            "x",
            &[
                env!("CARGO_BIN_EXE_srrd"),
                "run",
                "--config",
                &config.display().to_string(),
            ],
        );
        assert!(
            !out.status.success(),
            "srrd run succeeded with {}",
            config.display()
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // A configuration error names file, line and field.
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[node]\nstate_dir = \"/tmp/x\"\n[[service]]\nname = \"web\"\nprimitives = \"/bin/true\"\naddresses = [\"192.0.2.1\"]\ndepends = [\"nosuch\"]\n",
    )
    .expect("write");
    let err = run(&bad);
    assert!(
        err.contains(&format!("{}:7:", bad.display())) && err.contains("service[0].depends"),
        "{err}"
    );

    // No ospfd: the address tried is named.
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        format!(
            "[node]\nstate_dir = \"{}\"\nospf_api = \"127.0.0.1:2607\"\n[[service]]\nname = \"web\"\nprimitives = \"/bin/true\"\naddresses = [\"192.0.2.1\"]\n",
            dir.join("state").display()
        ),
    )
    .expect("write");
    lab.ip("x", "link set lo up");
    let err = run(&good);
    assert!(
        err.contains("cannot reach ospfd's OSPF API at 127.0.0.1:2607"),
        "{err}"
    );
}

/// Make-before-break with a connection open at the switch: c1 begins a
/// request to n3, srrd on n3 stops (a graceful move to n2), and c1 sends
/// the rest only once the routers send its new connections to n2. n2 has
/// no such connection; it forwards the segments to n3 (docs/vip.md, "Stray
/// packets"), which still drains, and n3 answers.
#[test]
fn overlap_move_lets_connections_open_at_the_switch_finish() {
    use srrd::config::Handover;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};

    let mut c = Cluster::with_extra([100, 100, 100], |_, _, config| {
        let web = &mut config.services[0];
        web.handover = Handover::Overlap;
        // Time to finish the request once the routers have moved.
        web.handover_drain = Duration::from_secs(3);
    });
    serve_from_n3(&mut c);
    let target = SocketAddr::new(
        common::daemon_cluster::VIP.parse().unwrap(),
        srrd_lab::probe::HTTP_PORT,
    );
    let mut open = c
        .lab()
        .in_netns("c1", || {
            TcpStream::connect_timeout(&target, Duration::from_secs(1))
        })
        .expect("connect to the VIP from c1");
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    open.write_all(b"GET /whoami HTTP/1.0\r\n").unwrap();

    let h = c.srrd("n3").clone();
    c.lab().signal(&h, Signal::SIGTERM);
    c.wait_served_by("n2", Duration::from_secs(5));
    open.write_all(b"\r\n").unwrap();
    let mut answer = String::new();
    let read = open.read_to_string(&mut answer);
    assert!(
        read.is_ok() && answer.ends_with("n3\n"),
        "the request begun on n3 got {read:?}: {answer:?}\n{}",
        c.logs()
    );
    assert!(c.srrd("n2").log_text().contains("forwarding stray packets"));
}
