//! Multi-node golden stories (tests/cluster/*.scn, syntax in its README.md)
//! replayed in the simulator's cluster.

use std::path::Path;

#[test]
fn cluster_stories() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/cluster exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no stories in {}", dir.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).expect("readable story");
            srrd::sim::story::run(&f.display().to_string(), &text).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
