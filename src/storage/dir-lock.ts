/**
 * One broker per data directory, enforced by a lock the kernel releases when its holder dies.
 *
 * Kafka holds an OS file lock (FileChannel.tryLock → flock/fcntl) on `.lock`. Node has no flock,
 * and a pid in a file is no lock: after `kill -9` the pid may still be being reaped (a restart is
 * refused), or an unrelated process may reuse it (the broker is blocked until someone deletes the
 * file). Native flock bindings would need a compiler or a prebuilt binary per platform. A listening
 * socket is a kernel object with the same property, from Node's standard library:
 *
 * - Linux: a Unix socket in the abstract namespace, named after a hash of the directory's real path
 *   (`\0rafka-lock:<sha256>`). No file: the name exists exactly as long as the listening socket,
 *   which the kernel closes when the process dies, however it dies.
 * - Windows: a named pipe with the same name; also closed by the kernel with its process.
 * - Other Unix systems (macOS, BSD): a socket file in the directory (`.lock.sock`). The file
 *   outlives a killed holder, so a bind that fails with EADDRINUSE connects to it: a refused
 *   connection means nobody listens (a stale file: removed, bind again); an accepted one means a
 *   live holder.
 *
 * The sockets are opened with close-on-exec (libuv), so a child process never inherits the lock.
 * The caller keeps the pid of the holder in a file beside it for the message only; the lock is the
 * socket.
 */
import net from 'node:net';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { realpath, unlink } from 'node:fs/promises';

/** The fallback socket file (platforms without an abstract namespace or named pipes). */
export const LOCK_SOCKET_FILE = '.lock.sock';

/** The directory is locked by another live process (or by another open engine in this one). */
export class DirLockHeldError extends Error {
  override readonly name = 'DirLockHeldError';
}

export class DirLock {
  private released = false;

  private constructor(
    private readonly server: net.Server,
    private readonly socketFile: string | null,
  ) {}

  /**
   * Take the lock of `dir` (which must exist); throws DirLockHeldError when it is held. `kind`
   * 'file' forces the socket-file variant (tests exercise it on Linux too).
   */
  static async acquire(dir: string, kind: 'platform' | 'file' = 'platform'): Promise<DirLock> {
    const real = await realpath(dir);
    const name = `rafka-lock:${createHash('sha256').update(real).digest('hex')}`;
    if (kind === 'platform' && process.platform === 'linux') return new DirLock(await listen(`\0${name}`), null);
    if (kind === 'platform' && process.platform === 'win32') return new DirLock(await listen(`\\\\.\\pipe\\${name}`), null);
    const file = path.join(real, LOCK_SOCKET_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return new DirLock(await listen(file), file);
      } catch (err) {
        if (!(err instanceof DirLockHeldError)) throw err;
        if (await answers(file)) throw err;
        await unlink(file).catch(() => {}); // stale: its holder died without removing it
      }
    }
    throw new DirLockHeldError(`${dir} is locked`);
  }

  /** Give the lock up (clean close, or a test's simulated crash: what the kernel does at death). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.socketFile !== null) await unlink(this.socketFile).catch(() => {});
  }
}

function listen(address: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // Connections are only ever probes of the fallback (is anyone there?): closed at once.
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new DirLockHeldError(`the lock ${JSON.stringify(address)} is held`) : err);
    });
    server.listen({ path: address, exclusive: true }, () => {
      server.unref(); // the lock never keeps the process alive
      resolve(server);
    });
  });
}

/** Whether something listens on the socket file (ECONNREFUSED: a stale file). */
function answers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
