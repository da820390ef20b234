//! Node configuration: TOML file → validated [`Config`].

mod model;
pub use model::*;
