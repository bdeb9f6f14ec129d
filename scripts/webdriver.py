"""A minimal W3C WebDriver client (standard library only) for Debian's chromedriver.

Used by scripts/screenshots; keeps the project free of browser-downloading tools."""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Browser:
    def __init__(self, width=1280, height=900):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="cc-chromium-")
        self.driver = subprocess.Popen(
            ["chromedriver", f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self._call("GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        args = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic", f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1",
        ]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": shutil.which("chromium") or "/usr/bin/chromium", "args": args}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}").get("value")

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def find(self, css):
        try:
            found = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        except urllib.error.HTTPError:
            found = None
        if not isinstance(found, dict) or ELEMENT not in found:
            url = self.cmd("GET", "/url")
            text = self.js("return document.body ? document.body.innerText.slice(0, 400) : ''")
            raise RuntimeError(f"no element {css!r} on {url}: {text}")
        return found[ELEMENT]

    def wait_for(self, css, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.js("return document.querySelector(arguments[0]) !== null", css):
                return
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {css!r} on {self.cmd('GET', '/url')}")

    def type(self, css, text):
        el = self.find(css)
        self.cmd("POST", f"/element/{el}/clear", {})
        self.cmd("POST", f"/element/{el}/value", {"text": text})

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def resize(self, width, height):
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def quit(self):
        try:
            self.cmd("DELETE", "")
        finally:
            self.driver.terminate()
            shutil.rmtree(self.profile, ignore_errors=True)
