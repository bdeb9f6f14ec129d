//! A small W3C WebDriver client for Debian's `chromedriver` + `chromium`, over reqwest.
//!
//! Each [`Browser`] starts its own chromedriver (in a process group of its own, on a
//! free loopback port) with a fresh profile directory. Dropping it ends the session,
//! kills the whole process group (chromedriver and every chromium process it
//! started) and removes the profile. If the test is panicking, a screenshot and the
//! page's text are saved under `target/browser-failures/` first.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C element reference key.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long the wait helpers wait by default: generous, as the suite runs in
/// parallel on two cores.
pub const WAIT: Duration = Duration::from_secs(15);

/// WebDriver key codes.
pub mod key {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SHIFT: &str = "\u{E008}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const SPACE: &str = "\u{E00D}";
}

#[derive(Clone, Debug)]
pub struct Options {
    pub javascript: bool,
    pub width: u32,
    pub height: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self { javascript: true, width: 1280, height: 900 }
    }
}

/// A reference to an element of the current page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element(pub String);

impl Element {
    fn from_value(value: &Value) -> Option<Self> {
        value.get(ELEMENT)?.as_str().map(|id| Element(id.to_owned()))
    }

    pub fn to_json(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}

/// An error answer from chromedriver (`error`, `message`).
#[derive(Debug)]
pub struct WdError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebDriver {} {}: {}", self.status, self.error, self.message)
    }
}

fn chromium_binary() -> String {
    if let Ok(path) = std::env::var("CC_CHROMIUM") {
        return path;
    }
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!(
        "\n\nchromium is not installed. Run `bash scripts/lib/browser.sh` (it installs Debian's \
         chromium and chromium-driver), or set CC_CHROMIUM.\n"
    )
}

