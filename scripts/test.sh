#!/usr/bin/env bash
# `npm test`: every test — type check, unit tests, integration tests (root, runc, kernel), and
# end-to-end tests that drive berthd with the real docker CLI and the Python Docker SDK.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

echo "== type check"
npm run --silent build || exit 1
echo "== formatting (npm run format fixes it)"
npm run --silent format:check || exit 1
echo "== import boundaries"
bin/node scripts/lint-imports.ts || exit 1

status=0
echo "== unit and integration tests"
bin/node --test --test-concurrency=1 --test-timeout=300000 \
  'src/**/*.test.ts' 'integration/**/*.test.ts' 'e2e/**/*.test.ts' || status=1

if [ -d e2e/python ] && ls e2e/python/test_*.py >/dev/null 2>&1; then
  echo "== Python SDK tests"
  python3 -m pytest -q e2e/python || status=1
fi
exit $status
