//! Multi-node golden stories (tests/cluster/*.scn, syntax in its README.md)
//! replayed in the simulator's cluster.

use std::path::Path;

#[test]
fn cluster_stories() {
    let dir = std::env::var("STORY_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster"));
    let failures: Vec<String> = srrd::sim::story::run_all(&dir)
        .into_iter()
        .filter_map(|(_, outcome)| outcome.err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
