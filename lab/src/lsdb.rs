//! What a node's ospfd floods about srrd's services, read the way srrd
//! reads it: one OSPF API snapshot of the LSDB (`Session::observe`), each
//! srrd LSA decoded and authenticated by `srrd::lsa::receive`, and the
//! records kept by the engine's own `View` (the highest generation is the
//! record, docs/architecture.md), not by a copy of its rules.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use srrd::engine::{LsaRef, PeerDaemon, View};
use srrd::lsa::{ClusterKey, Payload, OPAQUE_TYPE};
use srrd::model::{Scope, Time};
use srrd::ospfapi::Session;

/// ospfd's API server, inside a node's namespace.
const API: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 2607);
/// How long the dump may pause before it is taken as complete.
const QUIET: Duration = Duration::from_millis(300);

/// The engine's view of the LSDB of the ospfd on this thread's namespace
/// (`Lab::in_netns`). LSAs that srrd would ignore (a bad tag, ...) are
/// left out, as srrd leaves them out.
pub fn view(key: Option<&ClusterKey>) -> Result<View, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let snapshot = runtime
        .block_on(async {
            let mut session = Session::observe(API).await?;
            session.lsdb_snapshot(QUIET).await
        })
        .map_err(|e| format!("the LSDB of {API}: {e}"))?;
    let now = Time(0);
    let mut view = View::default();
    view.set_reachability(&snapshot.reachable, &[], now);
    for n in &snapshot.lsas {
        let h = &n.lsa.header;
        let Some(scope) = Scope::from_lsa_type(h.lsa_type) else {
            continue;
        };
        if h.opaque_type() != OPAQUE_TYPE {
            continue;
        }
        let lsa = LsaRef {
            adv_router: h.adv_router,
            scope,
            opaque_id: h.opaque_id(),
        };
        match srrd::lsa::receive(&n.lsa.data, scope, h.adv_router, key) {
            Ok(Payload::Service(state)) => {
                view.apply_update(lsa, state, now);
            }
            Ok(Payload::Daemon(d)) => view.apply_daemon(PeerDaemon {
                lsa,
                generation: d.generation,
                node_name: d.node_name,
                web: d.web,
            }),
            Err(_) => {}
        }
    }
    Ok(view)
}

/// service → [(node name, "config/run")] of the reachable routers in
/// `view`, sorted; a router without a daemon LSA is named by its id.
pub fn states(view: &View) -> BTreeMap<String, Vec<(String, String)>> {
    let mut states: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for service in view.service_names() {
        for (router, record) in view.records(service) {
            if !view.is_reachable(*router) {
                continue;
            }
            let who = view
                .daemons
                .get(router)
                .map_or_else(|| router.to_string(), |d| d.node_name.clone());
            let state = format!("{}/{}", record.state.config_state, record.state.run_state);
            states
                .entry(service.to_string())
                .or_default()
                .push((who, state));
        }
    }
    for list in states.values_mut() {
        list.sort();
    }
    states
}
