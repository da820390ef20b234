//! srrd: a high-availability cluster whose nodes may sit on different
//! subnets. Service state floods as OSPF opaque LSAs; the node that runs a
//! service announces its virtual IP as a host route.
//!
//! `engine` is the sans-IO protocol core; `sim` drives many engines over a
//! simulated flooding network.

pub mod accept;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod glass;
pub mod lsa;
pub mod metrics;
pub mod model;
pub mod ospfapi;
pub mod primitives;
pub mod sim;
pub mod strays;
pub mod vip;
pub mod web;
