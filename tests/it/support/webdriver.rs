//! A tiny W3C WebDriver client over reqwest, driving Debian's headless
//! Chromium through chromedriver: just the commands the page's tests use.
//! No mock anywhere: a real browser renders the real server's pages and
//! runs their real script.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The key of an element reference in WebDriver JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Only a guard against hanging forever, never a speed assertion.
pub const PATIENCE: Duration = Duration::from_secs(90);

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// Chromium and its driver, or a failure that says how to get them: the
/// browser tests never pass silently on a machine without a browser.
pub fn require_chromium() -> (PathBuf, PathBuf) {
    let browser = std::env::var_os("SHENHE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| find_binary(&["chromium", "chromium-browser"]));
    let driver = std::env::var_os("SHENHE_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find_binary(&["chromedriver"]));
    match (browser, driver) {
        (Some(b), Some(d)) => (b, d),
        (b, d) => panic!(
            "the browser tests need Chromium and chromedriver (found chromium: {}, chromedriver: {}). \
             Run .ci/run, which installs them, or `apt-get install chromium chromium-driver`.",
            b.is_some(),
            d.is_some()
        ),
    }
}

/// chromedriver on a free loopback port, ended on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    /// chromedriver and the Chromium it started share a process group of
    /// their own: ending the group leaves no browser behind, even when a
    /// test failed before `quit`.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub struct Browser {
    http: reqwest::Client,
    base: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A fresh headless Chromium (its own profile folder) at `w`×`h`.
    pub async fn start(w: u32, h: u32) -> Browser {
        let (chromium, chromedriver) = require_chromium();
        let port = free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client");
        let started = Instant::now();
        loop {
            let up = http.get(format!("{}/status", driver.url)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--lang=zh-CN".into(),
            format!("--window-size={w},{h}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.to_string_lossy(), "args": args},
        }}});
        let r: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        let base = format!("{}/session/{id}", driver.url);
        let b = Browser {
            http,
            base,
            _driver: driver,
            _profile: profile,
        };
        b.resize(w, h).await;
        b
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver json");
        if let Some(err) = r["value"]["error"].as_str() {
            panic!("WebDriver {path}: {err}: {}", r["value"]["message"]);
        }
        r["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn resize(&self, w: u32, h: u32) {
        self.post("/window/rect", json!({"width": w, "height": h}))
            .await;
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Run `script` (a function body; `arguments` are `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Elements matching a CSS selector.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        let v = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        v.as_array()
            .map(|a| a.iter().filter_map(Element::from_json).collect())
            .unwrap_or_default()
    }

    pub async fn find(&self, css: &str) -> Element {
        self.all(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css}"))
    }

    /// The form control whose `<label>` reads exactly `text`, as a person
    /// (or a screen reader) finds it.
    pub async fn labelled(&self, text: &str) -> Option<Element> {
        let v = self
            .js(
                "const t = arguments[0];\
                 const l = [...document.querySelectorAll('label')].find(l => l.textContent.trim() === t);\
                 return l ? l.control : null;",
                vec![json!(text)],
            )
            .await;
        Element::from_json(&v)
    }

    /// Every label's text, for assertions about which slots exist.
    pub async fn labels(&self) -> Vec<String> {
        let v = self
            .js(
                "return [...document.querySelectorAll('label')].map(l => l.textContent.trim());",
                vec![],
            )
            .await;
        serde_json::from_value(v).unwrap_or_default()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.js("return document.body.innerText;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await;
    }

    /// Choose a file in a file input, as the file picker would.
    pub async fn choose_file(&self, e: &Element, path: &Path) {
        self.type_into(e, &path.display().to_string()).await;
    }

    /// The first button whose text (or accessible label) contains `name`
    /// and that is shown, optionally inside `scope` (a CSS selector).
    pub async fn button(&self, scope: &str, name: &str) -> Option<Element> {
        let v = self
            .js(
                "const [scope, name] = arguments;\
                 const root = document.querySelector(scope) || document;\
                 return [...root.querySelectorAll('button')].find(b =>\
                   (b.textContent.includes(name) || (b.getAttribute('aria-label') || '').includes(name))\
                   && b.offsetParent !== null && !b.disabled) || null;",
                vec![json!(scope), json!(name)],
            )
            .await;
        Element::from_json(&v)
    }

    /// Poll `script` (returning a truthy value when done) until it is.
    pub async fn wait(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.js(script, vec![]).await;
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            if started.elapsed() > PATIENCE {
                panic!("waited for {what}; the page shows:\n{}", self.text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until the page's text contains `needle`.
    pub async fn wait_text(&self, needle: &str) {
        let script = format!(
            "return document.body && document.body.innerText.includes({});",
            json!(needle)
        );
        self.wait(&format!("text {needle:?}"), &script).await;
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("png base64")
    }

    /// Press keys on whatever has the focus (WebDriver key codes: Tab is
    /// `\u{E004}`, Enter `\u{E007}`, Escape `\u{E00C}`).
    pub async fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|k| {
                [
                    json!({"type": "keyDown", "value": k.to_string()}),
                    json!({"type": "keyUp", "value": k.to_string()}),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// Chromium's network throttling (for the "upload in progress" shot).
    pub async fn throttle(&self, upload_bytes_per_s: u64) {
        self.network(false, upload_bytes_per_s).await;
    }

    /// Take the browser off the network (or back on it, unthrottled).
    pub async fn offline(&self, off: bool) {
        self.network(off, 100_000_000).await;
    }

    async fn network(&self, offline: bool, upload_bytes_per_s: u64) {
        self.post(
            "/chromium/network_conditions",
            json!({"network_conditions": {"offline": offline, "latency": 20,
                "download_throughput": 100_000_000, "upload_throughput": upload_bytes_per_s}}),
        )
        .await;
    }

    pub async fn quit(self) {
        let _ = self.http.delete(self.base.clone()).send().await;
    }
}

/// A reference to an element of the page.
#[derive(Debug, Clone)]
pub struct Element(pub String);

impl Element {
    fn from_json(v: &Value) -> Option<Element> {
        v.get(ELEMENT)
            .and_then(Value::as_str)
            .map(|s| Element(s.to_string()))
    }

    pub fn json(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}
