import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortAllocator, parsePortRange } from './portalloc.ts';

test("parsePortRange reads the kernel's ip_local_port_range and refuses anything else", () => {
  assert.deepEqual(parsePortRange('32768\t60999\n'), { first: 32768, last: 60999 });
  assert.equal(parsePortRange('60999 32768'), undefined);
  assert.equal(parsePortRange('0 70000'), undefined);
  assert.equal(parsePortRange(''), undefined);
});

test("ports are handed out as dockerd's allocator does: up from the range's start, past the last one given, wrapping, skipping busy ones", () => {
  const a = new PortAllocator({ first: 100, last: 104 });
  const first = (proto: string, ip: string, busy: (p: number) => boolean = () => false) =>
    a.candidates(proto, ip, busy).next().value;
  assert.equal(first('tcp', '0.0.0.0'), 100);
  assert.equal(first('tcp', '0.0.0.0'), 101, 'not 100 again, though nothing holds it now');
  assert.equal(
    first('tcp', '0.0.0.0', (p) => p === 102),
    103,
  );
  assert.equal(first('udp', '0.0.0.0'), 100, 'each protocol counts on its own');
  assert.equal(first('tcp', '127.0.0.1'), 100, 'and each address');
  assert.equal(first('tcp', '0.0.0.0'), 104);
  assert.equal(first('tcp', '0.0.0.0'), 100, 'wraps');
  assert.deepEqual([...a.candidates('tcp', '0.0.0.0', () => true)], [], 'all busy: none');
  assert.deepEqual([...a.candidates('tcp', '0.0.0.0', () => false)], [101, 102, 103, 104, 100]);
});
