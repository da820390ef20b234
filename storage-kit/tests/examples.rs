//! The example files in examples/ are valid: the kit's configuration for
//! the kit, the node configuration for srrd (`srrd check-config`).

use std::path::Path;

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn kit_configuration_loads() {
    let c = srrd_storage_kit::config::Config::load(&example("raid1.toml")).unwrap();
    assert_eq!(c.nodes.len(), 3);
}

#[test]
fn node_configuration_passes_srrd_check_config() {
    assert_eq!(srrd::config::check_config_command(&example("node.toml")), 0);
}
