#!/usr/bin/env bash
# What the browser tests (tests/browser/) need: Debian's chromium + chromedriver and
# axe-core from the npm registry. Nothing here downloads a browser build of its own.
#
# Sourced:  `source scripts/lib/browser.sh; need_browser` installs what is missing and
#           exports CC_AXE_JS (path of axe.min.js), CC_CHROMIUM and CC_CHROMEDRIVER.
# Run:      `bash scripts/lib/browser.sh` does the same and prints the three
#           `export NAME=value` lines, so `eval "$(bash scripts/lib/browser.sh)"` works;
#           progress goes to stderr.

# Where axe-core is installed (under target/, so `cargo clean` removes it too).
CC_BROWSER_DEPS=${CC_BROWSER_DEPS:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/browser-deps"}
CC_AXE_VERSION=${CC_AXE_VERSION:-4}

_browser_say() { echo "$@" >&2; }

need_chromium() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  if ((${#missing[@]} == 0)); then return 0; fi
  _browser_say "==> installing ${missing[*]} (Debian packages, for the browser tests)"
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    # Install first from the lists we have; refresh them only if that fails.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
  else
    _browser_say "error: ${missing[*]} missing; install with: sudo apt-get install --no-install-recommends chromium chromium-driver"
    return 1
  fi
}

need_axe() {
  local axe="$CC_BROWSER_DEPS/node_modules/axe-core/axe.min.js"
  if [[ ! -s $axe ]]; then
    if ! command -v npm >/dev/null 2>&1; then
      _browser_say "error: npm is missing (needed to install axe-core for the accessibility tests); install Node.js 20 and npm"
      return 1
    fi
    _browser_say "==> installing axe-core@$CC_AXE_VERSION from the npm registry into $CC_BROWSER_DEPS"
    mkdir -p "$CC_BROWSER_DEPS"
    npm install --prefix "$CC_BROWSER_DEPS" --no-audit --no-fund --no-save --loglevel=error \
      "axe-core@$CC_AXE_VERSION" >&2
    if [[ ! -s $axe ]]; then
      _browser_say "error: npm finished but $axe is missing"
      return 1
    fi
  fi
  export CC_AXE_JS="$axe"
}

need_browser() {
  need_chromium || return 1
  need_axe || return 1
  CC_CHROMIUM=${CC_CHROMIUM:-$(command -v chromium)}
  CC_CHROMEDRIVER=${CC_CHROMEDRIVER:-$(command -v chromedriver)}
  export CC_CHROMIUM CC_CHROMEDRIVER
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  need_browser
  printf 'export CC_AXE_JS=%q\nexport CC_CHROMIUM=%q\nexport CC_CHROMEDRIVER=%q\n' \
    "$CC_AXE_JS" "$CC_CHROMIUM" "$CC_CHROMEDRIVER"
fi
