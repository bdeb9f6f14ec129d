#!/usr/bin/env python3
"""Signs in and creates an inbound key through the product's own forms, as a person would.

    session.py BASE_URL EMAIL PASSWORD DOMAIN KEY_NAME   -> {"key": "cc_…", "bad_key": "cc_…", "cookie": "name=value"}
    session.py --count-keys BASE_URL DOMAIN COOKIE        -> how many keys the tab's first page links to

The flow is the one tests/api/helpers.rs uses: GET /login (csrf_token) → POST /login →
GET the keys tab (csrf_token + form_token of the create form) → POST the tab with a
name → the 200 page reveals the key once. Standard library only.
"""

import http.cookiejar
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import zlib
from html.parser import HTMLParser

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_RE = re.compile(r"cc_[0-9A-Za-z]{38}(?![0-9A-Za-z])")


class Forms(HTMLParser):
    """Every POST form's action and its inputs' values."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self.current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.current = {"action": attrs.get("action") or "", "method": (attrs.get("method") or "").lower(), "inputs": {}}
            self.forms.append(self.current)
        elif tag == "input" and self.current is not None and attrs.get("name"):
            self.current["inputs"].setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def forms_of(html):
    parser = Forms()
    parser.feed(html)
    return parser.forms


def checksum(body):
    n = zlib.crc32(body.encode())
    out = []
    for _ in range(6):
        out.append(BASE62[n % 62])
        n //= 62
    return "".join(reversed(out))


def fail(message):
    print(f"session.py: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--count-keys":
        _, _, base, domain, cookie = sys.argv
        request = urllib.request.Request(f"{base}/configuration/{domain}/inbound-keys", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as response:
            html = response.read().decode()
        ids = set(re.findall(r"inbound-keys/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", html))
        print(len(ids))
        return
    if len(sys.argv) != 6:
        fail(__doc__)
    _, base, email, password, domain, name = sys.argv
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(path):
        with opener.open(base + path, timeout=30) as response:
            return response.status, response.read().decode()

    def post(path, fields):
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, base + path, e.read().decode(errors="replace")

    _, page = get("/login")
    login = next((f for f in forms_of(page) if "csrf_token" in f["inputs"]), None)
    if not login:
        fail("the login page has no form with a csrf_token")
    status, url, _ = post("/login", {"email": email, "password": password, "csrf_token": login["inputs"]["csrf_token"]})
    if status != 200 or url.rstrip("/").endswith("/login"):
        fail(f"sign-in failed (status {status}, ended at {url})")

    tab = f"/configuration/{domain}/inbound-keys"
    _, page = get(tab)
    create = next((f for f in forms_of(page) if f["method"] == "post" and f["action"].endswith("/inbound-keys")), None)
    if not create or "csrf_token" not in create["inputs"] or "form_token" not in create["inputs"]:
        fail("the keys tab has no create form with csrf_token and form_token")
    status, _, page = post(tab, {"name": name, "csrf_token": create["inputs"]["csrf_token"], "form_token": create["inputs"]["form_token"]})
    if status != 200:
        fail(f"creating the key answered {status}")
    match = KEY_RE.search(page)
    if not match:
        fail("the reveal page shows no key")
    key = match.group(0)
    if checksum(key[:35]) != key[35:]:
        fail("the revealed key's checksum does not verify (has the key format changed?)")
    # Same shape, last character changed: the checksum no longer matches.
    bad_key = key[:-1] + ("B" if key[-1] == "A" else "A")
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    print(json.dumps({"key": key, "bad_key": bad_key, "cookie": cookie}))


if __name__ == "__main__":
    main()
