//! Any text: parsing never panics, and a configuration it accepts renders
//! to TOML that parses back to the same configuration.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = srrd::config::parse(text, "fuzz.toml") {
        let rendered = config.to_toml();
        match srrd::config::parse(&rendered, "rendered.toml") {
            Ok(again) => assert_eq!(again, config, "rendered as:\n{rendered}"),
            Err(e) => panic!("rendered config does not parse:\n{e}\n---\n{rendered}"),
        }
    }
});
