import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptKey, encodeWsFrame, offeredProtocols, Opcode, WsFrameParser } from './websocket.ts';

test("the handshake's accept key is RFC 6455's example answer", () => {
  assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('the sub-protocols a client offers are read in its order, from one header or several', () => {
  assert.deepEqual(offeredProtocols('v5.channel.k8s.io, v4.channel.k8s.io'), [
    'v5.channel.k8s.io',
    'v4.channel.k8s.io',
  ]);
  assert.deepEqual(offeredProtocols(['a', 'b,c']), ['a', 'b', 'c']);
  assert.deepEqual(offeredProtocols(undefined), []);
});

test('RFC 6455\'s masked "Hello" and its two-frame fragments parse; the server\'s frames are its unmasked ones', () => {
  const masked = Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  assert.deepEqual(new WsFrameParser().push(masked), [
    { fin: true, opcode: Opcode.TEXT, payload: Buffer.from('Hello') },
  ]);
  const p = new WsFrameParser();
  const first = Buffer.from([0x01, 0x83, 0, 0, 0, 0, ...Buffer.from('Hel')]);
  const last = Buffer.from([0x80, 0x82, 0, 0, 0, 0, ...Buffer.from('lo')]);
  assert.deepEqual(p.push(Buffer.concat([first, last.subarray(0, 3)])), [
    { fin: false, opcode: Opcode.TEXT, payload: Buffer.from('Hel') },
  ]);
  assert.deepEqual(p.push(last.subarray(3)), [{ fin: true, opcode: Opcode.CONT, payload: Buffer.from('lo') }]);
  assert.deepEqual(
    encodeWsFrame(Opcode.TEXT, Buffer.from('Hello')),
    Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
  );
});

test("lengths of 256 bytes and 64 KiB take the 16- and 64-bit forms of RFC 6455's examples", () => {
  assert.deepEqual(
    encodeWsFrame(Opcode.BINARY, Buffer.alloc(256)).subarray(0, 4),
    Buffer.from([0x82, 0x7e, 0x01, 0x00]),
  );
  assert.deepEqual(
    encodeWsFrame(Opcode.BINARY, Buffer.alloc(65536)).subarray(0, 10),
    Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]),
  );
  const big = Buffer.concat([Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]), Buffer.alloc(65536)]);
  const [f] = new WsFrameParser().push(big);
  assert.equal(f!.payload.length, 65536);
  assert.deepEqual(f!.payload.subarray(0, 4), Buffer.from([1, 2, 3, 4]));
});

test('a client frame without a mask, or with reserved bits, is refused', () => {
  assert.throws(() => new WsFrameParser().push(Buffer.from([0x82, 0x01, 0x00])), /without a mask/);
  assert.throws(() => new WsFrameParser().push(Buffer.from([0xc2, 0x81, 0, 0, 0, 0, 0])), /reserved bits/);
});
