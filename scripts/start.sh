#!/bin/sh
# `npm start`: install what is missing (dependencies incl. the pinned Node 22), then start the stack.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/wrangler/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "fyp-edge: installing dependencies (npm ci) …"
  # onnxruntime-node's postinstall would download CUDA provider binaries (not used locally: CPU backend).
  # Its documented switch, as an env var: an .npmrc key made npm warn "Unknown project config" on every run.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci
fi
exec node_modules/.bin/node scripts/start.ts "$@"
