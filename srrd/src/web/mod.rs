//! The HTTPS UI/API shell around the engine (docs/ui.md for the UI).

pub mod ui;
