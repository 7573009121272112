import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PortProxies, parsePortKey } from './ports.ts';

test("parsePortKey reads Docker's port keys and refuses nonsense", () => {
  assert.deepEqual(parsePortKey('80'), { port: 80, proto: 'tcp' });
  assert.deepEqual(parsePortKey('53/udp'), { port: 53, proto: 'udp' });
  assert.throws(() => parsePortKey('70000/tcp'), /invalid port/);
  assert.throws(() => parsePortKey('80/icmp'), /invalid port/);
});

test('a bound port is held: a second container gets "already allocated", unpublish frees it', async () => {
  const p = new PortProxies();
  try {
    const [m] = await p.publish('a', 'a (e1)', '127.0.0.1', {
      bindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
    });
    assert.ok(m && m.hostPort > 0 && m.hostIp === '127.0.0.1' && m.containerPort === 80);
    await assert.rejects(
      p.publish('b', 'b (e2)', '127.0.0.1', {
        bindings: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(m.hostPort) }] },
      }),
      /Bind for 0\.0\.0\.0:\d+ failed: port is already allocated/,
    );
    p.unpublish('a');
    await new Promise((r) => setTimeout(r, 50));
    const s = net.createServer();
    await new Promise<void>((res, rej) => s.once('error', rej).listen(m.hostPort, '127.0.0.1', res));
    s.close();
  } finally {
    p.closeAll();
  }
});

test('-P publishes only exposed ports without an explicit binding; a failure leaves nothing open', async () => {
  const p = new PortProxies();
  try {
    const out = await p.publish('a', 'a', '127.0.0.1', { exposed: { '80/tcp': {}, '81/udp': {} }, publishAll: true });
    // No host address: 0.0.0.0 and [::] on one port each, as dockerd's proxy pair.
    assert.deepEqual(out.map((m) => `${m.containerPort}/${m.proto} ${m.hostIp}`).sort(), [
      '80/tcp 0.0.0.0',
      '80/tcp ::',
      '81/udp 0.0.0.0',
      '81/udp ::',
    ]);
    assert.equal(out[0]!.hostPort, out[1]!.hostPort);
    await assert.rejects(
      p.publish('b', 'b', '127.0.0.1', {
        bindings: {
          '90/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
          '91/tcp': [{ HostIp: '127.0.0.1', HostPort: 'x' }],
        },
      }),
      /invalid hostPort/,
    );
    p.unpublish('b');
  } finally {
    p.closeAll();
  }
});

test('a binding without a host address listens on 0.0.0.0 and [::] with one port from the range; an address given, on it alone', async () => {
  const p = new PortProxies(undefined, { range: { first: 41000, last: 41999 }, ipv6: async () => true });
  const q = new PortProxies(undefined, { range: { first: 41000, last: 41999 }, ipv6: async () => false });
  try {
    const a = await p.publish('a', 'a', '127.0.0.1', { bindings: { '80/tcp': [{}], '53/udp': [{ HostIp: '' }] } });
    const [t4, t6] = a.filter((m) => m.proto === 'tcp');
    assert.deepEqual([t4!.hostIp, t6!.hostIp], ['0.0.0.0', '::']);
    assert.equal(t4!.hostPort, t6!.hostPort);
    assert.ok(t4!.hostPort >= 41000 && t4!.hostPort <= 41999);
    // The [::] listener is IPv6 alone: a dual-stack one would have refused the port after 0.0.0.0's.
    const r = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: '::1', port: t6!.hostPort }, () => resolve('connected'));
      c.on('error', reject);
      setTimeout(() => c.destroy(), 100);
    });
    assert.equal(r, 'connected');
    const b = await p.publish('b', 'b', '127.0.0.1', { bindings: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] } });
    assert.deepEqual(
      b.map((m) => m.hostIp),
      ['0.0.0.0'],
    );
    assert.ok(b[0]!.hostPort > t4!.hostPort, 'counts up from the last port handed out');
    await assert.rejects(
      p.publish('c', 'c', '127.0.0.1', { bindings: { '80/tcp': [{ HostIp: '::', HostPort: String(t6!.hostPort) }] } }),
      new RegExp(`Bind for :::${t6!.hostPort} failed: port is already allocated`),
    );
    // A host without IPv6: one listener, on 0.0.0.0.
    const c = await q.publish('d', 'd', '127.0.0.1', { bindings: { '80/tcp': [{}] } });
    assert.deepEqual(
      c.map((m) => m.hostIp),
      ['0.0.0.0'],
    );
  } finally {
    p.closeAll();
    q.closeAll();
  }
});

test('the proxy forwards tcp and udp, and a client that half-closes after its request still gets the answer', async () => {
  // Targets on loopback stand in for a container's address.
  const tcpTarget = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (b) => (got += b)).on('end', () => setTimeout(() => s.end(`tcp:${got}`), 50));
  });
  await new Promise<void>((r) => tcpTarget.listen(0, '127.0.0.1', r));
  const dgram = await import('node:dgram');
  const udpTarget = dgram.createSocket('udp4');
  udpTarget.on('message', (m, from) => udpTarget.send(`udp:${m}`, from.port, from.address));
  await new Promise<void>((r) => udpTarget.bind(0, '127.0.0.1', r));
  const p = new PortProxies();
  try {
    const [tm, um] = await p.publish('c1', 'c1', '127.0.0.1', {
      bindings: {
        [`${(tcpTarget.address() as net.AddressInfo).port}/tcp`]: [{ HostIp: '127.0.0.1' }],
        [`${udpTarget.address().port}/udp`]: [{ HostIp: '127.0.0.1' }],
      },
    });
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ port: tm!.hostPort, host: '127.0.0.1', allowHalfOpen: true }, () => c.end('req'));
      let got = '';
      c.on('data', (b) => (got += b))
        .on('end', () => resolve(got))
        .on('error', reject);
    });
    assert.equal(reply, 'tcp:req');
    const client = dgram.createSocket('udp4');
    const ureply = await new Promise<string>((resolve) => {
      client.on('message', (m) => resolve(m.toString()));
      client.send('yo', um!.hostPort, '127.0.0.1');
    });
    client.close();
    assert.equal(ureply, 'udp:yo');
  } finally {
    p.closeAll();
    tcpTarget.close();
    udpTarget.close();
  }
});

test('with an exposer (rootless berthd) each published port is exposed once and taken back on unpublish', async () => {
  const calls: string[] = [];
  const p = new PortProxies({
    async expose(proto, hostIp, port) {
      calls.push(`+${proto}/${hostIp}/${port}`);
      return () => calls.push(`-${proto}/${hostIp}/${port}`);
    },
  });
  const [m] = await p.publish('c1', 'ep', '127.0.0.1', { bindings: { '80/tcp': [{ HostIp: '127.0.0.1' }] } });
  assert.deepEqual(calls, [`+tcp/127.0.0.1/${m!.hostPort}`]);
  p.unpublish('c1');
  assert.deepEqual(calls, [`+tcp/127.0.0.1/${m!.hostPort}`, `-tcp/127.0.0.1/${m!.hostPort}`]);
});

test('a port the exposer cannot expose fails the publish and leaves nothing listening', async () => {
  const p = new PortProxies({
    expose: () => Promise.reject(new Error('rootlesskit says no')),
  });
  await assert.rejects(
    p.publish('c1', 'ep', '127.0.0.1', { bindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }] } }),
    /rootlesskit says no/,
  );
  p.closeAll();
});
