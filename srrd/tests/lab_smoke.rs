//! The lab harness (lab/src/netns/, lab/src/cluster.rs) against real FRR
//! 8.4: the lab's topology (lab/srrd.clab.yml) converges, a VIP on a node's `lo` is routed at r1
//! and reachable from the client, it follows a move to the other subnet,
//! ospfd's API server answers, and dropping the lab leaves nothing behind.
//! Needs root and FRR (CI has both); prints the timings it sees.

mod common;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::lab::{require_root, wait_for, Lab, Profile, BASE};
use srrd::model::RouterId;
use srrd::ospfapi::{encode, FrameDecoder, Msg, ReplyCode};
use srrd_lab::cluster::{Cluster, Overrides};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::timeout;

const VIP: &str = "192.0.2.10";
const VIP_32: &str = "192.0.2.10/32";
const SECONDS_10: Duration = Duration::from_secs(10);

/// The lab's topology with FRR's `profile`, no srrd.
fn lab(profile: Profile) -> Lab {
    Cluster::build_lab(
        Lab::new("lab smoke"),
        PathBuf::from(env!("CARGO_BIN_EXE_srrd")),
        Overrides::own_srrd(profile),
    )
    .unwrap_or_else(|e| panic!("the lab: {e}"))
    .lab
}

fn ping_ok(lab: &Lab, node: &str, addr: &str) -> bool {
    lab.exec(node, &["ping", "-c1", "-W1", addr])
        .status
        .success()
}

#[test]
fn vip_follows_its_node_across_subnets_and_teardown_leaves_nothing() {
    require_root();
    let lab = lab(Profile::Fast);
    let full = lab.wait_ospf_full("r1", 3, Duration::from_secs(60));
    for node in ["n1", "n2", "n3"] {
        lab.wait_ospf_full(node, 1, SECONDS_10);
    }
    eprintln!("r1 Full with n1, n2, n3 after {full:?}");

    // A client process the lab must stop at teardown.
    let mut sleeper = Command::new("sleep");
    sleeper.arg("600");
    let sleeper = lab.spawn("n2", sleeper);

    lab.ip("n1", &format!("addr add {VIP_32} dev lo"));
    let routed = lab.wait_route_via("r1", VIP_32, "198.51.100.11", SECONDS_10);
    eprintln!("VIP on n1: routed at r1 after {routed:?}");
    let reached = wait_for(Duration::from_secs(5), || ping_ok(&lab, "c1", VIP));
    assert!(reached.is_some(), "c1 cannot ping the VIP on n1");

    lab.ip("n1", &format!("addr del {VIP_32} dev lo"));
    lab.ip("n3", &format!("addr add {VIP_32} dev lo"));
    let moved = lab.wait_route_via("r1", VIP_32, "203.0.113.13", SECONDS_10);
    eprintln!("VIP moved n1 -> n3: routed via n3 at r1 after {moved:?}");
    assert!(ping_ok(&lab, "c1", VIP), "c1 cannot ping the VIP on n3");
    assert!(
        lab.route("n2", VIP_32).contains("via 198.51.100.1 "),
        "n2 should route the VIP via r1: {:?}",
        lab.route("n2", VIP_32)
    );

    let (router_id, reachable) = ask_ospfd_api(&lab, "n3");
    assert_eq!(
        router_id,
        RouterId(u32::from(Ipv4Addr::new(10, 255, 0, 13)))
    );
    for peer in [[10, 255, 0, 1], [10, 255, 0, 11], [10, 255, 0, 12]] {
        let peer = RouterId(u32::from(Ipv4Addr::from(peer)));
        assert!(
            reachable.contains(&peer),
            "{peer} not reachable from n3: {reachable:?}"
        );
    }

    lab.kill_ospfd("n3");
    let dead = lab.wait_no_route("r1", VIP_32, SECONDS_10);
    eprintln!("n3's ospfd SIGKILLed: VIP left r1's table after {dead:?}");
    lab.start_frr("n3");
    let back = lab.wait_route_via("r1", VIP_32, "203.0.113.13", Duration::from_secs(20));
    eprintln!("n3's ospfd SIGKILLed and restarted: VIP routed again after {back:?}");

    let prefix = lab.prefix().to_string();
    let dir = lab.dir().to_path_buf();
    let procs = lab.processes();
    assert!(lab.is_running(&sleeper));
    assert!(
        procs.len() >= 10,
        "zebra+ospfd on 4 nodes, ospfd again, sleep: {procs:?}"
    );
    drop(lab);

    let left = namespaces_starting_with(&prefix);
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
    assert!(!dir.exists(), "{} left behind", dir.display());
    for p in procs {
        assert!(
            !Path::new(&format!("/proc/{}", p.pid)).exists(),
            "{} ({}) still runs",
            p.name,
            p.pid
        );
        if p.name != "sleep" {
            assert!(!Path::new(&format!("/var/tmp/frr/{}.{}", p.name, p.pid)).exists());
        }
    }
}

