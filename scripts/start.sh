#!/usr/bin/env bash
# `npm start`: install what is missing, type-check, and run berthd in the foreground with its
# defaults (--data-root /var/lib/berth, -H unix:///run/berth/berth.sock). Extra arguments
# after `npm start --` go to berthd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build
exec ./bin/berthd "$@"
