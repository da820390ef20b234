//! One run of `graceful-move` through srrd-bench, the benchmark's own code
//! path: the lab (lab/srrd.clab.yml) with real FRR, srrd on n1..n3, the probe from
//! c1, the table and the JSON. Checks the output's structure only; timing
//! goals belong to the benchmark (docs/benchmarks.md), never to a test.
//! Needs root and FRR (CI has both), and srrd built next to this test
//! (`cargo test --workspace` does).

use std::process::Command;

use serde_json::Value;
use srrd_lab::cluster::default_srrd_binary;

#[test]
fn one_graceful_move_through_the_bench() {
    srrd_lab::netns::require_root();
    let srrd = default_srrd_binary().unwrap_or_else(|e| panic!("{e}"));
    let json_path =
        std::env::temp_dir().join(format!("srrd-bench-smoke-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_srrd-bench"))
        .args([
            "--runs",
            "1",
            "--scenario",
            "graceful-move",
            "--no-keepalived",
        ])
        .arg("--json")
        .arg(&json_path)
        .arg("--srrd")
        .arg(&srrd)
        .output()
        .expect("run srrd-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "srrd-bench: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("| scenario | runs | min | median | p90 | max |"),
        "{stdout}"
    );
    assert!(stdout.contains("| graceful-move | 1 |"), "{stdout}");
    assert!(
        stdout.contains("probe: TCP connect + HTTP GET every 10 ms"),
        "{stdout}"
    );

    let text = std::fs::read_to_string(&json_path).expect("the JSON file");
    let _ = std::fs::remove_file(&json_path);
    let rows: Value = serde_json::from_str(&text).expect("valid JSON");
    let rows = rows.as_array().expect("a JSON array");
    let (scenarios, resources): (Vec<&Value>, Vec<&Value>) =
        rows.iter().partition(|r| r.get("scenario").is_some());
    assert_eq!(scenarios.len(), 1, "{text}");
    // srrd's memory and CPU at rest and over the run, per node.
    assert_eq!(resources.len(), 2, "{text}");
    for phase in &resources {
        for node in ["n1", "n2", "n3"] {
            let rss = phase["nodes"][node]["rss_mib"].as_f64();
            assert!(rss.is_some_and(|mib| mib > 1.0), "{node} in {phase}");
        }
    }
    let row = scenarios[0];
    assert_eq!(row["scenario"], "graceful-move");
    assert_eq!(row["runs"], 1);
    for key in ["min_ms", "median_ms", "p90_ms", "max_ms"] {
        let v = row[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {row}"));
        assert!((0.0..5000.0).contains(&v), "{key} = {v}");
    }
    assert!(row.get("keepalived_median_ms").is_none(), "{row}");
    let run = &row["details"][0];
    assert_eq!(run["recovered"], true, "{run}");
    // The service moved to the other subnet and answered from there.
    let (from, to) = (run["from"].as_str(), run["to"].as_str());
    assert!(from.is_some() && to.is_some() && from != to, "{run}");
}
