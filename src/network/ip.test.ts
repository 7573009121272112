import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contains, formatAddr, formatPrefix, overlaps, parseAddr, parsePrefix, tryParseAddr, within } from './ip.ts';

test('IPv6 addresses parse in every written form and print in the RFC 5952 one', () => {
  const cases: Array<[string, string]> = [
    ['2001:db8:1::10', '2001:db8:1::10'],
    ['2001:0DB8:0001:0000:0000:0000:0000:0010', '2001:db8:1::10'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ];
  for (const [input, canonical] of cases) {
    const a = parseAddr(input);
    assert.equal(a.family, 6, input);
    assert.equal(formatAddr(6, a.value), canonical, input);
  }
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', ':1', '1:2:3:4:5:6:7', '1.2.3.256', 'x'])
    assert.equal(tryParseAddr(bad), undefined, bad);
  assert.equal(formatAddr(4, parseAddr('10.1.2.3').value), '10.1.2.3');
});

test('prefixes: host bits cleared, containment and overlap per family', () => {
  const p = parsePrefix('2001:db8:1::7/64');
  assert.equal(formatPrefix(p), '2001:db8:1::/64');
  assert.equal(p.ip, parseAddr('2001:db8:1::7').value);
  assert.ok(contains(p, 6, parseAddr('2001:db8:1::ffff').value));
  assert.ok(!contains(p, 6, parseAddr('2001:db8:2::1').value));
  assert.ok(overlaps(parsePrefix('2001:db8::/32'), p));
  assert.ok(!overlaps(parsePrefix('10.0.0.0/8'), p), 'families never overlap');
  assert.ok(within(parsePrefix('10.1.0.128/25'), parsePrefix('10.1.0.0/24')));
  assert.ok(!within(parsePrefix('10.1.0.0/23'), parsePrefix('10.1.0.0/24')));
  assert.throws(() => parsePrefix('2001:db8::/129'), /invalid CIDR address/);
  assert.throws(() => parsePrefix('10.0.0.0'), /invalid CIDR address/);
});
