//! srrd's lab, the one place that builds network namespaces with real FRR:
//! used by srrd's integration tests and by the lab runner `srrd-lab`, which
//! builds the containerlab topology `lab/srrd.clab.yml` without containers.

pub mod bench;
pub mod clab;
pub mod cluster;
pub mod demo;
pub mod docker;
pub mod lsdb;
pub mod netns;
pub mod probe;
pub mod scenario;
