import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAnswer, parseQuery } from './dns.ts';

function query(name: string, type = 1): Buffer {
  const parts = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const head = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([head, ...parts, Buffer.from([0, 0, type, 0, 1])]);
}

test('parseQuery reads the question; responses and garbage are ignored', () => {
  const q = parseQuery(query('web.example'));
  assert.equal(q?.name, 'web.example');
  assert.equal(q?.type, 1);
  assert.equal(parseQuery(Buffer.from([1, 2, 3])), undefined);
  const resp = query('x');
  resp[2] = 0x81;
  assert.equal(parseQuery(resp), undefined);
});

test('buildAnswer: the same ID, one A record per address, NXDOMAIN when asked', () => {
  const msg = query('db', 1);
  const q = parseQuery(msg)!;
  const a = buildAnswer(msg, q, [{ type: 1, address: '10.100.0.5' }], 0);
  assert.equal(a.readUInt16BE(0), 0x1234);
  assert.equal(a.readUInt16BE(2) & 0x8000, 0x8000);
  assert.equal(a.readUInt16BE(6), 1);
  assert.deepEqual([...a.subarray(a.length - 4)], [10, 100, 0, 5]);
  const nx = buildAnswer(msg, q, [], 3);
  assert.equal(nx.readUInt16BE(2) & 0xf, 3);
  assert.equal(nx.readUInt16BE(6), 0);
});

test('buildAnswer: an AAAA record carries the sixteen bytes of the IPv6 address', () => {
  const msg = query('db', 28);
  const q = parseQuery(msg)!;
  assert.equal(q.type, 28);
  const a = buildAnswer(msg, q, [{ type: 28, address: '2001:db8:1::10' }], 0);
  assert.equal(a.readUInt16BE(6), 1);
  const rec = a.subarray(q.end);
  assert.equal(rec.readUInt16BE(2), 28);
  assert.equal(rec.readUInt16BE(10), 16);
  assert.deepEqual([...rec.subarray(12)], [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]);
});
