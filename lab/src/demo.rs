//! `srrd-lab demo`: web answers from n1; n1 dies; web answers from n3 on
//! the other subnet, on its IPv4 and its IPv6 address, with the outage
//! the client measured on each.

use std::net::{IpAddr, SocketAddr};
use std::thread;
use std::time::Duration;

use crate::clab::Role;
use crate::cluster::Cluster;
use crate::probe::{get_once, Probe, ProbeConfig, Trace, HTTP_PORT};

const SERVICE: &str = "web";
const FIRST: &str = "n1";
const SECOND: &str = "n3";

/// Runs the demo on a built cluster, printing as it goes; the outage.
pub fn run(c: &Cluster) -> Result<Duration, String> {
    let (client, addresses) = c.client_targets(SERVICE)?;
    let targets: Vec<SocketAddr> = addresses
        .iter()
        .map(|a| SocketAddr::new(*a, HTTP_PORT))
        .collect();
    let router = c.topo.with_role(Role::Router).into_iter().next();

    println!("waiting for {SERVICE} ({addresses:?}) to be served from {FIRST} ...");
    let t = c.wait_served_by(SERVICE, FIRST, Duration::from_secs(30))?;
    println!("  served after {} ms", t.as_millis());
    for target in &targets {
        show_answers(c, &client, *target);
        show_route(c, router.as_deref(), target.ip());
    }

    if c.in_containers() {
        println!("\ndocker kill {FIRST}: every process in its container at once, then its link;");
    } else {
        println!(
            "\nkilling {FIRST}: every process in it (zebra, ospfd, srrd, the web server), then its link;"
        );
    }
    let config = ProbeConfig::default();
    for target in &targets {
        println!(
            "{client} asks http://{target}/whoami every {} ms ({} ms connect timeout) ...",
            config.period.as_millis(),
            config.connect_timeout.as_millis()
        );
    }
    let probe = Probe::start(&c.lab, &client, &targets, config);
    thread::sleep(Duration::from_millis(500));
    let kill_at = probe.now_ms();
    c.kill_node(FIRST);
    let served = c.wait_served_by(SERVICE, SECOND, Duration::from_secs(30));
    // Longer than ospf6d's 2 s dead interval: r1 may send part of the IPv6
    // flows to the dead n1 until then, and the trace should show it.
    thread::sleep(Duration::from_millis(2500));
    let traces = probe.stop();
    served?;

    let mut longest: f64 = 0.0;
    let mut summary = Vec::new();
    for trace in &traces {
        println!(
            "\nwhat {client} saw at {} (ms after the kill):",
            trace.target
        );
        print_changes(trace, kill_at);
        let first_new = trace
            .first_answer_from(SECOND, kill_at)
            .ok_or_else(|| {
                format!(
                    "the probe of {} never got an answer from {SECOND}",
                    trace.target
                )
            })?
            .start_ms
            - kill_at;
        let failed: usize = trace
            .outages_since(kill_at)
            .iter()
            .map(|o| o.failed_attempts)
            .sum();
        let outage = trace.longest_outage_since(kill_at).unwrap_or(0.0);
        longest = longest.max(outage);
        summary.push(format!(
            "client outage at {}: {outage:.0} ms ({failed} attempts unanswered); {SECOND} answered {first_new:.0} ms after the kill.",
            trace.target.ip()
        ));
    }
    println!();
    for target in &targets {
        show_route(c, router.as_deref(), target.ip());
        show_answers(c, &client, *target);
    }
    println!(
        "\n{SERVICE} moved from {FIRST} (LAN A, 198.51.100.0/24, 2001:db8:a::/64) to {SECOND} (LAN B, 203.0.113.0/24, 2001:db8:b::/64) by OSPF alone."
    );
    for line in summary {
        println!("{line}");
    }
    println!("(OSPF dead interval: 1 s for ospfd, which also tells srrd; 2 s for ospf6d, whose route to the dead node the router may use until then: docs/frr.md.)");
    Ok(Duration::from_secs_f64(longest / 1000.0))
}

/// One line per run of equal answers: `from … to ms  answer  (n attempts)`.
fn print_changes(trace: &Trace, since_ms: f64) {
    let shown: Vec<_> = trace
        .attempts
        .iter()
        .filter(|a| a.start_ms + 200.0 >= since_ms)
        .collect();
    let mut i = 0;
    while i < shown.len() {
        let answer = shown[i].outcome.as_ref().ok();
        let run = shown[i..]
            .iter()
            .take_while(|a| a.outcome.as_ref().ok() == answer)
            .count();
        let (first, last) = (shown[i], shown[i + run - 1]);
        println!(
            "  {:>+6.0} .. {:>+6.0} ms  {:<10} ({run} attempts)",
            first.start_ms - since_ms,
            last.start_ms - since_ms,
            answer.map_or("no answer", String::as_str)
        );
        i += run;
    }
}

/// Three answers to `GET /whoami` as the client sees them.
fn show_answers(c: &Cluster, client: &str, target: SocketAddr) {
    for _ in 0..3 {
        let config = ProbeConfig::once(Duration::from_secs(1));
        let answer = c.lab.in_netns(client, || get_once(target, &config));
        println!(
            "  {client}$ curl http://{target}/whoami  ->  {}",
            answer.unwrap_or_else(|e| format!("(no answer: {e})"))
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
