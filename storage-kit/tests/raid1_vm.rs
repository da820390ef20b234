//! The kit on real md and NBD: a Debian kernel under QEMU, nodes as network
//! namespaces inside it (docs/storage.md, "Tests"). Each case boots one VM
//! and runs a script of vm/cases/; the script checks the data itself and
//! prints `RESULT` lines, which are echoed here.

mod vm;

use std::time::Duration;

fn case(name: &str, env: &[(&str, &str)]) -> Vec<String> {
    case_with(name, env, "1536M", false)
}

/// A case with `mem` of guest memory; `srrd`: with srrd and FRR on the nodes.
fn case_with(name: &str, env: &[(&str, &str)], mem: &str, srrd: bool) -> Vec<String> {
    let r = vm::run(name, env, mem, srrd, Duration::from_secs(1800));
    let results: Vec<String> = r
        .console
        .lines()
        .filter(|l| l.contains("RESULT") || l.contains("FAIL"))
        .map(str::to_owned)
        .collect();
    eprintln!(
        "{name}: status {} in {:.1}s wall (boot included)\n{}",
        r.status,
        r.wall.as_secs_f64(),
        results.join("\n")
    );
    assert_eq!(r.status, 0, "{name} failed; console:\n{}", r.console);
    results
}

/// The number before `unit` in the RESULT line that contains `key`.
fn number(results: &[String], key: &str, unit: &str) -> f64 {
    let line = results
        .iter()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no RESULT with {key}"));
    let word = line
        .split_whitespace()
        .find(|w| w.ends_with(unit) && w.contains(|c: char| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no {unit} in {line}"));
    let digits: String = word
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{word} in {line}"))
}

#[test]
fn mirror_takeover_keeps_every_byte() {
    case("mirror.sh", &[]);
}

#[test]
fn returning_member_resyncs_only_what_changed() {
    let r = case("resync.sh", &[]);
    let dirty = |changed: &str| -> f64 {
        let line = r
            .iter()
            .find(|l| l.contains(&format!("changed={changed}")))
            .expect("resync RESULT");
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("dirty="))
            .and_then(|d| d.parse().ok())
            .expect("dirty=N")
    };
    // 1 MiB bitmap chunks: the dirty chunks follow the changed MiB, not
    // the disk size (55 chunks).
    let (small, large) = (dirty("4MiB"), dirty("16MiB"));
    assert!(
        (4.0..=6.0).contains(&small),
        "4 MiB changed, {small} chunks dirty"
    );
    assert!(
        (16.0..=18.0).contains(&large),
        "16 MiB changed, {large} chunks dirty"
    );
    let blocked = number(&r, "partition-write-blocked", "s");
    assert!(
        blocked < 5.0 + 3.0,
        "a write blocked {blocked}s on a silent partition (nbd_timeout 5s)"
    );
}

#[test]
fn stale_first_power_on_waits_and_force_is_logged() {
    case("stale.sh", &[]);
}

#[test]
fn twenty_takeovers_lose_nothing() {
    case("takeovers.sh", &[("SIZE_MB", "16"), ("ROUNDS", "20")]);
}

/// The seconds after `key` in every `RESULT failover` line.
fn column(results: &[String], key: &str) -> Vec<f64> {
    results
        .iter()
        .filter(|l| l.contains("RESULT failover"))
        .map(|l| {
            let w = l
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .expect(key);
            w.trim_end_matches('s').parse().expect("seconds")
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn min_max(v: &[f64]) -> (f64, f64) {
    (
        v.iter().cloned().fold(f64::MAX, f64::min),
        v.iter().cloned().fold(0.0, f64::max),
    )
}

/// The emulation's cost: the reference steps the VM case timed (`ref`
/// RESULT lines), run on the host now. A table cell: VM / host (xN).
fn reference_steps(r: &[String]) -> (String, String) {
    let kit = env!("CARGO_BIN_EXE_srrd-raid1");
    let t = std::time::Instant::now();
    for _ in 0..20 {
        std::process::Command::new(kit)
            .arg("--help")
            .output()
            .expect("srrd-raid1");
    }
    let host_spawn = t.elapsed().as_secs_f64();
    let vm_spawn = number(r, "ref spawn20", "s");
    let t = std::time::Instant::now();
    std::process::Command::new("sh")
        .args([
            "-c",
            "dd if=/dev/zero bs=1M count=256 2>/dev/null | sha256sum >/dev/null",
        ])
        .status()
        .expect("sh");
    let host_sha = t.elapsed().as_secs_f64();
    let vm_sha = number(r, "ref sha256-256MiB", "s");
    (
        format!(
            "{vm_spawn:.2} s / {host_spawn:.3} s (x{:.0})",
            vm_spawn / host_spawn
        ),
        format!(
            "{vm_sha:.1} s / {host_sha:.2} s (x{:.0})",
            vm_sha / host_sha
        ),
    )
}

/// The failover benchmark (docs/benchmarks.md), not part of the test run:
/// `cargo test -p srrd-storage-kit --test raid1_vm -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench_failover_with_a_512_mib_mirror() {
    let r = case_with(
        "bench.sh",
        &[("SIZE_MB", "521"), ("ROUNDS", "10")],
        "4G",
        false,
    );
    let (start, mount, total) = (
        column(&r, "kit-start="),
        column(&r, "mount="),
        column(&r, "total="),
    );
    let (min, max) = min_max(&total);
    let (spawn, sha) = reference_steps(&r);
    println!("| rounds | kit start (median) | mount (median) | failover total (median) | min | max | 20 spawns VM / host | sha256 of 256 MiB VM / host |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {:.2} s | {:.2} s | {:.2} s | {min:.2} s | {max:.2} s | {spawn} | {sha} |",
        total.len(),
        median(start),
        median(mount),
        median(total.clone()),
    );
}

/// The same with srrd and FRR (docs/benchmarks.md): from the crash until
/// the client's first acknowledged record on the new node, detection
/// included. `... -- --ignored --nocapture bench_srrd`
#[test]
#[ignore]
fn bench_srrd_failover_with_a_512_mib_mirror() {
    let rounds = std::env::var("ROUNDS").unwrap_or("6".into());
    let r = case_with(
        "srrd.sh",
        &[("SIZE_MB", "521"), ("ROUNDS", &rounds), ("REF", "1")],
        "4G",
        true,
    );
    let ack = column(&r, "first-ack=");
    let (min, max) = min_max(&ack);
    let (spawn, sha) = reference_steps(&r);
    println!("| rounds | detection | leave | kit start | records start | group up | first ack (median) | min | max | 20 spawns VM / host | sha256 of 256 MiB VM / host |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {min:.2} s | {max:.2} s | {spawn} | {sha} |",
        ack.len(),
        median(column(&r, "detect=")),
        median(column(&r, "leave=")),
        median(column(&r, "kit-start=")),
        median(column(&r, "records-start=")),
        median(column(&r, "group-up=")),
        median(ack.clone()),
    );
}

/// srrd and FRR on the nodes: the group of the mirror and a service on it
/// fails over when its node crashes, with every acknowledged record; the
/// crashed node boots, rejoins, and the new active node crashes too.
#[test]
fn srrd_fails_the_group_over_with_every_acknowledged_record() {
    let r = case_with("srrd.sh", &[("ROUNDS", "2")], "1536M", true);
    let lost = r
        .iter()
        .find(|l| l.contains("RESULT records"))
        .expect("records RESULT");
    assert!(lost.contains("missing=0 damaged=0"), "{lost}");
}
