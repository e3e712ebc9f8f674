#!/usr/bin/env bash
# Migration lint, as the Maven build runs it: install the pinned squawk, then lint the changelog.
# Node.js is not part of "a JDK and Maven": without node/npm the lint is skipped with a notice on a
# developer machine, but CI (CI=true) must lint, so there it is an error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "migration lint: node and npm are required in CI (CI=$CI) but are not on the PATH" >&2
    exit 1
  fi
  echo "migration lint SKIPPED: node/npm not on the PATH (install Node.js 18+ to lint locally; CI always lints)" >&2
  exit 0
fi
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
exec node "$here/lint-changelog.mjs" "$@"
