#!/usr/bin/env bash
# The headless browser of the status-page test (StatusPageTest): Debian's chromium and chromium-driver, installed by
# the build itself (a Maven step before the tests) when missing, so that a fresh machine with a JDK and Maven passes
# `mvn -B verify`. Without root or apt-get it says so and goes on: the test then skips, or fails under CI=true.
set -uo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null | head -1), $(/usr/bin/chromedriver --version 2>/dev/null | head -1)"
  exit 0
fi
if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: chromium/chromedriver missing and cannot be installed here (needs root and apt-get); the status-page browser test will not run"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "browser: installing Debian's chromium and chromium-driver"
if ! apt-get install -y -q chromium chromium-driver >/tmp/opsmv-browser-install.log 2>&1; then
  apt-get update -q >>/tmp/opsmv-browser-install.log 2>&1
  apt-get install -y -q chromium chromium-driver >>/tmp/opsmv-browser-install.log 2>&1 || {
    echo "browser: apt-get install failed (tail of /tmp/opsmv-browser-install.log below); the status-page browser test will not run"
    tail -5 /tmp/opsmv-browser-install.log
    exit 0
  }
fi
echo "browser: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
