//! The looking glass (docs/lookingglass.md): the local ospfd's LSDB read
//! through a short-lived, read-only OSPF API session, so it runs beside the
//! daemon; and a fixed allow-list of routing-daemon `show` commands.

mod lsdb;
mod routing;
mod srrd_lsa;

pub use lsdb::{
    lsdb, LsaHeader, Lsdb, LsdbError, NetworkLsa, OpaqueContent, OpaqueLsa, OtherLsa, RouterLink,
    RouterLsa,
};
pub use routing::{routing, RoutingCommand, RoutingError, Vtysh, COMMANDS};
pub use srrd_lsa::{entry, Content, Entry};
