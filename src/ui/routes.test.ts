import test from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute, paramOk, ROUTES } from './routes.ts';

test("allowed: the pages' endpoints, with their parameters decoded", () => {
  const m = matchRoute('POST', 'containers/web/stop');
  assert.ok(m.ok);
  assert.equal(m.route.name, 'containers.stop');
  assert.deepEqual(m.params, { container: 'web' });
  const img = matchRoute('DELETE', 'images/localhost%3A5000%2Fapp%3A1');
  assert.ok(img.ok);
  assert.deepEqual(img.params, { image: 'localhost:5000/app:1' });
  assert.ok(matchRoute('GET', 'images/sha256%3A' + 'a'.repeat(64) + '/history').ok);
  assert.ok(matchRoute('GET', 'containers/1b6035dd169f/logs').ok);
  assert.ok(matchRoute('GET', 'events').ok);
  for (const verb of ['start', 'stop', 'restart', 'pause', 'unpause', 'kill'])
    assert.ok(matchRoute('POST', `containers/c1/${verb}`).ok, verb);
});

test('a literal route wins over a parameter: containers/prune is not a container called prune', () => {
  const m = matchRoute('POST', 'containers/prune');
  assert.ok(m.ok);
  assert.equal(m.route.name, 'containers.prune');
  const d = matchRoute('DELETE', 'containers/prune');
  assert.equal(d.ok, false);
  assert.equal(!d.ok && d.status, 405);
});

test('refused: what the pages do not use (create, exec, build, archive, update, commit, ...)', () => {
  for (const [method, path] of [
    ['POST', 'containers/create'],
    ['POST', 'containers/web/exec'],
    ['POST', 'exec/abc/start'],
    ['POST', 'build'],
    ['PUT', 'containers/web/archive'],
    ['GET', 'containers/web/archive'],
    ['POST', 'containers/web/update'],
    ['POST', 'commit'],
    ['POST', 'containers/web/attach'],
    ['GET', 'containers/web/export'],
    ['POST', 'images/create'],
    ['POST', 'images/load'],
    ['POST', 'volumes/create'],
    ['POST', 'networks/create'],
    ['POST', 'networks/n/connect'],
    ['POST', 'auth'],
    ['GET', 'info/../../secrets'],
    ['POST', 'berth/v1/images/bootstrap'],
    ['GET', 'v1.44/containers/json'],
  ] as const) {
    const m = matchRoute(method, path);
    assert.equal(m.ok, false, `${method} ${path}`);
  }
  const wrongMethod = matchRoute('DELETE', 'containers/web/stop');
  assert.ok(!wrongMethod.ok && wrongMethod.status === 405);
  const unknown = matchRoute('GET', 'containers/web/secrets');
  assert.ok(!unknown.ok && unknown.status === 404);
  const wrongVerb = matchRoute('PUT', 'containers/web');
  assert.ok(!wrongVerb.ok && wrongVerb.status === 405);
});

test('path injection: encoded or literal dot segments and slashes never make a parameter', () => {
  for (const [method, path] of [
    ['POST', 'containers/..%2F..%2Fimages%2Fx/start'],
    ['DELETE', 'containers/..%2F..%2Fimages%2Fx'],
    ['POST', 'containers/../images/x/start'],
    ['GET', 'containers/./web'],
    ['GET', 'containers//logs'],
    ['GET', 'containers/%2e%2e/logs'],
    ['DELETE', 'images/..%2F..%2Fcontainers%2Fweb'],
    ['DELETE', 'images/library%2F..%2F..%2Fcontainers%2Fx'],
    ['DELETE', 'volumes/a%2Fb'],
    ['DELETE', 'networks/%00'],
    ['GET', 'containers/web%3Fall%3D1/top'],
    ['GET', 'containers/%E0%A4%A/top'],
  ] as const) {
    const m = matchRoute(method, path);
    assert.equal(m.ok, false, `${method} ${path}`);
    assert.equal(!m.ok && m.status, 400, `${method} ${path}`);
  }
});

test("parameter patterns are Docker's name grammars", () => {
  assert.ok(paramOk('container', 'my_app.1-x'));
  assert.ok(!paramOk('container', '-rf'));
  assert.ok(!paramOk('container', 'a b'));
  assert.ok(paramOk('volume', 'data'));
  assert.ok(!paramOk('volume', 'd'));
  assert.ok(paramOk('image', 'busybox'));
  assert.ok(paramOk('image', 'sha256:' + 'f'.repeat(64)));
  assert.ok(paramOk('image', 'registry.local:5000/team/app:1.2'));
  assert.ok(!paramOk('image', 'team/../app'));
  assert.ok(!paramOk('image', '/app'));
  assert.ok(!paramOk('image', 'app name'));
  assert.ok(!paramOk('image', 'app?force=1'));
});

test('every route in the table is a GET, POST or DELETE with a unique method + path', () => {
  const seen = new Set<string>();
  for (const r of ROUTES) {
    const k = `${r.method} ${r.path}`;
    assert.ok(!seen.has(k), k);
    seen.add(k);
  }
});
