/**
 * The client's FrameReader (src/client/frame-reader.ts) under the onread protocol: every read goes
 * into the buffer last returned by buffer(), of any length up to that buffer's size. Random streams
 * of frames of every size class, cut at random points, must come out as the same frames; a bad size
 * prefix is an error and nothing after it is delivered. Also over a real socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes, randomInt } from 'node:crypto';
import { FrameReader } from '../src/client/frame-reader.js';

function frameOf(body: Buffer): Buffer {
  const f = Buffer.allocUnsafe(4 + body.length);
  f.writeInt32BE(body.length, 0);
  body.copy(f, 4);
  return f;
}

/** Feed `stream` to the reader as the kernel would: reads of random length into buffer(). */
function feed(reader: FrameReader, stream: Buffer, maxRead: number): void {
  let at = 0;
  while (at < stream.length) {
    const into = reader.buffer();
    assert.ok(into.length > 0, 'buffer() must never be empty');
    const n = Math.min(into.length, stream.length - at, 1 + randomInt(maxRead));
    stream.copy(into, 0, at, at + n);
    at += n;
    reader.onRead(n);
  }
}

test('random frames cut at random points come out whole and in order', () => {
  for (let round = 0; round < 40; round++) {
    const bodies = Array.from({ length: 60 }, () => {
      const kind = randomInt(4);
      const size = kind === 0 ? 4 + randomInt(20) : kind === 1 ? 4 + randomInt(4000) : kind === 2 ? 8000 + randomInt(400) : 20_000 + randomInt(200_000);
      return randomBytes(size);
    });
    const stream = Buffer.concat(bodies.map(frameOf));
    const got: Buffer[] = [];
    const reader = new FrameReader({ maxFrameBytes: 1 << 20, scratchBytes: 16 * 1024 + randomInt(64 * 1024) }, (f) => got.push(f), (m) => assert.fail(m));
    feed(reader, stream, round % 2 === 0 ? 7 : 100_000);
    assert.equal(got.length, bodies.length);
    for (let i = 0; i < bodies.length; i++) assert.ok(got[i]!.equals(bodies[i]!), `frame ${i} of round ${round}`);
  }
});

test('delivered frames are independent copies: later reads do not change them', () => {
  const got: Buffer[] = [];
  const reader = new FrameReader({ maxFrameBytes: 1 << 20 }, (f) => got.push(f), (m) => assert.fail(m));
  const a = Buffer.alloc(100, 1);
  const b = Buffer.alloc(100, 2);
  feed(reader, frameOf(a), 1000);
  feed(reader, frameOf(b), 1000);
  assert.ok(got[0]!.equals(a));
  assert.ok(got[1]!.equals(b));
});

test('a size prefix out of range is an error and stops delivery', () => {
  for (const bad of [-1, 0, 3, (1 << 20) + 1]) {
    const got: Buffer[] = [];
    const errors: string[] = [];
    const reader = new FrameReader({ maxFrameBytes: 1 << 20 }, (f) => got.push(f), (m) => errors.push(m));
    const header = Buffer.alloc(4);
    header.writeInt32BE(bad, 0);
    feed(reader, Buffer.concat([frameOf(Buffer.from('okay')), header, frameOf(Buffer.from('never'))]), 1000);
    assert.equal(got.length, 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, new RegExp(`invalid frame size ${bad}`));
  }
});

test('over a socket with onread: large and small frames arrive intact', async () => {
  const bodies = [randomBytes(10), randomBytes(3 << 20), randomBytes(5000), randomBytes(70_000), randomBytes(4)];
  const server = net.createServer((s) => {
    s.end(Buffer.concat(bodies.map(frameOf)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got: Buffer[] = [];
  const reader = new FrameReader({ maxFrameBytes: 8 << 20 }, (f) => got.push(f), (m) => assert.fail(m));
  const sock = net.connect({
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    onread: {
      buffer: () => reader.buffer(),
      callback: (n: number) => {
        reader.onRead(n);
        return true;
      },
    },
  });
  await once(sock, 'end');
  sock.destroy();
  server.close();
  assert.equal(got.length, bodies.length);
  for (let i = 0; i < bodies.length; i++) assert.ok(got[i]!.equals(bodies[i]!), `frame ${i}`);
});
