//! The HTTPS API (docs/api.md) of the real daemon against real FRR in
//! network namespaces: TLS client-certificate checks, roles on every
//! mutating route, CSRF, limits, and an operator move that the cluster view
//! shows. Requests are made with curl and `srrd ctl` inside a node's
//! namespace. Needs root, FRR and curl (CI has them).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::daemon_cluster::Cluster;
use common::lab::{wait_for, Lab};

const PORT: u16 = 8443;
const SRRD: &str = env!("CARGO_BIN_EXE_srrd");

/// The node's address on its LAN (lab/srrd.clab.yml).
fn lan_address(node: &str) -> &'static str {
    match node {
        "n1" => "198.51.100.11",
        "n2" => "198.51.100.12",
        _ => "203.0.113.13",
    }
}

/// `srrd pki` in the lab dir: CA, one server certificate per node, an
/// operator and a viewer; plus certificates the server must refuse.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn new(lab: &Lab) -> Certs {
        let dir = lab.dir().join("pki");
        let pki = |args: &[&str]| common::srrd_pki(&dir, args);
        pki(&["init"]);
        for node in ["n1", "n2", "n3"] {
            pki(&[
                "server",
                node,
                "--ip",
                "127.0.0.1",
                "--ip",
                lan_address(node),
            ]);
        }
        pki(&["issue", "--role", "operator", "alice"]);
        pki(&["issue", "--role", "viewer", "victor"]);
        let foreign = lab.dir().join("foreign-pki");
        for args in [&["init"][..], &["issue", "--role", "operator", "mallory"]] {
            let out = Command::new(SRRD)
                .arg("pki")
                .arg("--dir")
                .arg(&foreign)
                .args(args)
                .output()
                .expect("pki");
            assert!(out.status.success());
        }
        let certs = Certs { dir };
        certs.sign(
            "expired",
            Some("operator"),
            rcgen::date_time_ymd(2001, 1, 1),
        );
        certs.sign("nobody", Some("sales"), rcgen::date_time_ymd(4000, 1, 1));
        std::fs::copy(foreign.join("mallory.crt"), certs.dir.join("mallory.crt")).expect("copy");
        std::fs::copy(foreign.join("mallory.key"), certs.dir.join("mallory.key")).expect("copy");
        certs
    }

    /// A client certificate from our CA that `srrd pki` would not make.
    fn sign(&self, name: &str, ou: Option<&str>, not_after: time::OffsetDateTime) {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).expect("read CA");
        let ca_key = rcgen::KeyPair::from_pem(&read("ca.key")).expect("CA key");
        let issuer = rcgen::Issuer::from_ca_cert_pem(&read("ca.crt"), ca_key).expect("CA");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        if let Some(ou) = ou {
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationalUnitName, ou);
        }
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = not_after;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &issuer).expect("sign");
        std::fs::write(self.dir.join(format!("{name}.crt")), cert.pem()).expect("write");
        std::fs::write(self.dir.join(format!("{name}.key")), key.serialize_pem()).expect("write");
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// `node`'s web listener and `[web]` table.
    fn configure(&self, node: &str, config: &mut srrd::config::Config) {
        config.node.web_listen = Some(SocketAddr::from(([0, 0, 0, 0], PORT)));
        config.web = Some(srrd::config::WebSettings {
            cert: self.dir.join(format!("{node}.crt")),
            key: self.dir.join(format!("{node}.key")),
            client_ca: vec![self.dir.join("ca.crt")],
            advertise: Some(SocketAddr::new(
                lan_address(node).parse().expect("an address"),
                PORT,
            )),
            roles: srrd::config::RoleMap::default(),
        });
    }
}

/// One curl request inside `node`'s namespace to its own API.
struct Call<'a> {
    method: &'a str,
    path: &'a str,
    /// The client certificate's stem in the pki dir (`None`: no certificate).
    who: Option<&'a str>,
    headers: Vec<String>,
    body: Option<String>,
}

fn call<'a>(method: &'a str, path: &'a str, who: &'a str) -> Call<'a> {
    Call {
        method,
        path,
        who: Some(who),
        headers: if method == "GET" {
            Vec::new()
        } else {
            vec!["X-SRRD-CSRF: 1".into()]
        },
        body: None,
    }
}

