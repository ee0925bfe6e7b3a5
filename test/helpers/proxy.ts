/**
 * A TCP proxy in front of a broker, for client tests that need the network to misbehave: hold back
 * the broker's answers, or cut a connection after a request reached the broker but before its answer
 * reached the client. Start the broker with `advertisedPort: proxy.port` so clients keep using it.
 */
import net from 'node:net';
import { once } from 'node:events';

export class TestProxy {
  /** While true, bytes from the broker are held (delivered when set back to false). */
  holdResponses = false;
  /** When > 0, the next this-many answers are dropped by closing both sides of the connection. */
  dropNextResponses = 0;
  /**
   * Sees every chunk as it is forwarded, per connection (numbered 1, 2, … in accept order) and
   * direction; it observes and never changes a byte (scripts/capture-golden.ts records with it).
   */
  tap: ((connection: number, from: 'client' | 'broker', bytes: Buffer) => void) | null = null;
  private connections = 0;
  /** Requests forwarded to the broker, by API key (frames parsed from the client's bytes). */
  readonly requestsByApi = new Map<number, number>();
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket; held: Buffer[] }>();

  private constructor(
    private readonly server: net.Server,
    public target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<TestProxy> {
    const server = net.createServer();
    const proxy = new TestProxy(server, target);
    server.on('connection', (client) => proxy.accept(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    const pair = { client, upstream, held: [] as Buffer[] };
    const connection = ++this.connections;
    this.pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      while (pending.length >= 6 && pending.length >= 4 + pending.readInt32BE(0)) {
        const apiKey = pending.readInt16BE(4);
        this.requestsByApi.set(apiKey, (this.requestsByApi.get(apiKey) ?? 0) + 1);
        pending = pending.subarray(4 + pending.readInt32BE(0));
      }
      this.tap?.(connection, 'client', d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      this.tap?.(connection, 'broker', d);
      if (this.dropNextResponses > 0) {
        this.dropNextResponses--;
        close();
        return;
      }
      if (this.holdResponses) pair.held.push(d);
      else client.write(d);
    });
  }

  /** Deliver held answers and stop holding. */
  release(): void {
    this.holdResponses = false;
    for (const p of this.pairs) for (const d of p.held.splice(0)) p.client.write(d);
  }

  /** Cut every open connection. */
  cutAll(): void {
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
