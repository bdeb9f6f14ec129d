#![allow(clippy::unwrap_used)]
//! Real-browser tests of the admin app: headless Debian chromium driven over W3C
//! WebDriver (chromedriver), against the in-process server of the API tests' harness.
//! Needs `bash scripts/lib/browser.sh` first (chromium, chromedriver, axe-core; it
//! prints the CC_AXE_JS to export).

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
mod support;
#[allow(dead_code)]
mod webdriver;

mod accessibility;
mod keyboard;
mod keys_flow;
mod no_javascript;
mod plan_limit;
mod responsive;
