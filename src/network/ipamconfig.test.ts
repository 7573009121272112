import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAddr, formatPrefix, parsePrefix } from './ip.ts';
import { planIpam, type IpamConfigEntry } from './ipamconfig.ts';

const CANDIDATES = ['172.17.0.0/16', '172.18.0.0/16'];
const plan = (configs: IpamConfigEntry[], enableIPv6 = false, used: string[] = []) =>
  planIpam({ configs, enableIPv6, used: used.map(parsePrefix), candidates: CANDIDATES });

test('no config: the first free default pool, its first address the gateway, shown with both', () => {
  const p = plan([], false, ['172.17.0.0/16']);
  assert.equal(formatPrefix(p.v4.subnet), '172.18.0.0/16');
  assert.equal(formatAddr(4, p.v4.gateway), '172.18.0.1');
  assert.deepEqual(p.view, [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }]);
  assert.equal(p.v4.configured, false);
  assert.equal(p.v6, undefined);
});

test('Subnet, IPRange, Gateway, AuxiliaryAddresses: shown as given; the gateway defaults to the range start', () => {
  const cfg = { Subnet: '10.63.0.0/24', IPRange: '10.63.0.64/26', AuxiliaryAddresses: { r: '10.63.0.70' } };
  const p = plan([cfg]);
  assert.deepEqual(p.view, [cfg]);
  assert.equal(formatAddr(4, p.v4.gateway), '10.63.0.64');
  assert.deepEqual(
    p.v4.reserved.map((r) => formatAddr(4, r)),
    ['10.63.0.70'],
  );
  assert.equal(p.v4.configured, true);
  assert.equal(formatAddr(4, plan([{ Subnet: '10.63.0.0/24', IPRange: '10.63.0.0/24' }]).v4.gateway), '10.63.0.1');
  assert.deepEqual(plan([{ Subnet: '10.66.0.1/24' }]).view, [{ Subnet: '10.66.0.1/24' }], 'the subnet as written');
});

test("dockerd's refusals, with its words", () => {
  const refusals: Array<[IpamConfigEntry[], RegExp]> = [
    [[{ Subnet: '10.61.0.0/24' }, { Subnet: '10.62.0.0/24' }], /bridge driver doesn't support multiple subnets/],
    [
      [{ Subnet: '10.64.0.0/24', Gateway: '10.65.0.1' }],
      /failed to allocate gateway \(10.65.0.1\): Requested address is out of range/,
    ],
    [
      [{ Subnet: '10.64.0.0/24', Gateway: '10.64.0.0' }],
      /failed to allocate gateway \(10.64.0.0\): Address already in use/,
    ],
    [
      [{ Subnet: '10.64.0.0/24', AuxiliaryAddresses: { x: '10.65.0.3' } }],
      /auxiliary address: \(x:10.65.0.3\) must belong to the master pool: 10.64.0.0\/24/,
    ],
    [
      [{ Subnet: '10.64.0.0/24', AuxiliaryAddresses: { x: '10.64.0.1' } }],
      /failed to allocate secondary ip address \(x:10.64.0.1\): Address already in use/,
    ],
    [[{ IPRange: '10.64.0.0/25' }], /Invalid subnet  : invalid CIDR address: /],
    [[{ Subnet: 'bogus' }], /Invalid subnet bogus : invalid CIDR address: bogus/],
    [[{ Subnet: '10.67.0.0/31' }], /failed to allocate gateway \(\): No available addresses on this pool/],
    [[{ Subnet: '10.64.0.0/24', IPRange: '10.65.0.0/25' }], /invalid ip-range 10.65.0.0\/25: it is not within subnet/],
  ];
  for (const [configs, message] of refusals) assert.throws(() => plan(configs), message, JSON.stringify(configs));
  assert.throws(
    () => plan([{ Subnet: '10.63.0.0/25' }], false, ['10.63.0.0/24']),
    /Pool overlaps with other one on this address space/,
  );
  assert.throws(() => plan([], true), /could not find an available, non-overlapping IPv6 address pool/);
});

test('IPv6: a subnet with EnableIPv6 is a pool (gateway ::1); without it, only shown', () => {
  const p = plan([{ Subnet: '2001:db8:1::/64' }], true);
  assert.equal(formatPrefix(p.v6!.subnet), '2001:db8:1::/64');
  assert.equal(formatAddr(6, p.v6!.gateway), '2001:db8:1::1');
  assert.deepEqual(p.view, [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }, { Subnet: '2001:db8:1::/64' }]);
  const shown = plan([{ Subnet: 'fd13::/64' }], false);
  assert.equal(shown.v6, undefined);
  assert.equal(shown.view.length, 2);
  const ranged = plan(
    [{ Subnet: 'fd14::/64', IPRange: 'fd14::100/120', AuxiliaryAddresses: { r: 'fd14::101' } }],
    true,
  );
  assert.equal(formatAddr(6, ranged.v6!.gateway), 'fd14::100', "dockerd's gateway: the range's first address");
  assert.throws(() => plan([{ Subnet: 'fd12:3456::/80' }], true, ['fd12:3456::/64']), /Pool overlaps/);
});
