/**
 * Prints the CRI interface surface (services, methods, messages, fields with their numbers and
 * types, enum values) of an api.proto, one item a line, sorted: the list src/cri/proto.test.ts
 * compares Berth's own definitions with.
 *
 *   bin/node scripts/cri-api-surface.ts <cri-tools>/vendor/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto \
 *     > src/cri/api-surface.txt
 *
 * Kubernetes' file imports gogoproto and sets its options, which only steer Go code generation;
 * they are stripped here so the file loads without that import.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { apiSurface } from '../src/cri/surface.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: cri-api-surface.ts <api.proto>\n');
  process.exit(2);
}
const text = readFileSync(file, 'utf8')
  .replace(/^import\s+"github\.com\/gogo\/protobuf\/gogoproto\/gogo\.proto";$/m, '')
  .replace(/^option\s+\(gogoproto\.[^;]*;$/gm, '');
const dir = mkdtempSync(join(tmpdir(), 'cri-surface-'));
try {
  const copy = join(dir, 'api.proto');
  writeFileSync(copy, text);
  const def = loadSync(copy, { keepCase: true });
  const lines = apiSurface(def, 'runtime.v1');
  process.stdout.write(
    `# The CRI v1 surface of ${file.replace(/^.*\/vendor\//, 'vendor/')}, made by scripts/cri-api-surface.ts.\n` +
      lines.join('\n') +
      '\n',
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
