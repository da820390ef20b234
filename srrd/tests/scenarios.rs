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
    for f in &srrd::sim::story::scn_files(&dir) {
        let regenerated = scn::run_file(f, update);
        if update {
            std::fs::write(f, regenerated).expect("write golden");
        }
    }
}
