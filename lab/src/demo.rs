//! `srrd-lab demo`: web answers from n1; n1 dies; web answers from n3 on
//! the other subnet, with the outage the client measured.

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
    let config = ProbeConfig::default();
    println!(
        "{client} asks http://{addr}/whoami every {} ms ({} ms connect timeout) ...",
        config.period.as_millis(),
        config.connect_timeout.as_millis()
    );
    let target = SocketAddr::new(addr, HTTP_PORT);
    let probe = Probe::start(&c.lab, &client, &[target], config);
    thread::sleep(Duration::from_millis(500));
    let kill_at = probe.now_ms();
    c.kill_node(FIRST);
    let served = c.wait_served_by(SERVICE, SECOND, Duration::from_secs(30));
    thread::sleep(Duration::from_millis(500));
    let trace = probe.stop().remove(0);
    served?;

    println!("\nwhat {client} saw (ms after the kill):");
    print_changes(&trace, kill_at);
    let first_new = trace
        .first_answer_from(SECOND, kill_at)
        .ok_or("the probe never got an answer from n3")?
        .start_ms
        - kill_at;
    let outages = trace.outages_since(kill_at);
    let failed: usize = outages.iter().map(|o| o.failed_attempts).sum();
    let outage = trace.longest_outage_since(kill_at).unwrap_or(0.0);
    println!();
    show_route(c, router.as_deref(), addr);
    show_answers(c, &client, addr);
    println!(
        "\n{SERVICE} moved from {FIRST} (LAN A, 198.51.100.0/24) to {SECOND} (LAN B, 203.0.113.0/24) by OSPF alone."
    );
    println!(
        "client outage: {outage:.0} ms ({failed} attempts unanswered); {SECOND} answered {first_new:.0} ms after the kill (OSPF dead interval 1 s)."
    );
    Ok(Duration::from_secs_f64(outage / 1000.0))
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
fn show_answers(c: &Cluster, client: &str, addr: IpAddr) {
    for _ in 0..3 {
        let target = SocketAddr::new(addr, HTTP_PORT);
        let config = ProbeConfig::once(Duration::from_secs(1));
        let answer = c.lab.in_netns(client, || get_once(target, &config));
        println!(
            "  {client}$ curl http://{addr}/whoami  ->  {}",
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
