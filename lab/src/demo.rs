//! `srrd-lab demo`: web answers from n1; n1 dies; web answers from n3 on
//! the other subnet, with the outage the client measured.

use std::net::IpAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::clab::Role;
use crate::client::{whoami, Outage, Probe, Sample};
use crate::cluster::Cluster;

const SERVICE: &str = "web";
const FIRST: &str = "n1";
const SECOND: &str = "n3";
const PROBE_INTERVAL: Duration = Duration::from_millis(10);
const PROBE_TIMEOUT: Duration = Duration::from_millis(100);

/// Runs the demo on a built cluster, printing as it goes; the outage.
pub fn run(c: &Cluster) -> Result<Duration, String> {
    let (client, addr) = c.client_target(SERVICE)?;
    let router = c.topo.with_role(Role::Router).into_iter().next();

    println!("waiting for {SERVICE} ({addr}) to be served from {FIRST} ...");
    let t = c.wait_served_by(SERVICE, FIRST, Duration::from_secs(30))?;
    println!("  served after {} ms", t.as_millis());
    show_answers(c, &client, addr);
    show_route(c, router.as_deref(), addr);

    if c.in_containers() {
        println!("\ndocker kill {FIRST}: every process in its container at once, then its link;");
    } else {
        println!(
            "\nkilling {FIRST}: every process in it (zebra, ospfd, srrd, the web server), then its link;"
        );
    }
    println!("{client} asks http://{addr}/whoami every 10 ms (100 ms timeout) ...");
    let probe = Probe::start(
        c.lab.netns_path(&client),
        addr,
        PROBE_INTERVAL,
        PROBE_TIMEOUT,
    );
    thread::sleep(Duration::from_millis(500));
    let kill_at = probe.now();
    c.kill_node(FIRST);
    let start = Instant::now();
    let served = c.wait_served_by(SERVICE, SECOND, Duration::from_secs(30));
    thread::sleep(Duration::from_millis(500));
    let samples = probe.stop();
    served?;
    let waited = start.elapsed();

    println!("\nwhat {client} saw (ms after the kill):");
    print_changes(&samples, kill_at);
    let outage = Outage::measure(&samples, kill_at, SECOND);
    let duration = outage
        .duration()
        .ok_or("the probe never got an answer from n3")?;
    println!();
    show_route(c, router.as_deref(), addr);
    show_answers(c, &client, addr);
    println!(
        "\n{SERVICE} moved from {FIRST} (LAN A, 198.51.100.0/24) to {SECOND} (LAN B, 203.0.113.0/24) by OSPF alone."
    );
    let first_new = outage
        .first_after
        .as_ref()
        .map_or(waited, |s| s.at.saturating_sub(kill_at));
    println!(
        "client outage: {} ms ({} probes unanswered); {SECOND} answered {} ms after the kill (OSPF dead interval 1 s).",
        duration.as_millis(),
        outage.failed_probes,
        first_new.as_millis()
    );
    Ok(duration)
}

/// One line per run of equal answers: `from … to ms  answer  (n probes)`.
fn print_changes(samples: &[Sample], since: Duration) {
    let ms = |d: Duration| d.as_millis() as i128 - since.as_millis() as i128;
    let shown: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at + Duration::from_millis(200) >= since)
        .collect();
    let mut i = 0;
    while i < shown.len() {
        let run = shown[i..]
            .iter()
            .take_while(|s| s.answer == shown[i].answer)
            .count();
        let (first, last) = (shown[i], shown[i + run - 1]);
        println!(
            "  {:>+6} .. {:>+6} ms  {:<10} ({run} probes)",
            ms(first.at),
            ms(last.at),
            first.answer.as_deref().unwrap_or("no answer")
        );
        i += run;
    }
}

/// Three answers to `GET /whoami` as the client sees them.
fn show_answers(c: &Cluster, client: &str, addr: IpAddr) {
    for _ in 0..3 {
        let answer = c
            .lab
            .in_netns(client, || whoami(addr, Duration::from_secs(1)));
        println!(
            "  {client}$ curl http://{addr}/whoami  ->  {}",
            answer.as_deref().unwrap_or("(no answer)")
        );
        thread::sleep(Duration::from_millis(300));
    }
}

/// The router's route to the VIP.
fn show_route(c: &Cluster, router: Option<&str>, addr: IpAddr) {
    if let Some(r) = router {
        println!(
            "  {r}$ ip route show {addr}  ->  {}",
            c.lab.route(r, &addr.to_string())
        );
    }
}
