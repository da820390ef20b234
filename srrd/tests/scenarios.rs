//! Golden scenarios: each file in tests/scenarios/ is one story of one
//! node (syntax in tests/scenarios/README.md, interpreter in scn/).
//! `SRRD_UPDATE_GOLDEN=1 cargo test --test scenarios` rewrites the `<` lines
//! from what the engine does now: review the diff before committing it.

use std::path::Path;

mod scn;

#[test]
fn golden_scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let update = std::env::var_os("SRRD_UPDATE_GOLDEN").is_some();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    for f in &files {
        let regenerated = scn::run_file(f, update);
        if update {
            std::fs::write(f, regenerated).expect("write golden");
        }
    }
}
