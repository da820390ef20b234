//! The web UI (docs/ui.md) in a real browser: headless Debian chromium,
//! driven by playwright-core (srrd/tests/ui/driver.mjs) from the client
//! namespace c1 of the lab (lab/srrd.clab.yml), against three real srrd daemons on
//! real FRR, with an operator certificate made by `srrd pki`. It checks
//! that the status page shows a failover live (no reload), that a what-if
//! preview names the node the service then really moves to, and that a
//! service defined and activated through the UI answers on its VIP. Every
//! page is saved as a screenshot in target/ui-screenshots/
//! (`SRRD_UI_SCREENSHOTS_TO_DOCS=1` also copies them to docs/screenshots/).
//! Needs root, FRR, chromium, node and npm (CI installs them).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon_cluster::Cluster;
use common::lab::{wait_for, Lab};
use serde_json::{json, Value};
use srrd::config::{RoleMap, WebSettings};

const PORT: u16 = 8443;
const NODE_ADDRESSES: [(&str, &str); 3] = [
    ("n1", "198.51.100.11"),
    ("n2", "198.51.100.12"),
    ("n3", "203.0.113.13"),
];
/// The service the test defines through the UI.
const NEW_VIP: &str = "192.0.2.80";

fn ui_address(node: &str) -> String {
    let (_, ip) = NODE_ADDRESSES
        .iter()
        .find(|(n, _)| *n == node)
        .expect("a service node");
    format!("{ip}:{PORT}")
}

fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// playwright-core as srrd/tests/ui/package-lock.json pins it, in
/// target/ui-node (npm ci runs again only when the lock file changed).
fn node_dir() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let dir = target_dir().join("ui-node");
    std::fs::create_dir_all(&dir).expect("create target/ui-node");
    let lock = std::fs::read(source.join("package-lock.json")).expect("the lock file");
    let installed = dir.join("node_modules/.srrd-lock");
    if std::fs::read(&installed).ok().as_ref() != Some(&lock) {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), dir.join(file)).expect("copy the npm manifest");
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm runs (CI installs it)");
        assert!(
            out.status.success(),
            "npm ci in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&installed, &lock).expect("mark the install");
    }
    std::fs::copy(source.join("driver.mjs"), dir.join("driver.mjs")).expect("copy the driver");
    dir
}

/// `srrd pki` in the lab dir: the CA, a server certificate per node for
/// its LAN address, and the operator the browser presents.
fn issue_certificates(lab: &Lab) -> PathBuf {
    let dir = lab.dir().join("pki");
    let pki = |args: &[&str]| common::srrd_pki(&dir, args);
    pki(&["init"]);
    for (node, ip) in NODE_ADDRESSES {
        pki(&["server", node, "--ip", ip]);
    }
    pki(&["issue", "--role", "operator", "olivia"]);
    dir
}

/// The browser: driver.mjs in c1, one JSON request per line over a unix
/// socket in the lab dir. The lab stops it (and chromium) at teardown.
struct Browser {
    lines: BufReader<UnixStream>,
    writer: UnixStream,
    shots: PathBuf,
}

impl Browser {
    fn start(lab: &Lab, pki: &Path) -> Browser {
        let node_dir = node_dir();
        let certificates: Vec<Value> = NODE_ADDRESSES
            .iter()
            .map(|(node, _)| {
                json!({
                    "origin": format!("https://{}", ui_address(node)),
                    "certPath": pki.join("olivia.crt"),
                    "keyPath": pki.join("olivia.key"),
                })
            })
            .collect();
        let config = lab.dir().join("browser.json");
        std::fs::write(&config, json!({ "certificates": certificates }).to_string())
            .expect("write the browser config");
        let socket = lab.dir().join("browser.sock");
        let home = lab.dir().join("browser-home");
        std::fs::create_dir_all(&home).expect("browser home");
        let mut cmd = Command::new("node");
        cmd.arg(node_dir.join("driver.mjs"))
            .arg(&socket)
            .arg(&config)
            .current_dir(&node_dir)
            .env("HOME", &home);
        let driver = lab.spawn("c1", cmd);
        // The driver serves one connection and ends with it: no probing.
        let listening = wait_for(Duration::from_secs(60), || socket.exists());
        assert!(
            listening.is_some(),
            "the browser driver did not start:\n{}",
            driver.log_text()
        );
        // The socket file appears at bind(), a moment before listen():
        // a refused connect is no connection, so try again.
        let mut connected = None;
        wait_for(Duration::from_secs(10), || {
            connected = UnixStream::connect(&socket).ok();
            connected.is_some()
        });
        let writer = connected.unwrap_or_else(|| {
            panic!(
                "cannot connect to the browser driver:\n{}",
                driver.log_text()
            )
        });
        writer
            .set_read_timeout(Some(Duration::from_secs(90)))
            .expect("timeout");
        let shots = target_dir().join("ui-screenshots");
        std::fs::create_dir_all(&shots).expect("create target/ui-screenshots");
        Browser {
            lines: BufReader::new(writer.try_clone().expect("clone the socket")),
            writer,
            shots,
        }
    }