#[test]
fn bfd_profile_sees_a_dead_node_fast() {
    require_root();
    let lab = lab(Profile::Bfd);
    lab.wait_ospf_full("r1", 3, Duration::from_secs(60));
    // One session per node for ospfd, one for ospf6d (link-local peers).
    let bfd_up = wait_for(SECONDS_10, || {
        lab.vtysh("r1", "show bfd peers")
            .matches("Status: up")
            .count()
            == 6
    });
    assert!(
        bfd_up.is_some(),
        "r1's BFD sessions:\n{}",
        lab.vtysh("r1", "show bfd peers")
    );

    lab.ip("n1", &format!("addr add {VIP_32} dev lo"));
    lab.wait_route_via("r1", VIP_32, "198.51.100.11", SECONDS_10);
    // No carrier loss reaches r1 (n1 hangs off the switch): BFD must notice.
    lab.kill_node("n1");
    let gone = lab.wait_no_route("r1", VIP_32, SECONDS_10);
    eprintln!("n1 killed: its VIP left r1's table after {gone:?}");
    assert!(
        gone < Duration::from_millis(600),
        "not BFD (dead interval 1 s): {gone:?}"
    );
}

/// The nftables rule docs/frr.md ships: without it c1 reaches r1's API
/// server (docs/frr.md, "Firewall the API server to loopback"); with it c1 cannot, and r1's own client can.
#[test]
fn nftables_rule_limits_the_ospf_api_to_loopback() {
    require_root();
    let lab = lab(Profile::Fast);
    lab.wait_ospf_full("r1", 3, Duration::from_secs(60));
    let from_c1 = || {
        lab.in_netns("c1", || {
            let r1 = (Ipv4Addr::new(198, 18, 0, 1), 2607).into();
            std::net::TcpStream::connect_timeout(&r1, Duration::from_secs(1)).is_ok()
        })
    };
    assert!(from_c1(), "c1 should reach r1's unprotected API server");

    let rules = lab.dir().join("srrd-ospfapi.nft");
    std::fs::write(&rules, include_str!("../../contrib/srrd-ospfapi.nft")).unwrap();
    lab.exec_ok("r1", &["nft", "-f", &rules.to_string_lossy()]);
    assert!(
        !from_c1(),
        "c1 still reaches r1's API server through the rule"
    );
    let (router_id, _) = ask_ospfd_api(&lab, "r1");
    assert_eq!(router_id, RouterId(u32::from(Ipv4Addr::new(10, 255, 0, 1))));
}

