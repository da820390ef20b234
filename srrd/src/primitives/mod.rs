//! STUB (replaced by the primitives branch)
use crate::engine::{OpId, PrimitiveResult};
use crate::model::Primitive;
use std::path::PathBuf;
use std::time::Duration;
pub struct Invocation {
    pub op: OpId,
    pub service: String,
    pub primitive: Primitive,
    pub path: PathBuf,
    pub timeout: Duration,
    pub env: Vec<(String, String)>,
}
pub struct Finished {
    pub op: OpId,
    pub service: String,
    pub primitive: Primitive,
    pub result: PrimitiveResult,
    pub output: String,
    pub elapsed: Duration,
}
pub struct Runner;
impl Runner {
    pub fn new(_d: tokio::sync::mpsc::UnboundedSender<Finished>) -> Runner {
        Runner
    }
    pub fn start(&mut self, _i: Invocation) {}
    pub fn cancel(&mut self, _o: OpId) {}
    pub async fn shutdown(&mut self) {}
}
