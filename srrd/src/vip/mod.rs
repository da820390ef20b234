//! STUB (replaced by the vip branch)
use std::collections::BTreeSet;
use std::net::IpAddr;
#[derive(Debug, thiserror::Error)]
#[error("vip")]
pub struct VipError;
pub struct VipManager;
impl VipManager {
    pub async fn new(_i: &str) -> Result<VipManager, VipError> {
        Ok(VipManager)
    }
    pub async fn add(&self, _a: IpAddr) -> Result<(), VipError> {
        Ok(())
    }
    pub async fn remove(&self, _a: IpAddr) -> Result<(), VipError> {
        Ok(())
    }
    pub async fn reconcile(
        &self,
        _m: &BTreeSet<IpAddr>,
        _w: &BTreeSet<IpAddr>,
    ) -> Result<Vec<IpAddr>, VipError> {
        Ok(vec![])
    }
}