fn chromedriver_binary() -> String {
    if let Ok(path) = std::env::var("CC_CHROMEDRIVER") {
        return path;
    }
    for candidate in ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!(
        "\n\nchromedriver is not installed. Run `bash scripts/lib/browser.sh` (it installs \
         Debian's chromium and chromium-driver), or set CC_CHROMEDRIVER.\n"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// chromedriver and its chromium processes, killed as a group on drop.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn spawn() -> Self {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let profile = std::env::temp_dir().join(format!("cc-browser-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).expect("profile directory");
        let child = Command::new(chromedriver_binary())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", profile.join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so one kill ends chromedriver and every browser
            // process it started, even if the test panics.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chromedriver: {e}"));
        Self { child, port, profile }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pgid = self.child.id();
        // Only the group of the chromedriver this test started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub struct Browser {
    http: reqwest::Client,
    driver: Driver,
    session: String,
    pub options: Options,
}

impl Browser {
    /// Starts chromedriver and a headless chromium session.
    pub async fn start(options: Options) -> Browser {
        let mut last_error = String::new();
        // A port taken between free_port() and chromedriver's bind: try another.
        for _ in 0..3 {
            let driver = Driver::spawn();
            match Self::connect(driver, options.clone()).await {
                Ok(browser) => return browser,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start a browser session: {last_error}")
    }

    async fn connect(driver: Driver, options: Options) -> Result<Browser, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let base = format!("http://127.0.0.1:{}", driver.port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await.ok().filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(driver.profile.join("chromedriver.log")).unwrap_or_default();
                return Err(format!("chromedriver did not answer on port {}: {}", driver.port, tail(&log, 2000)));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-quic".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-default-apps".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--password-store=basic".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={},{}", options.width, options.height),
            format!("--user-data-dir={}", driver.profile.join("profile").display()),
        ];
        let mut prefs = json!({
            "credentials_enable_service": false,
            "profile.password_manager_enabled": false,
            "profile.password_manager_leak_detection": false,
        });
        if !options.javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let mut chrome = json!({
            "binary": chromium_binary(),
            "args": args,
            "prefs": prefs,
            "excludeSwitches": ["enable-automation"],
        });
        if options.width < 500 {
            // Headless windows are at least 500 px wide: emulate a narrower screen.
            chrome["mobileEmulation"] = json!({ "deviceMetrics": {
                "width": options.width, "height": options.height, "pixelRatio": 1.0,
                "mobile": false, "touch": false,
            }});
        }
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "unhandledPromptBehavior": "dismiss",
                    "timeouts": { "script": 30_000, "pageLoad": 30_000, "implicit": 0 },
                    "goog:chromeOptions": chrome,
                }
            }
        });
        let response = http.post(format!("{base}/session")).json(&caps).send().await.map_err(|e| e.to_string())?;
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        let session = body["value"]["sessionId"].as_str().ok_or_else(|| format!("no session: {body}"))?.to_owned();
        Ok(Browser { http, driver, session, options })
    }

    fn session_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/session/{}{}", self.driver.port, self.session, path)
    }

    /// One WebDriver command; the `value` of its answer, or its error.
    pub async fn try_cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let mut request = self.http.request(method.clone(), self.session_url(path));
        if let Some(body) = body {
            request = request.json(&body);
        } else if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let response = request.send().await.map_err(|e| WdError {
            status: 0,
            error: "transport".into(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.map_err(|e| WdError {
            status,
            error: "bad answer".into(),
            message: e.to_string(),
        })?;
        let value = body.get("value").cloned().unwrap_or(Value::Null);
        if status >= 400 {
            return Err(WdError {
                status,
                error: value["error"].as_str().unwrap_or("unknown").to_owned(),
                message: value["message"].as_str().unwrap_or_default().lines().next().unwrap_or_default().to_owned(),
            });
        }
        Ok(value)
    }

    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_cmd(method.clone(), path, body).await {
            Ok(value) => value,
            Err(e) => panic!("{method} {path}: {e}\n{}", self.describe().await),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    // ---- navigation -------------------------------------------------------------

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn back(&self) {
        self.post("/back", json!({})).await;
    }

    pub async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height })).await;
    }

    /// Grants a permission (e.g. `clipboard-read`) to the current page's origin.
    pub async fn grant(&self, permission: &str) {
        self.post("/permissions", json!({ "descriptor": { "name": permission }, "state": "granted" })).await;
    }

    // ---- scripts ----------------------------------------------------------------

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    pub async fn try_js(&self, script: &str, args: Vec<Value>) -> Result<Value, WdError> {
        self.try_cmd(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1](result)` when done.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    pub async fn js_string(&self, script: &str, args: Vec<Value>) -> String {
        match self.js(script, args).await {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    pub async fn js_bool(&self, script: &str, args: Vec<Value>) -> bool {
        self.js(script, args).await.as_bool().unwrap_or(false)
    }

    /// The element a script returns, if any.
    pub async fn js_element(&self, script: &str, args: Vec<Value>) -> Option<Element> {
        Element::from_value(&self.js(script, args).await)
    }

    // ---- elements ---------------------------------------------------------------

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let found = self
            .try_cmd(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css })))
            .await
            .ok()?;
        Element::from_value(&found)
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(el) = self.try_find(css).await {
                return el;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for an element {css:?}\n{}", self.describe().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, el: &Element) {
        self.post(&format!("/element/{}/click", el.0), json!({})).await;
    }

    pub async fn clear(&self, el: &Element) {
        self.post(&format!("/element/{}/clear", el.0), json!({})).await;
    }

    /// Types into an element (WebDriver "Element Send Keys": focuses it first).
    pub async fn type_into(&self, el: &Element, text: &str) {
        self.post(&format!("/element/{}/value", el.0), json!({ "text": text })).await;
    }

    pub async fn property(&self, el: &Element, name: &str) -> Value {
        self.cmd(reqwest::Method::GET, &format!("/element/{}/property/{name}", el.0), None).await
    }

    pub async fn text(&self, el: &Element) -> String {
        self.cmd(reqwest::Method::GET, &format!("/element/{}/text", el.0), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn is_enabled(&self, el: &Element) -> bool {
        self.cmd(reqwest::Method::GET, &format!("/element/{}/enabled", el.0), None).await.as_bool().unwrap_or(false)
    }

    pub async fn is_displayed(&self, el: &Element) -> bool {
        self.cmd(reqwest::Method::GET, &format!("/element/{}/displayed", el.0), None).await.as_bool().unwrap_or(false)
    }

    pub async fn active_element(&self) -> Option<Element> {
        let value = self.try_cmd(reqwest::Method::GET, "/element/active", None).await.ok()?;
        Element::from_value(&value)
    }

    // ---- keyboard ---------------------------------------------------------------

    /// Presses and releases each key of `keys` in turn (a string of characters
    /// and/or [`key`] codes), sent to whatever has focus: the keyboard, nothing else.
    pub async fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for c in keys.chars() {
            let value = c.to_string();
            actions.push(json!({ "type": "keyDown", "value": value }));
            actions.push(json!({ "type": "keyUp", "value": value }));
        }
        self.post("/actions", json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })).await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Shift+Tab.
    pub async fn shift_tab(&self) {
        let actions = json!([
            { "type": "keyDown", "value": key::SHIFT },
            { "type": "keyDown", "value": key::TAB },
            { "type": "keyUp", "value": key::TAB },
            { "type": "keyUp", "value": key::SHIFT },
        ]);
        self.post("/actions", json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })).await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    // ---- waiting ----------------------------------------------------------------

    /// Waits until `script` returns a truthy value, and returns that value.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            // A navigation may be under way: an error here is just "not yet".
            if let Ok(value) = self.try_js(script, args.clone()).await
                && truthy(&value)
            {
                return value;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}\n{}", self.describe().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page's URL path is `path` (query and fragment ignored).
    pub async fn wait_path(&self, path: &str) {
        self.wait_js(
            &format!("the page {path}"),
            "return location.pathname === arguments[0] && document.readyState !== 'loading';",
            vec![json!(path)],
        )
        .await;
    }

    // ---- diagnostics ------------------------------------------------------------

    /// The current URL and the start of the page's text, for failure messages.
    pub async fn describe(&self) -> String {
        let url = self
            .try_cmd(reqwest::Method::GET, "/url", None)
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let text = self
            .try_js("return document.body ? document.body.innerText : ''", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("  at {url}\n  page text: {}", tail(&text, 1500))
    }

    pub async fn screenshot_png(&self) -> Vec<u8> {
        use base64::Engine;
        let data = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).unwrap_or_default()
    }

    /// A blocking request to chromedriver, for Drop (no async there).
    fn blocking_request(&self, method: &str, path: &str) -> Option<Value> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.driver.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        let body = if method == "POST" { "{}" } else { "" };
        let request = format!(
            "{method} /session/{}{path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.session,
            self.driver.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        // Read the head, then exactly Content-Length bytes: chromedriver may keep
        // the connection open whatever `Connection: close` says.
        let mut raw = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let (head, body_start) = loop {
            let n = stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break (String::from_utf8_lossy(&raw[..i]).to_ascii_lowercase(), i + 4);
            }
        };
        let length =
            head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
        while length.is_none_or(|len| raw.len() - body_start < len) {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        let body = String::from_utf8_lossy(&raw[body_start..]).into_owned();
        let body = if head.contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
        serde_json::from_str::<Value>(&body).ok().map(|v| v["value"].clone())
    }

    fn save_failure_artifacts(&self) {
        use base64::Engine;
        let name = std::thread::current().name().unwrap_or("browser-test").replace("::", "-");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-failures");
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        if let Some(png) = self
            .blocking_request("GET", "/screenshot")
            .and_then(|v| v.as_str().map(str::to_owned))
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        {
            let path = dir.join(format!("{name}.png"));
            if std::fs::write(&path, png).is_ok() {
                eprintln!("browser test failed: screenshot at {}", path.display());
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.save_failure_artifacts();
        }
        // End the session cleanly (chromedriver closes chromium), then the group kill
        // in Driver::drop takes whatever is left.
        let _ = self.blocking_request("DELETE", "");
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn tail(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        text.to_owned()
    } else {
        format!("…{}", chars[chars.len() - max..].iter().collect::<String>())
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let (Some(chunk), Some(next)) = (after.get(..size), after.get(size..)) else {
            break;
        };
        if size == 0 {
            break;
        }
        out.push_str(chunk);
        rest = next.trim_start_matches("\r\n");
    }
    out
}
