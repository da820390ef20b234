//! Support code shared by the integration tests (`mod common;` in a test
//! file). The lab itself lives in the `srrd-lab` crate (lab/).
#![allow(dead_code)]

pub mod lab {
    pub use srrd_lab::netns::*;
}

pub mod daemon_cluster;
