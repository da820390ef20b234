//! The web UI (docs/ui.md): plain HTML, CSS and ES modules embedded in the
//! binary, served by the HTTPS server's router for `/` and `/ui/*`. The UI
//! is a client of the JSON API under `/api/v1`; nothing here reads the
//! engine.

/// One embedded file of the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// A GET of `path` answered from the UI's files (with [`HEADERS`]), or
/// `None` when the path is not the UI's: the router calls this before its
/// API routes.
pub fn response(
    method: &hyper::Method,
    path: &str,
) -> Option<hyper::Response<http_body_util::Full<hyper::body::Bytes>>> {
    if method != hyper::Method::GET && method != hyper::Method::HEAD {
        return None;
    }
    let file = asset(path)?;
    let mut response = hyper::Response::new(http_body_util::Full::new(
        hyper::body::Bytes::from_static(file.body),
    ));
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(file.content_type),
    );
    for (name, value) in HEADERS {
        headers.insert(*name, hyper::header::HeaderValue::from_static(value));
    }
    Some(response)
}

/// Every file under `files/`, by its path below `/ui/`.
const FILES: &[(&str, &str, &[u8])] = &[
    ("index.html", HTML, include_bytes!("files/index.html")),
    ("style.css", CSS, include_bytes!("files/style.css")),
    ("favicon.svg", SVG, include_bytes!("files/favicon.svg")),
    ("js/actions.js", JS, include_bytes!("files/js/actions.js")),
    ("js/api.js", JS, include_bytes!("files/js/api.js")),
    ("js/app.js", JS, include_bytes!("files/js/app.js")),
    ("js/config.js", JS, include_bytes!("files/js/config.js")),
    ("js/dom.js", JS, include_bytes!("files/js/dom.js")),
    ("js/glass.js", JS, include_bytes!("files/js/glass.js")),
    ("js/live.js", JS, include_bytes!("files/js/live.js")),
    ("js/node.js", JS, include_bytes!("files/js/node.js")),
    ("js/routing.js", JS, include_bytes!("files/js/routing.js")),
    ("js/service.js", JS, include_bytes!("files/js/service.js")),
    ("js/status.js", JS, include_bytes!("files/js/status.js")),
    ("js/whatif.js", JS, include_bytes!("files/js/whatif.js")),
];

/// Headers for every UI response: the page loads only its own files and
/// talks only to its own origin (switching nodes navigates, it does not
/// fetch across origins), and no other site may frame it.
pub const HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-cache"),
];

/// The file for a request path: `/` and `/ui/` are the single page (its
/// views live in the URL fragment), `/ui/<file>` one of its files. `None`
/// is a 404. The query string must already be cut off.
pub fn asset(path: &str) -> Option<Asset> {
    let name = match path {
        "/" | "/ui" | "/ui/" => "index.html",
        _ => path.strip_prefix("/ui/")?,
    };
    FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|&(_, content_type, body)| Asset { content_type, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn files_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/ui/files")
    }

    fn on_disk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                on_disk(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    #[test]
    fn every_file_on_disk_is_served_and_nothing_else() {
        let mut disk = Vec::new();
        on_disk(&files_dir(), "", &mut disk);
        disk.sort();
        let mut served: Vec<String> = FILES.iter().map(|(f, _, _)| f.to_string()).collect();
        served.sort();
        assert_eq!(disk, served);
    }

    #[test]
    fn the_page_is_served_at_the_root_and_under_ui() {
        for path in ["/", "/ui", "/ui/", "/ui/index.html"] {
            let page = asset(path).unwrap();
            assert_eq!(page.content_type, HTML, "{path}");
            assert!(page.body.starts_with(b"<!doctype html>"), "{path}");
        }
        assert_eq!(asset("/ui/js/app.js").unwrap().content_type, JS);
    }

    #[test]
    fn a_response_carries_the_type_and_the_security_headers() {
        let page = response(&hyper::Method::GET, "/").unwrap();
        assert_eq!(page.headers()["content-type"], HTML);
        assert!(page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert!(response(&hyper::Method::POST, "/").is_none());
        assert!(response(&hyper::Method::GET, "/api/v1/cluster").is_none());
    }

    #[test]
    fn unknown_and_escaping_paths_are_not_found() {
        for path in [
            "",
            "/index.html",
            "/ui/nope.js",
            "/ui/../mod.rs",
            "/ui/js/../../mod.rs",
            "/api/v1/cluster",
            "/ui//js/app.js",
        ] {
            assert_eq!(asset(path), None, "{path}");
        }
    }

    /// Every module a page imports and every file index.html links is
    /// embedded: a missing one would only show as a blank page.
    #[test]
    fn every_import_and_link_resolves_to_an_embedded_file() {
        for (file, _, body) in FILES {
            let text = std::str::from_utf8(body).unwrap();
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
            for target in references(text) {
                let resolved = resolve(dir, &target);
                assert!(
                    asset(&format!("/ui/{resolved}")).is_some(),
                    "{file} refers to {target} ({resolved}), which is not embedded"
                );
            }
        }
    }

    /// `from "./x.js"`, `import("./x.js")`, `href="/ui/x"`, `src="/ui/x"`.
    fn references(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for marker in ["from \"", "import(\"", "href=\"/ui/", "src=\"/ui/"] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                if let Some(end) = rest.find('"') {
                    let target = &rest[..end];
                    if marker.contains("/ui/") {
                        out.push(format!("/{target}"));
                    } else {
                        out.push(target.to_string());
                    }
                }
            }
        }
        out
    }

    fn resolve(dir: &str, target: &str) -> String {
        if let Some(root) = target.strip_prefix('/') {
            return root.to_string();
        }
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        parts.join("/")
    }
}
