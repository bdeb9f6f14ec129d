"""Drives the app through its main states and saves a screenshot of each."""
import json
import os
import sys
import time
import urllib.error
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
    """Creates a key through the dialog; returns the revealed key."""
    b.go(tab)
    b.click("[data-open-dialog=create-dialog]")
    b.type("#key-name", name)
    b.click("#create-dialog button[type=submit]")
    b.wait_for("#full-key, .field-error, .flash-error")
    return b.js("const k = document.getElementById('full-key'); return k ? k.value : null")


def send(key, n, origin_ua="Zapier", bad=0):
    """n accepted events and `bad` rejected ones (an invalid currency), as an integration sends them."""
    for i in range(n + bad):
        currency = "EUR" if i < n else "EURO"
        body = json.dumps({"email": f"buyer{i}@example.com", "event": "purchase", "value": "49.90", "currency": currency}).encode()
        req = urllib.request.Request(f"{base}/__cc/inbound", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-CC-Api-Key": key, "User-Agent": origin_ua})
        try:
            urllib.request.urlopen(req).read()
        except urllib.error.HTTPError:
            pass  # the rejected ones: they show up as rejected deliveries


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
    send(key, 12, "Zapier", bad=2)
    keys = {name: create(name) for name in ["HubSpot workflow", "Backend (orders service)", "n8n – lead sync"]}
    send(keys["HubSpot workflow"], 5, "HubSpot Connect 2.0 (https://www.hubspot.com)")
    send(keys["Backend (orders service)"], 7, "python-requests/2.32.3")
    # Revoke n8n's key, then let n8n call it anyway: the tab's banner.
    b.go(tab)
    revoke = b.js("""const row = Array.from(document.querySelectorAll('table.keys tbody tr'))
                       .find(r => r.textContent.includes(arguments[0]));
                     return row.querySelector('a[href$="/revoke"]').getAttribute('href');""", "n8n – lead sync")
    b.go(base + revoke)  # the confirmation page (the dialog's no-JavaScript twin)
    b.click(f"form[action='{revoke}'] button[type=submit]")
    b.wait_for(".flash")
    send(keys["n8n – lead sync"], 3, "n8n")
    time.sleep(0.6)  # usage is recorded off the request path, every 200 ms
    b.go(tab)
    shot("tab")
    b.click("a[href$='/revoke']")
    b.wait_for("#confirm-dialog[open] button[type=submit]")
    shot("revoke-dialog")
    b.go(tab)
    detail = b.js("""return Array.from(document.querySelectorAll('th.key-name a'))
                       .find(a => a.textContent.includes(arguments[0])).getAttribute('href');""", "Zapier")
    b.go(base + detail)
    b.wait_for("table")
    shot("detail")
    create("Make scenario")
    b.go(tab)
    shot("limit")
    b.resize(375, 812)
    b.go(tab)
    shot("mobile")
finally:
    b.quit()
