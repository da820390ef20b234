//! Support code shared by the integration tests (`mod common;` in a test
//! file). Each test binary compiles its own copy and uses a part of it.
#![allow(dead_code)]

pub mod lab;
