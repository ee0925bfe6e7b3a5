/** Helpers shared by the consumer-group handlers (keys 8–16, 42, 47). */
import { isIPv6 } from 'node:net';

/**
 * A client's address as Kafka shows it in DescribeGroups (`client_host`): Java's
 * `InetAddress.toString()` of an address without a host name, i.e. `/127.0.0.1`, or for IPv6 the
 * uncompressed form `/0:0:0:0:0:0:0:1` (with its `%zone`, if any). IPv4-mapped IPv6 addresses (a
 * dual-stack listener) are shown as IPv4, as Java does.
 */
export function kafkaClientHost(remoteAddress: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped) return `/${mapped[1]}`;
  if (!isIPv6(remoteAddress)) return `/${remoteAddress}`;
  const zone = remoteAddress.indexOf('%');
  const addr = zone >= 0 ? remoteAddress.slice(0, zone) : remoteAddress;
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, null];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === null ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `/${groups.map((g) => (g.includes('.') ? g : parseInt(g, 16).toString(16))).join(':')}${zone >= 0 ? remoteAddress.slice(zone) : ''}`;
}