    fn try_step(&mut self, request: Value) -> Result<Value, String> {
        writeln!(self.writer, "{request}").map_err(|e| format!("driver gone: {e}"))?;
        let mut line = String::new();
        self.lines
            .read_line(&mut line)
            .map_err(|e| format!("driver gone: {e}"))?;
        let answer: Value =
            serde_json::from_str(&line).map_err(|e| format!("driver said {line:?}: {e}"))?;
        if answer["ok"] == Value::Bool(true) {
            Ok(answer["value"].clone())
        } else {
            Err(format!("{request}: {}", answer["error"]))
        }
    }

    fn step(&mut self, request: Value) -> Value {
        self.try_step(request)
            .unwrap_or_else(|e| panic!("browser: {e}"))
    }

    /// Opens `view` on `node`'s UI, retrying while the node's server is
    /// not up yet (srrd restarted).
    fn goto(&mut self, node: &str, view: &str) {
        let url = format!("https://{}/ui/{view}", ui_address(node));
        let start = Instant::now();
        while let Err(e) = self.try_step(json!({ "op": "goto", "url": url })) {
            assert!(start.elapsed() < SECONDS_20, "browser: {e}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits until `selector` shows `text`; how long that took.
    fn wait_text(
        &mut self,
        selector: &str,
        text: &str,
        timeout: Duration,
    ) -> Result<Duration, String> {
        let ms = timeout.as_millis() as u64;
        self.try_step(json!({ "op": "wait", "selector": selector, "text": text, "timeout": ms }))
            .map(|v| Duration::from_millis(v.as_u64().unwrap_or(0)))
    }

    fn text(&mut self, selector: &str) -> String {
        self.step(json!({ "op": "text", "selector": selector }))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn click(&mut self, selector: &str) {
        self.step(json!({ "op": "click", "selector": selector }));
    }

    fn fill(&mut self, selector: &str, value: &str) {
        self.step(json!({ "op": "fill", "selector": selector, "value": value }));
    }

    fn screenshot(&mut self, name: &str) {
        let path = self.shots.join(format!("{name}.png"));
        self.step(json!({ "op": "screenshot", "path": path }));
        if std::env::var_os("SRRD_UI_SCREENSHOTS_TO_DOCS").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
            std::fs::create_dir_all(&docs).expect("create docs/screenshots");
            std::fs::copy(&path, docs.join(format!("{name}.png"))).expect("copy the screenshot");
        }
    }

    /// The same document since the last `goto`: nothing reloaded it.
    fn not_reloaded(&mut self) -> bool {
        self.step(json!({ "op": "marked" })) == Value::Bool(true)
    }

    /// JavaScript errors and console errors since the last call.
    fn problems(&mut self) -> Vec<String> {
        serde_json::from_value(self.step(json!({ "op": "problems" }))).unwrap_or_default()
    }
}

const SECONDS_20: Duration = Duration::from_secs(20);

fn holder_cell(service: &str) -> String {
    format!("tr[data-service=\"{service}\"] td.holder")
}

/// Who answers `vip` from c1 (`-`: nobody).
fn who_serves(c: &Cluster, vip: &str) -> String {
    c.serves(vip.parse().expect("an address"))
}

#[test]
fn the_ui_shows_failover_live_previews_truly_and_defines_a_service() {
    // web prefers n1, then n3, then n2.
    let mut c = Cluster::with_extra([200, 100, 150], |lab, node, config| {
        let pki = lab.dir().join("pki");
        let address = ui_address(node).parse().expect("an address");
        config.node.web_listen = Some(address);
        config.web = Some(WebSettings {
            cert: pki.join(format!("{node}.crt")),
            key: pki.join(format!("{node}.key")),
            client_ca: vec![pki.join("ca.crt")],
            advertise: Some(address),
            roles: RoleMap::default(),
        });
    });
    let pki = issue_certificates(c.lab());
    for (node, _) in NODE_ADDRESSES {
        c.start_srrd(node);
    }
    c.wait_served_by("n1", Duration::from_secs(30));
    let mut browser = Browser::start(c.lab(), &pki);

    // Every page, on n2 (which survives the crash below).
    browser.goto("n2", "#/status");
    browser
        .wait_text(&holder_cell("web"), "n1", SECONDS_20)
        .unwrap_or_else(|e| panic!("the status page never showed web on n1: {e}\n{}", c.logs()));
    browser
        .wait_text("#node-switch", "n3", SECONDS_20)
        .expect("every node in the switcher");
    assert_eq!(browser.text("#node-name"), "n2");
    browser
        .wait_text("[data-load]", "memory", SECONDS_20)
        .expect("this node's load and memory on its card");
    browser.screenshot("status");
    for (view, name, ready) in [
        ("#/", "menu", ".summary"),
        ("#/service/web", "service", "#status-output"),
        ("#/config", "config", "tr[data-service=\"web\"]"),
        ("#/config/new", "config-new", "#service-form"),
        ("#/lsdb", "lsdb", "h1"),
        ("#/routing", "routing", "h1"),
        ("#/node", "node", ".facts"),
    ] {
        browser.goto("n2", view);
        if let Err(e) = browser.wait_text(ready, "", SECONDS_20) {
            panic!("{view}: {e}");
        }
        // The live view and the page's own requests settle.
        std::thread::sleep(Duration::from_millis(700));
        browser.screenshot(name);
    }

    // A failover seen live: n1 crashes, the page shows web on n3.
    browser.goto("n2", "#/status");
    browser
        .wait_text(&holder_cell("web"), "n1", SECONDS_20)
        .expect("web on n1 before the crash");
    let crashed = Instant::now();
    c.kill_node("n1");
    let shown = browser
        .wait_text(&holder_cell("web"), "n3", Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("the failover never showed: {e}\n{}", c.logs()));
    let served = c.wait_served_by("n3", Duration::from_secs(10));
    eprintln!(
        "n1 crashed: the status page showed web on n3 after {shown:?} (c1 served by n3 {served:?} later, {:?} after the crash)",
        crashed.elapsed()
    );
    assert!(
        browser.not_reloaded(),
        "the page reloaded to show the failover"
    );
    browser
        .wait_text("#problems", "UNREACHABLE", SECONDS_20)
        .expect("n1 reported unreachable in words");
    browser.screenshot("status-failover");

    // Switch to n3 through the header, preview `disable web` there (n1 is
    // dead, so n2 must take it), confirm, and check it really went there.
    browser.step(json!({ "op": "select", "selector": "#node-switch", "value": ui_address("n3") }));
    browser
        .wait_text("#node-name", "n3", SECONDS_20)
        .expect("the switch opened n3's UI");
    browser
        .wait_text(&holder_cell("web"), "n3", SECONDS_20)
        .expect("n3's status page");
    browser.click("tr[data-service=\"web\"] button[data-action=\"disable\"]");
    if let Err(e) = browser.wait_text("dialog.whatif", "Nothing has been changed", SECONDS_20) {
        panic!(
            "no what-if preview: {e}; notices: {:?}",
            browser.text("#notice")
        );
    }
    let predicted = browser
        .step(json!({ "op": "attr", "selector": "dialog.whatif tr[data-service=\"web\"]", "name": "data-predicted" }))
        .as_str()
        .unwrap_or_default()
        .to_string();
    browser.screenshot("what-if");
    assert_eq!(predicted, "n2", "what-if of disable web on n3");
    browser.click("dialog.whatif button[data-confirm]");
    c.wait_served_by(&predicted, SECONDS_20);
    browser
        .wait_text(&holder_cell("web"), &predicted, SECONDS_20)
        .expect("the status page follows the stop");

    // Define a service through the form on n3, activate it, and reach it.
    browser.goto("n3", "#/config/new");
    browser
        .wait_text("#service-form", "", SECONDS_20)
        .expect("the form");
    let script = Cluster::primitives().display().to_string();
    browser.fill("#f-name", "api");
    browser.fill("#f-addresses", NEW_VIP);
    browser.fill("#f-check_interval", "1s");
    browser.fill("#f-primitives", &script);
    browser.screenshot("config-define");
    browser.click("#service-form button[type=submit]");
    browser
        .wait_text("tr[data-service=\"api\"]", "192.0.2.80", SECONDS_20)
        .unwrap_or_else(|e| panic!("api not in the configuration list: {e}\n{}", c.logs()));
    // A new service needs a restart of srrd (the engine's layout of units
    // is fixed at start), and the UI says so.
    browser
        .wait_text("#notice", "next restart", SECONDS_20)
        .expect("the UI tells that api waits for a restart");
    browser.screenshot("config-saved");
    assert!(c.stop_srrd("n3").success(), "srrd on n3 stops cleanly");
    c.start_srrd("n3");
    browser.goto("n3", "#/status");
    browser
        .wait_text("tr[data-service=\"api\"]", "api", SECONDS_20)
        .expect("api on the status page");
    browser.click("tr[data-service=\"api\"] button[data-action=\"activate\"]");
    let reached = wait_for(SECONDS_20, || who_serves(&c, NEW_VIP) == "n3");
    assert!(
        reached.is_some(),
        "c1 is not served {NEW_VIP} by n3: {:?}\n{}",
        who_serves(&c, NEW_VIP),
        c.logs()
    );
    browser
        .wait_text(&holder_cell("api"), "n3", SECONDS_20)
        .expect("the status page shows api on n3");
    browser.screenshot("status-new-service");

    let problems = browser.problems();
    assert!(problems.is_empty(), "the pages had errors: {problems:?}");
}
