//! srrd's lab, the one place that builds network namespaces with real FRR:
//! used by srrd's integration tests and by the lab runner.

pub mod bench;
pub mod netns;
pub mod probe;