/// A stale lab (owner dead) under a base of its own, so that `Lab::new` in
/// the other tests does not sweep it first.
#[test]
fn sweep_stale_removes_a_dead_owners_namespaces_and_processes() {
    require_root();
    let base = "sz";
    assert_ne!(base, BASE);
    let id = format!("{base}9{}", std::process::id());
    let ns = format!("{id}-x");
    let dir = format!("/tmp/srrd-lab-{id}");
    std::fs::create_dir_all(&dir).unwrap();
    // PID 1 with another start time: its owner is gone.
    std::fs::write(format!("{dir}/owner"), "1 1\ncrashed\n").unwrap();
    assert!(Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap()
        .success());
    let mut orphan = Command::new("ip")
        .args(["netns", "exec", &ns, "sleep", "600"])
        .spawn()
        .unwrap();
    // `ip netns exec` needs a moment to enter the namespace: sweep only a
    // process that is really in it.
    let entered = wait_for(Duration::from_secs(5), || {
        let out = Command::new("ip")
            .args(["netns", "pids", &ns])
            .output()
            .unwrap();
        !out.stdout.is_empty()
    });
    assert!(entered.is_some(), "the orphan never entered {ns}");

    Lab::sweep_stale(base);

    let status = wait_for(Duration::from_secs(5), || {
        matches!(orphan.try_wait(), Ok(Some(_)))
    });
    assert!(status.is_some(), "the stale lab's process survived");
    assert!(namespaces_starting_with(&ns).is_empty(), "{ns} survived");
    assert!(!Path::new(&dir).exists(), "{dir} survived");
}

fn namespaces_starting_with(prefix: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// Opens an OSPF API session to `node`'s ospfd from inside `node` and asks
/// for its router id and the routers it can reach (docs/ospf-api.md).
fn ask_ospfd_api(lab: &Lab, node: &str) -> (RouterId, Vec<RouterId>) {
    lab.in_netns(node, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (mut sync, mut notify) = api_session().await;
            let mut requests = encode(&Msg::SyncRouterId, 1).unwrap();
            requests.extend(encode(&Msg::SyncReachable, 2).unwrap());
            sync.write_all(&requests).await.unwrap();

            let replies = read_msgs(&mut sync, 2).await;
            for (seq, msg) in &replies {
                assert!(
                    matches!(
                        msg,
                        Msg::Reply {
                            errcode: ReplyCode::Ok
                        }
                    ),
                    "seq {seq}: {msg:?}"
                );
            }
            let (mut router_id, mut reachable) = (None, None);
            for (_, msg) in read_msgs(&mut notify, 2).await {
                match msg {
                    Msg::RouterIdChange { router_id: id } => router_id = Some(id),
                    Msg::ReachableChange { added, .. } => reachable = Some(added),
                    other => panic!("unexpected notification {other:?}"),
                }
            }
            (
                router_id.expect("ROUTER_ID_CHANGE"),
                reachable.expect("REACHABLE_CHANGE"),
            )
        })
    })
}

/// The sync channel from local port P to 127.0.0.1:2607 and the async
/// channel ospfd opens back to P+1, which must be listening first.
async fn api_session() -> (TcpStream, TcpStream) {
    let ospfd = (Ipv4Addr::LOCALHOST, 2607).into();
    for port in (41000u16..41200).step_by(2) {
        let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port + 1)).await else {
            continue;
        };
        let Ok(socket) = TcpSocket::new_v4() else {
            continue;
        };
        if socket.bind((Ipv4Addr::LOCALHOST, port).into()).is_err() {
            continue;
        }
        let Ok(Ok(sync)) = timeout(SECONDS_10, socket.connect(ospfd)).await else {
            continue;
        };
        if let Ok(Ok((notify, _))) = timeout(SECONDS_10, listener.accept()).await {
            return (sync, notify);
        }
    }
    panic!("no OSPF API session with ospfd on 127.0.0.1:2607");
}

async fn read_msgs(stream: &mut TcpStream, count: usize) -> Vec<(u32, Msg)> {
    let mut decoder = FrameDecoder::new();
    let mut msgs = Vec::new();
    let mut buf = [0u8; 4096];
    while msgs.len() < count {
        while let Some((header, msg)) = decoder.next().unwrap() {
            msgs.push((header.seq, msg));
        }
        if msgs.len() >= count {
            break;
        }
        let n = timeout(SECONDS_10, stream.read(&mut buf))
            .await
            .expect("ospfd silent")
            .unwrap();
        assert!(n > 0, "ospfd closed the API session after {msgs:?}");
        decoder.push(&buf[..n]);
    }
    msgs
}