/// (HTTP status, body); status 0 if no HTTP answer came (TLS refused).
fn send(c: &Cluster, certs: &Certs, node: &str, call: &Call<'_>) -> (u16, String) {
    let mut args: Vec<String> = vec![
        "curl".into(),
        "-sS".into(),
        "--max-time".into(),
        "10".into(),
        "--cacert".into(),
        certs.file("ca.crt"),
        "-X".into(),
        call.method.into(),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    if let Some(who) = call.who {
        args.extend(["--cert".into(), certs.file(&format!("{who}.crt"))]);
        args.extend(["--key".into(), certs.file(&format!("{who}.key"))]);
    }
    for h in &call.headers {
        args.extend(["-H".into(), h.clone()]);
    }
    if let Some(body) = &call.body {
        let file = c.lab().dir().join("body.json");
        std::fs::write(&file, body).expect("write body");
        args.extend(["-H".into(), "Content-Type: application/json".into()]);
        args.extend(["--data-binary".into(), format!("@{}", file.display())]);
    }
    args.push(format!("https://127.0.0.1:{PORT}{}", call.path));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = c.lab().exec(node, &argv);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// `srrd ctl` inside `node`'s namespace as alice (operator).
fn ctl(c: &Cluster, certs: &Certs, node: &str, args: &[&str]) -> (bool, String) {
    let (ca, cert, key) = (
        certs.file("ca.crt"),
        certs.file("alice.crt"),
        certs.file("alice.key"),
    );
    let url = format!("https://127.0.0.1:{PORT}");
    let mut argv = vec![
        SRRD, "ctl", "--url", &url, "--ca", &ca, "--cert", &cert, "--key", &key,
    ];
    argv.extend(args);
    let out = c.lab().exec(node, &argv);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Every state-changing route, with a body where it takes one.
fn mutating_routes() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    let mut routes: Vec<(&str, &str, Option<&str>)> = [
        "activate",
        "deactivate",
        "enable",
        "disable",
        "start",
        "stop",
        "clear-failed",
    ]
    .iter()
    .map(|c| -> (&str, &str, Option<&str>) {
        (
            "POST",
            Box::leak(format!("/api/v1/services/web/{c}").into_boxed_str()),
            None,
        )
    })
    .collect();
    routes.extend([
        (
            "POST",
            "/api/v1/services/web/move",
            Some(r#"{"node":"n1"}"#),
        ),
        ("POST", "/api/v1/node/shutdown", None),
        (
            "POST",
            "/api/v1/config/services",
            Some(r#"{"name":"x","primitives":"/x"}"#),
        ),
        (
            "PUT",
            "/api/v1/config/services/web",
            Some(r#"{"name":"web","primitives":"/x"}"#),
        ),
        ("DELETE", "/api/v1/config/services/web", None),
        ("POST", "/api/v1/config/services/web/enable", None),
        ("POST", "/api/v1/config/services/web/disable", None),
    ]);
    routes
}

fn wait_api(c: &Cluster, certs: &Certs, node: &str) {
    wait_for(Duration::from_secs(20), || {
        send(c, certs, node, &call("GET", "/api/v1/whoami", "alice")).0 == 200
    })
    .unwrap_or_else(|| panic!("the API on {node} does not answer\n{}", c.logs()));
}

#[test]
fn https_api_refuses_what_it_must_and_moves_a_service_for_an_operator() {
    let certs = std::cell::OnceCell::new();
    let mut c = Cluster::with_extra([100, 100, 100], |lab, node, config| {
        certs
            .get_or_init(|| Certs::new(lab))
            .configure(node, config)
    });
    let certs = certs.into_inner().expect("certificates made");
    for node in ["n1", "n2", "n3"] {
        c.start_srrd(node);
    }
    c.wait_served_by("n3", Duration::from_secs(20));
    wait_api(&c, &certs, "n1");

    // TLS: no certificate, another CA's, an expired one: no HTTP at all.
    for who in [None, Some("mallory"), Some("expired")] {
        let mut request = call("GET", "/api/v1/cluster", "alice");
        request.who = who;
        let (status, _) = send(&c, &certs, "n1", &request);
        assert_eq!(status, 0, "{who:?} got an HTTP answer");
    }
    // A valid certificate that maps to no role: 403 even for reads.
    assert_eq!(
        send(&c, &certs, "n1", &call("GET", "/api/v1/cluster", "nobody")).0,
        403
    );

    let (status, body) = send(&c, &certs, "n1", &call("GET", "/api/v1/whoami", "victor"));
    assert_eq!(
        (status, json(&body)["role"].as_str()),
        (200, Some("viewer"))
    );
    let (status, body) = send(&c, &certs, "n1", &call("GET", "/api/v1/cluster", "victor"));
    assert_eq!(status, 200, "{body}");
    let view = json(&body);
    assert_eq!(view["nodes"].as_array().map(Vec::len), Some(3), "{body}");
    // Each node's UI address, from its daemon LSA.
    wait_for(Duration::from_secs(5), || {
        let (_, body) = send(&c, &certs, "n1", &call("GET", "/api/v1/cluster", "victor"));
        let nodes = json(&body)["nodes"].clone();
        ["n1", "n2", "n3"].iter().all(|n| {
            nodes.as_array().into_iter().flatten().any(|v| {
                v["name"] == *n && v["web"] == format!("{}:{PORT}", lan_address(n)).as_str()
            })
        })
    })
    .unwrap_or_else(|| {
        let (_, body) = send(&c, &certs, "n1", &call("GET", "/api/v1/cluster", "victor"));
        panic!("UI addresses missing from the view: {body}")
    });

    // A viewer changes nothing, on every mutating route.
    for (method, path, body) in mutating_routes() {
        let mut request = call(method, path, "victor");
        request.body = body.map(str::to_string);
        let (status, answer) = send(&c, &certs, "n1", &request);
        assert_eq!(status, 403, "viewer {method} {path}: {answer}");
        assert!(json(&answer)["error"].is_string());
    }
    // CSRF: no custom header, or a foreign Origin.
    let mut request = call("POST", "/api/v1/services/web/start", "alice");
    request.headers.clear();
    assert_eq!(send(&c, &certs, "n1", &request).0, 403);
    let mut request = call("POST", "/api/v1/services/web/start", "alice");
    request.headers.push("Origin: https://evil.example".into());
    assert_eq!(send(&c, &certs, "n1", &request).0, 403);
    let mut request = call("POST", "/api/v1/services/web/start", "alice");
    request
        .headers
        .push(format!("Origin: https://127.0.0.1:{PORT}"));
    assert_eq!(send(&c, &certs, "n1", &request).0, 200, "same-origin start");

    // Bad requests: 413, 400, 404, and the engine's own refusal (409).
    let mut request = call("POST", "/api/v1/config/services", "alice");
    request.body = Some(format!("{{\"name\":\"{}\"}}", "x".repeat(70_000)));
    assert_eq!(send(&c, &certs, "n1", &request).0, 413);
    request.body = Some("{\"name\":".into());
    assert_eq!(send(&c, &certs, "n1", &request).0, 400);
    assert_eq!(
        send(
            &c,
            &certs,
            "n1",
            &call("POST", "/api/v1/services/nope/activate", "alice")
        )
        .0,
        404
    );
    assert_eq!(
        send(
            &c,
            &certs,
            "n1",
            &call("GET", "/api/v1/services/nope", "alice")
        )
        .0,
        404
    );
    // The looking glass and the routing allow-list, read by a viewer.
    let (status, body) = send(&c, &certs, "n1", &call("GET", "/api/v1/lsdb", "victor"));
    let db = json(&body);
    assert_eq!(status, 200, "{body}");
    assert!(
        db["router"].as_array().is_some_and(|r| r.len() >= 2),
        "{body}"
    );
    assert!(
        db["opaque"].as_array().is_some_and(|o| !o.is_empty()),
        "{body}"
    );
    let (status, body) = send(&c, &certs, "n1", &call("GET", "/api/v1/routing", "victor"));
    assert_eq!(status, 200, "{body}");
    assert!(
        json(&body)
            .as_array()
            .is_some_and(|l| l.iter().any(|c| c["id"] == "ospf-neighbor")),
        "{body}"
    );
    let (status, body) = send(
        &c,
        &certs,
        "n1",
        &call("GET", "/api/v1/routing/nope", "victor"),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(
        &c,
        &certs,
        "n1",
        &call("POST", "/api/v1/services/web/clear-failed", "alice"),
    );
    assert_eq!(status, 409, "{body}");
    let mut request = call("POST", "/api/v1/services/web/move", "alice");
    request.body = Some(r#"{"node":"n2"}"#.into());
    let (status, body) = send(&c, &certs, "n1", &request);
    assert_eq!(
        (status, json(&body)["result"].as_str()),
        (409, Some("rejected")),
        "{body}"
    );

    // Configuration: create, read, refuse to edit the active web, delete.
    let config_path = c.lab().node_dir("n1").join("srrd.toml");
    let mut request = call("POST", "/api/v1/config/services", "alice");
    request.body = Some(
        r#"{"name":"extra","kind":"resource","primitives":"/bin/true","preference":7}"#.into(),
    );
    let (status, body) = send(&c, &certs, "n1", &request);
    assert_eq!(status, 200, "{body}");
    let saved = srrd::config::load(&config_path).expect("saved file is valid");
    assert!(saved
        .services
        .iter()
        .any(|s| s.name == "extra" && s.preference == 7));
    assert!(saved.web.is_some(), "[web] kept");
    let (status, body) = send(
        &c,
        &certs,
        "n1",
        &call("GET", "/api/v1/config/services/extra", "victor"),
    );
    assert_eq!((status, json(&body)["preference"].as_u64()), (200, Some(7)));
    let mut request = call("PUT", "/api/v1/config/services/web", "alice");
    request.body = Some(r#"{"name":"web","primitives":"/bin/true"}"#.into());
    assert_eq!(
        send(&c, &certs, "n1", &request).0,
        409,
        "web is active on n1"
    );
    assert_eq!(
        send(
            &c,
            &certs,
            "n1",
            &call("DELETE", "/api/v1/config/services/extra", "alice")
        )
        .0,
        200
    );
    assert!(!srrd::config::load(&config_path)
        .expect("valid")
        .services
        .iter()
        .any(|s| s.name == "extra"));

    // The status primitive's output.
    let (status, body) = send(
        &c,
        &certs,
        "n3",
        &call("GET", "/api/v1/services/web/status", "victor"),
    );
    assert_eq!(
        (status, json(&body)["result"].as_str()),
        (200, Some("ok")),
        "{body}"
    );

    // Live updates: an event stream on n1 sees the move happen.
    let mut stream = Command::new("curl");
    stream.args([
        "-sSN",
        "--max-time",
        "30",
        "--cacert",
        &certs.file("ca.crt"),
    ]);
    stream.args([
        "--cert",
        &certs.file("victor.crt"),
        "--key",
        &certs.file("victor.key"),
    ]);
    stream.arg(format!("https://127.0.0.1:{PORT}/api/v1/events"));
    let events = c.lab().spawn("n1", stream);

    // End to end: the operator moves web from n3 to n1 with `srrd ctl`.
    let (ok, out) = ctl(&c, &certs, "n3", &["move", "web", "n1"]);
    assert!(ok, "srrd ctl move: {out}");
    c.wait_served_by("n1", Duration::from_secs(20));
    wait_for(Duration::from_secs(10), || {
        let (_, body) = send(
            &c,
            &certs,
            "n1",
            &call("GET", "/api/v1/services/web", "victor"),
        );
        json(&body)["running_on"] == serde_json::json!(["10.255.0.11"])
    })
    .unwrap_or_else(|| panic!("the cluster view does not show web on n1\n{}", c.logs()));
    let (ok, table) = ctl(&c, &certs, "n1", &["status"]);
    assert!(
        ok && table
            .lines()
            .any(|l| l.starts_with("web") && l.contains("n1")),
        "{table}"
    );
    wait_for(Duration::from_secs(5), || {
        events
            .log_text()
            .lines()
            .any(|l| l.starts_with("data:") && l.contains(r#""running_on":["10.255.0.11"]"#))
    })
    .unwrap_or_else(|| panic!("no event showed web on n1:\n{}", events.log_text()));

    // SIGHUP reloads the TLS material: a server certificate without the
    // 127.0.0.1 SAN fails verification there, and is served on the LAN address.
    let pki = Command::new(SRRD)
        .args([
            "pki",
            "--dir",
            &certs.file(""),
            "server",
            "n1-new",
            "--ip",
            "198.51.100.11",
        ])
        .status()
        .expect("srrd pki");
    assert!(pki.success());
    std::fs::copy(certs.dir.join("n1-new.crt"), certs.dir.join("n1.crt")).expect("copy");
    std::fs::copy(certs.dir.join("n1-new.key"), certs.dir.join("n1.key")).expect("copy");
    c.lab().signal(c.srrd("n1"), common::lab::Signal::SIGHUP);
    wait_for(Duration::from_secs(5), || {
        send(&c, &certs, "n1", &call("GET", "/api/v1/whoami", "alice")).0 == 0
    })
    .unwrap_or_else(|| panic!("the old certificate is still served\n{}", c.logs()));
    let lan = c.lab().exec(
        "n1",
        &[
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            &certs.file("ca.crt"),
            "--cert",
            &certs.file("alice.crt"),
            "--key",
            &certs.file("alice.key"),
            &format!("https://198.51.100.11:{PORT}/api/v1/whoami"),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&lan.stdout),
        "200",
        "new certificate on the LAN address"
    );

    // Every change was audited with the certificate subject.
    let log = c.srrd("n1").log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("audit") && l.contains("CN=victor") && l.contains("refused")),
        "no audit line"
    );
}

/// Pinned: the command-line flags below are this version's.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// schemathesis in a venv under target/, installed once; `None` (after a
/// loud message) only if it cannot be installed here.
fn schemathesis() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    let bin = venv.join("bin/schemathesis");
    if bin.exists() {
        return Some(bin);
    }
    let run = |cmd: &mut Command| cmd.status().map(|s| s.success()).unwrap_or(false);
    let installed = run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        && run(Command::new(venv.join("bin/pip")).args(["install", "-q", SCHEMATHESIS]));
    if installed && bin.exists() {
        Some(bin)
    } else {
        eprintln!(
            "\n!!!!! SKIPPED: cannot install {SCHEMATHESIS} into {} (needs python3-venv and PyPI) !!!!!\n",
            venv.display()
        );
        let _ = std::fs::remove_dir_all(&venv);
        None
    }
}

#[test]
fn schemathesis_finds_no_server_error_or_schema_violation() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let certs = std::cell::OnceCell::new();
    let mut c = Cluster::with_extra([100, 100, 100], |lab, node, config| {
        certs
            .get_or_init(|| Certs::new(lab))
            .configure(node, config)
    });
    let certs = certs.into_inner().expect("certificates made");
    c.start_srrd("n1");
    wait_api(&c, &certs, "n1");
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
    let config_path = c.lab().node_dir("n1").join("srrd.toml");
    let run = |who: &str, exclude: &str| {
        let work = c.lab().dir().join(format!("schemathesis-{who}"));
        std::fs::create_dir_all(&work).expect("work dir");
        let (cert, key, ca) = (
            certs.file(&format!("{who}.crt")),
            certs.file(&format!("{who}.key")),
            certs.file("ca.crt"),
        );
        let url = format!("https://127.0.0.1:{PORT}");
        let script = format!(
            "cd {work} && {bin} run {schema} --url {url} --tls-verify {ca} \
             --request-cert {cert} --request-cert-key {key} --checks all \
             --exclude-checks positive_data_acceptance --exclude-path-regex '{exclude}' --max-examples 20 --seed 1 \
             --report junit --report-dir {work}",
            work = work.display(),
            bin = schemathesis.display(),
        );
        let out = c.lab().exec("n1", &["sh", "-c", &script]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "schemathesis as {who}:\n{text}\n{}",
            c.logs()
        );
    };
    // Not fuzzed: the endless event stream; routing commands, which run
    // vtysh (the glass test covers them against real FRR).
    // Not checked: that every schema-valid body is accepted — the rules
    // between fields are the config module's, answered 400 by field.
    let always = "^/api/v1/(events|routing/.*)$";
    let before = std::fs::read_to_string(&config_path).expect("config");
    run("victor", always);
    assert_eq!(
        std::fs::read_to_string(&config_path).expect("config"),
        before,
        "a viewer changed the configuration file"
    );
    let (_, body) = send(
        &c,
        &certs,
        "n1",
        &call("GET", "/api/v1/services/web", "victor"),
    );
    assert_eq!(json(&body)["nodes"][0]["intent"], "active", "{body}");
    // An operator may do anything but end the node under test.
    run("alice", "^/api/v1/(events|routing/.*|node/shutdown)$");
}
