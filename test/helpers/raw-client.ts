/**
 * A minimal Kafka wire client for tests: sends requests encoded with our own codecs (or raw bytes)
 * and reads framed responses. It lets tests speak to the broker at exact versions and send broken
 * frames on purpose.
 */
import net from 'node:net';
import { once } from 'node:events';
import { Reader } from '../../src/protocol/codec/reader.js';
import { Writer } from '../../src/protocol/codec/writer.js';
import type { Init, MessageCodec } from '../../src/protocol/codec/message.js';
import { RequestHeader, ResponseHeader, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/messages/index.js';

export class RawClient {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private waiters: (() => void)[] = [];
  private correlation = 1;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.bufferedBytes += d.length;
      this.wakeAll();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wakeAll();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = net.connect({ port, host });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Encode a request frame (size prefix included). */
  frame<Req>(apiKey: number, version: number, codec: MessageCodec<Req>, body: Init<Req>, correlationId = this.correlation++, clientId: string | null = 'rafka-test'): Buffer {
    const w = new Writer();
    RequestHeader.encode(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId }, requestHeaderVersion(apiKey, version));
    codec.encode(w, body, version);
    const payload = w.toBuffer();
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return Buffer.concat([size, payload]);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Wait for one whole response frame; null if the connection closed first. */
  async readFrame(timeoutMs = 5000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.bufferedBytes >= 4) {
        if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
        const size = this.chunks[0]!.readInt32BE(0);
        if (this.bufferedBytes >= 4 + size) {
          // Join only once the whole frame is here (no quadratic re-copying of large responses).
          const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bufferedBytes);
          const frame = all.subarray(4, 4 + size);
          const rest = all.subarray(4 + size);
          this.chunks = rest.length > 0 ? [rest] : [];
          this.bufferedBytes = rest.length;
          return frame;
        }
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a response');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Send a request and decode its response with the matching codec. */
  async request<Req, Res>(apiKey: number, version: number, req: MessageCodec<Req>, res: MessageCodec<Res>, body: Init<Req>): Promise<Res> {
    const correlationId = this.correlation++;
    this.write(this.frame(apiKey, version, req, body, correlationId));
    const frame = await this.readFrame();
    if (!frame) throw new Error('connection closed by the broker');
    return decodeResponse(frame, apiKey, version, res, correlationId);
  }

  /** Resolves true if the broker closes the connection within the timeout. */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

export function decodeResponse<Res>(frame: Buffer, apiKey: number, version: number, res: MessageCodec<Res>, correlationId?: number): Res {
  const r = new Reader(frame);
  const header = ResponseHeader.decode(r, responseHeaderVersion(apiKey, version));
  if (correlationId !== undefined && header.correlationId !== correlationId) {
    throw new Error(`correlation id ${header.correlationId}, expected ${correlationId}`);
  }
  const body = res.decode(r, version);
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after the response body`);
  return body;
}
