//! The lab's nodes, LANs and links.

use super::*;

impl Lab {
    /// The namespace of `node`.
    pub fn ns(&self, node: &str) -> String {
        format!("{}{node}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Configs, pid files, sockets and logs of `node`.
    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    /// A namespace with `lo` up.
    pub fn add_node(&self, node: &str) {
        let ns = self.ns(node);
        let dir = self.node_dir(node);
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        // Recorded first: Drop deletes it even if the next step fails.
        self.state().nodes.push(node.to_string());
        run_ok(Command::new("ip").args(["netns", "add", &ns]));
        self.ip(node, "link set lo up");
    }

    /// Names the network namespace of process `pid` (a container's) as
    /// `node`'s, in place of one it had before (a restarted container).
    pub fn attach_node(&self, node: &str, pid: u32) {
        let ns = self.ns(node);
        let dir = self.node_dir(node);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        {
            let mut state = self.state();
            if !state.nodes.iter().any(|n| n == node) {
                state.nodes.push(node.to_string());
            }
        }
        if self.netns_path(node).exists() {
            run_ok(Command::new("ip").args(["netns", "del", &ns]));
        }
        run_ok(Command::new("ip").args(["netns", "attach", &ns, &pid.to_string()]));
    }

    /// A veth between `a` and `b`, both ends up, no address (a
    /// containerlab link: the node's `exec` lines address it).
    pub fn connect(&self, a: &str, if_a: &str, b: &str, if_b: &str) {
        let ns_b = self.ns(b);
        self.ip(
            a,
            &format!("link add {if_a} type veth peer name {if_b} netns {ns_b}"),
        );
        for (node, ifname) in [(a, if_a), (b, if_b)] {
            self.ip(node, &format!("link set {ifname} up"));
            let mut state = self.state();
            let links = state.links.entry(node.to_string()).or_default();
            if !links.iter().any(|l| l == ifname) {
                links.push(ifname.to_string());
            }
        }
    }

    /// Sets every interface of `node` (but lo) down.
    pub fn link_down(&self, node: &str) {
        self.set_links(node, "down");
    }

    pub fn link_up(&self, node: &str) {
        self.set_links(node, "up");
    }

    pub(super) fn set_links(&self, node: &str, updown: &str) {
        let links = self.state().links.get(node).cloned().unwrap_or_default();
        for ifname in links {
            self.ip(node, &format!("link set {ifname} {updown}"));
        }
    }
}
