import test from 'node:test';
import assert from 'node:assert/strict';
import {
  cookieValue,
  hostAllowed,
  newToken,
  originAllowed,
  parseListen,
  requestToken,
  sessionCookie,
  tokenMatches,
  urlHost,
} from './security.ts';

test('tokens are long, random and compared whole', () => {
  const t = newToken();
  assert.match(t, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(t, newToken());
  assert.ok(tokenMatches(t, t));
  assert.ok(!tokenMatches(t.slice(0, -1), t));
  assert.ok(!tokenMatches(t + 'x', t));
  assert.ok(!tokenMatches(undefined, t));
  assert.ok(!tokenMatches('', t));
});

test('the session cookie is HttpOnly and SameSite=Strict, and is read back from Cookie or Bearer', () => {
  const c = sessionCookie('abc', 8088);
  assert.match(c, /^berth_dashboard_8088=abc;/);
  assert.match(c, /HttpOnly/);
  assert.match(c, /SameSite=Strict/);
  assert.equal(cookieValue('a=1; berth_dashboard=abc; b=2', 'berth_dashboard'), 'abc');
  assert.equal(cookieValue('xberth_dashboard=abc', 'berth_dashboard'), undefined);
  assert.equal(requestToken({ cookie: 'berth_dashboard_8088=abc' }, 8088), 'abc');
  // another dashboard's cookie (another port) is not ours
  assert.equal(requestToken({ cookie: 'berth_dashboard_9000=abc' }, 8088), undefined);
  assert.equal(requestToken({ authorization: 'Bearer xyz', cookie: 'berth_dashboard_8088=abc' }, 8088), 'xyz');
  assert.equal(requestToken({}, 8088), undefined);
});

test('--listen: HOST:PORT, [v6]:PORT, :PORT on loopback', () => {
  assert.deepEqual(parseListen('127.0.0.1:8088'), { host: '127.0.0.1', port: 8088 });
  assert.deepEqual(parseListen(':9000'), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(parseListen('[::1]:8088'), { host: '::1', port: 8088 });
  assert.deepEqual(parseListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  assert.throws(() => parseListen('8088'), /HOST:PORT/);
  assert.throws(() => parseListen('127.0.0.1:70000'), /out of range/);
  assert.throws(() => parseListen('[nothost]:1'), /IPv6/);
  assert.equal(urlHost({ host: '0.0.0.0', port: 1 }), '127.0.0.1:1');
  assert.equal(urlHost({ host: '::1', port: 1 }), '[::1]:1');
});

test('Host: the listen address or localhost with our port; rebinding names are refused', () => {
  const l = { host: '127.0.0.1', port: 8088 };
  assert.ok(hostAllowed('127.0.0.1:8088', l));
  assert.ok(hostAllowed('localhost:8088', l));
  assert.ok(hostAllowed('LOCALHOST:8088', l));
  assert.ok(!hostAllowed('evil.example:8088', l));
  assert.ok(!hostAllowed('127.0.0.1.nip.io:8088', l));
  assert.ok(!hostAllowed('127.0.0.1:8089', l));
  assert.ok(!hostAllowed('127.0.0.1', l));
  assert.ok(!hostAllowed('10.0.0.1:8088', l));
  assert.ok(!hostAllowed(undefined, l));
  assert.ok(!hostAllowed('', l));
  assert.ok(!hostAllowed('a b:8088', l));
  const v6 = { host: '::1', port: 8088 };
  assert.ok(hostAllowed('[::1]:8088', v6));
  assert.ok(!hostAllowed('127.0.0.1:8088', v6));
  // a wildcard listener is reached through any address, never through a name but localhost
  const any = { host: '0.0.0.0', port: 80 };
  assert.ok(hostAllowed('192.168.1.5', any));
  assert.ok(hostAllowed('192.168.1.5:80', any));
  assert.ok(!hostAllowed('evil.example', any));
  const named = { host: 'box.lan', port: 8088 };
  assert.ok(hostAllowed('box.lan:8088', named));
  assert.ok(!hostAllowed('other.lan:8088', named));
});

test('Origin: ours or none; other sites and other ports are refused', () => {
  const l = { host: '127.0.0.1', port: 8088 };
  assert.ok(originAllowed({}, l));
  assert.ok(originAllowed({ origin: 'http://127.0.0.1:8088' }, l));
  assert.ok(originAllowed({ origin: 'http://localhost:8088', 'sec-fetch-site': 'same-origin' }, l));
  assert.ok(!originAllowed({ origin: 'http://evil.example' }, l));
  assert.ok(!originAllowed({ origin: 'http://127.0.0.1:3000' }, l));
  assert.ok(!originAllowed({ origin: 'null' }, l));
  assert.ok(!originAllowed({ origin: 'https://127.0.0.1:8088' }, l));
  assert.ok(!originAllowed({ 'sec-fetch-site': 'cross-site' }, l));
  assert.ok(!originAllowed({ 'sec-fetch-site': 'same-site' }, l));
});

test('over HTTPS the cookie is Secure, the default port is 443 and only https origins are our own', () => {
  assert.match(sessionCookie('abc', 8443, true), /; Secure$/);
  assert.doesNotMatch(sessionCookie('abc', 8443), /Secure/);
  const l = { host: '127.0.0.1', port: 443 };
  assert.ok(hostAllowed('127.0.0.1', l, true));
  assert.ok(!hostAllowed('127.0.0.1', l));
  const s = { host: '127.0.0.1', port: 8443 };
  assert.ok(originAllowed({ origin: 'https://127.0.0.1:8443' }, s, true));
  assert.ok(!originAllowed({ origin: 'http://127.0.0.1:8443' }, s, true));
});
