#!/usr/bin/env bash
# Puts a Node.js >= 22.19 first on PATH, installing Node 24 LTS from the npm registry when the machine's is older.
#
# Sourced (`. scripts/ensure-node.sh`) it changes the caller's PATH; executed with a command
# (`scripts/ensure-node.sh vitest run`) it runs that command under the right Node.
# The system's Node is never touched: Node 24 goes into the git-ignored `.toolchain/` folder.

__br_min_major=22
__br_min_minor=19
__br_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
__br_toolchain="$__br_root/.toolchain"

__br_node_ok() {
  local version major minor
  version="$("${1:-node}" --version 2>/dev/null)" || return 1
  version="${version#v}"
  major="${version%%.*}"
  minor="${version#*.}"
  minor="${minor%%.*}"
  [ "$major" -gt "$__br_min_major" ] || { [ "$major" -eq "$__br_min_major" ] && [ "$minor" -ge "$__br_min_minor" ]; }
}

if ! __br_node_ok node; then
  if ! __br_node_ok "$__br_toolchain/node_modules/.bin/node"; then
    echo "ensure-node: $(node --version 2>/dev/null || echo 'no node') is older than v$__br_min_major.$__br_min_minor; installing node@24 into .toolchain/" >&2
    mkdir -p "$__br_toolchain"
    # npm itself runs fine on the older Node; only the installed binary matters.
    npm install --prefix "$__br_toolchain" --no-save --no-audit --no-fund --loglevel=error node@24 >&2 || {
      echo "ensure-node: could not install node@24 from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$__br_toolchain/node_modules/.bin:$PATH"
fi

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "$#" -gt 0 ]; then
  # Executed as a wrapper: local binaries (vitest, tsc, eslint) come after the right Node.
  export PATH="$__br_root/node_modules/.bin:$PATH"
  exec "$@"
fi
