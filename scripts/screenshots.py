"""Drives the app through its main states and saves a screenshot of each."""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from webdriver import Browser  # noqa: E402

base, out = sys.argv[1], sys.argv[2]
tab = f"{base}/configuration/shop.example/inbound-keys"
b = Browser()


def shot(name):
    time.sleep(0.3)
    b.screenshot(os.path.join(out, f"{name}.png"))


def create(name):
    b.go(tab)
    b.click("[data-open-dialog=create-dialog]")
    b.type("#key-name", name)
    b.click("#create-dialog button[type=submit]")
    b.wait_for("#full-key, .field-error, .flash-error")


def send(key, n, origin_ua="Zapier"):
    for i in range(n):
        body = json.dumps({"email": f"buyer{i}@example.com", "event": "purchase", "value": "49.90", "currency": "EUR"}).encode()
        req = urllib.request.Request(f"{base}/__cc/inbound", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-CC-Api-Key": key, "User-Agent": origin_ua})
        urllib.request.urlopen(req).read()


try:
    b.go(f"{base}/login")
    shot("login")
    b.type("#email", "maria@acme.test")
    b.type("#password", "correct horse battery staple 9")
    b.click("form button[type=submit]")
    b.wait_for(".sidebar")
    b.go(tab)
    shot("empty")
    b.click("[data-open-dialog=create-dialog]")
    b.type("#key-name", "Zapier – order webhook")
    shot("create-dialog")
    b.click("#create-dialog button[type=submit]")
    b.wait_for("#full-key")
    shot("reveal")
    key = b.js("return document.getElementById('full-key').value")
    send(key, 3)
    for name in ["HubSpot workflow", "Backend (orders service)", "n8n – lead sync"]:
        create(name)
    b.go(tab)
    shot("tab")
    b.click("a[href$='/revoke']")
    b.wait_for("#confirm-dialog[open] button[type=submit]")
    shot("revoke-dialog")
    b.go(tab)
    create("Make scenario")
    b.go(tab)
    shot("limit")
    b.resize(375, 812)
    b.go(tab)
    shot("mobile")
finally:
    b.quit()
