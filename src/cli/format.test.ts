import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ago,
  bytesSize,
  ellipsis,
  goG,
  goQuote,
  goTimeString,
  humanSize,
  indentJson,
  rfc3339NanoFixed,
  shortId,
  table,
  tabwrite,
} from './format.ts';

test('humanSize: units of 1000 and Go %g, as docker images prints them', () => {
  assert.equal(humanSize(1984132), '1.98MB');
  assert.equal(humanSize(1984132, 4), '1.984MB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(4096, 4), '4.096kB');
  assert.equal(humanSize(5630), '5.63kB');
  assert.equal(humanSize(2.5e9), '2.5GB');
  assert.equal(humanSize(999_600), '1e+03kB'); // go-units' own quirk
});

test('goG matches fmt %g', () => {
  assert.equal(goG(1.5e-7, 3), '1.5e-07');
  assert.equal(goG(123456, 3), '1.23e+05');
  assert.equal(goG(100, 3), '100');
  assert.equal(goG(0.5, 4), '0.5');
});

test('bytesSize: binary units with 4 digits (docker stats)', () => {
  assert.equal(bytesSize(540 * 1024), '540KiB');
  assert.equal(bytesSize(23.54 * 1024 ** 3), '23.54GiB');
  assert.equal(bytesSize(0), '0B');
});

test('ago and go-units durations', () => {
  const now = 1_000_000_000_000;
  const s = now / 1000;
  assert.equal(ago(s, now), 'Less than a second ago');
  assert.equal(ago(s - 1, now), '1 second ago');
  assert.equal(ago(s - 45, now), '45 seconds ago');
  assert.equal(ago(s - 90, now), 'About a minute ago');
  assert.equal(ago(s - 12 * 60, now), '12 minutes ago');
  assert.equal(ago(s - 3600, now), 'About an hour ago');
  assert.equal(ago(s - 2 * 3600, now), '2 hours ago');
  assert.equal(ago(s - 3 * 86400, now), '3 days ago');
  assert.equal(ago(s - 20 * 86400, now), '2 weeks ago');
  assert.equal(ago(s - 90 * 86400, now), '3 months ago');
  assert.equal(ago(s - 800 * 86400, now), '2 years ago');
});

test('tabwriter: minwidth 10, padding 3, last cell unpadded, empty cells padded', () => {
  assert.equal(
    table([
      ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
      ['busybox', 'latest', '5552ffaf4c6b', 'About a minute ago', '1.98MB'],
    ]),
    'REPOSITORY   TAG       IMAGE ID       CREATED              SIZE\nbusybox      latest    5552ffaf4c6b   About a minute ago   1.98MB\n',
  );
  assert.equal(
    table([
      ['STATUS', 'PORTS', 'NAMES'],
      ['Up 1 second', '', 'web'],
    ]),
    'STATUS        PORTS     NAMES\nUp 1 second             web\n',
  );
  // widths count runes: "…" is one
  assert.equal(
    table([
      ['COMMAND', 'X'],
      ['"sh -c \'echo err >&2…"', 'y'],
    ]),
    'COMMAND                  X\n"sh -c \'echo err >&2…"   y\n',
  );
});

test('tabwriter column blocks end at a line without that cell', () => {
  assert.equal(
    tabwrite('Client:\n Version:\t1\n API version:\t2\n\nServer:\n  Version:\t3\n', 20, 1),
    'Client:\n Version:           1\n API version:       2\n\nServer:\n  Version:          3\n',
  );
});

test('ids, ellipsis, quoting', () => {
  assert.equal(shortId('sha256:5552ffaf4c6b5bf7fb750b2137d10ce9449a298769776ea44fb1540f03558e43'), '5552ffaf4c6b');
  assert.equal(shortId('<missing>'), '<missing>');
  assert.equal(ellipsis("sh -c 'echo err >&2; exit 3'", 20), "sh -c 'echo err >&2…");
  assert.equal(ellipsis('short', 20), 'short');
  assert.equal(goQuote('sh -c "x"\n'), '"sh -c \\"x\\"\\n"');
});

test('Go time layouts (UTC)', () => {
  process.env.TZ = 'UTC';
  assert.equal(goTimeString(1795354258), '2026-11-22 13:30:58 +0000 UTC');
  assert.equal(rfc3339NanoFixed('1795354258790350570'), '2026-11-22T13:30:58.790350570Z');
  assert.equal(rfc3339NanoFixed('1795354258000000000'), '2026-11-22T13:30:58.000000000Z');
});

test('indentJson keeps tokens and lays out like json.Indent', () => {
  assert.equal(
    indentJson('[{"a":1,"b":[],"c":{},"d":"x\\"}{,:","e":[1,2]}]'),
    '[\n    {\n        "a": 1,\n        "b": [],\n        "c": {},\n        "d": "x\\"}{,:",\n        "e": [\n            1,\n            2\n        ]\n    }\n]',
  );
  assert.equal(indentJson('{"x":"\\u003cnone\\u003e"}'), '{\n    "x": "\\u003cnone\\u003e"\n}');
});
