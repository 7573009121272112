import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { criDefinitions, CRI_PACKAGE } from './proto.ts';
import { apiSurface } from './surface.ts';

test("Berth's CRI definitions have every service, method, message, field and number of the published CRI v1 API, and nothing else", () => {
  const want = readFileSync(join(import.meta.dirname, 'api-surface.txt'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  const got = apiSurface(criDefinitions(), CRI_PACKAGE);
  const have = new Set(got);
  const expected = new Set(want);
  const missing = want.filter((l) => !have.has(l));
  const extra = got.filter((l) => !expected.has(l));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'src/cri/api.proto differs from api-surface.txt');
  assert.ok(want.length > 500, 'the surface list is the whole API');
});

test('the surface names a streaming method as a stream and a map field as a map', () => {
  const got = new Set(apiSurface(criDefinitions(), CRI_PACKAGE));
  assert.ok(
    got.has('rpc runtime.v1.RuntimeService.GetContainerEvents GetEventsRequest -> stream ContainerEventResponse'),
  );
  assert.ok(got.has('field runtime.v1.PodSandboxConfig.labels 6 map<string,string>'));
  assert.ok(got.has('field runtime.v1.ListImagesResponse.images 1 repeated Image'));
  assert.ok(got.has('value runtime.v1.SecurityProfile.ProfileType.Localhost 2'));
});
