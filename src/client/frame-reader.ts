/**
 * Size-prefixed frames read straight from a socket into buffers of their own, through net's
 * `onread` option (the kernel copies into the buffer we hand it for each read):
 *
 * - Small frames and frame headers land in one reused scratch buffer; a complete small frame is
 *   copied out (a response may keep views of its frame, so the scratch space cannot be handed out).
 * - A frame larger than `directBytes` gets a buffer of its exact size as soon as its size prefix is
 *   known, and the following reads go straight into the rest of it: a 1 MiB fetch response costs
 *   no chunk allocations and no copy in JavaScript — Node's default reading allocates a new 64 KiB
 *   buffer per read, and gluing them together copies every byte once more.
 *
 * Reads never cross the end of a direct frame, so a direct frame is complete exactly when it is
 * full. `buffer()` never returns an empty buffer (libuv answers ENOBUFS to an empty one).
 */
export interface FrameReaderOptions {
  /** A frame larger than this is refused (a corrupt size prefix must not make us allocate gigabytes). */
  maxFrameBytes: number;
  /** Frames larger than this are read into their own buffer directly (default 8 KiB). */
  directBytes?: number;
  /** Size of the scratch buffer for headers and small frames (default 64 KiB). */
  scratchBytes?: number;
}

export class FrameReader {
  private readonly scratch: Buffer;
  private readonly maxFrameBytes: number;
  private readonly directBytes: number;
  /** Unparsed bytes of the scratch buffer: [start, end). */
  private start = 0;
  private end = 0;
  /** The direct frame being filled, and how much of it is. */
  private frame: Buffer | null = null;
  private filled = 0;
  private stopped = false;

  constructor(
    opts: FrameReaderOptions,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onError: (message: string) => void,
  ) {
    this.maxFrameBytes = opts.maxFrameBytes;
    this.scratch = Buffer.allocUnsafe(opts.scratchBytes ?? 64 * 1024);
    // A small frame plus its prefix must always fit in the scratch buffer once it is compacted.
    this.directBytes = Math.min(opts.directBytes ?? 8 * 1024, this.scratch.length >> 1);
  }

  /** Stop delivering frames (the connection is closed). */
  stop(): void {
    this.stopped = true;
    this.frame = null;
  }

  /** Where the next read goes (net's onread.buffer). */
  buffer(): Buffer {
    if (this.frame) return this.frame.subarray(this.filled);
    if (this.start === this.end) this.start = this.end = 0;
    else if (this.start > 0) {
      // A partial small frame (or header) at the end: move it to the front.
      this.scratch.copy(this.scratch, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    return this.scratch.subarray(this.end);
  }

  /** `n` bytes were read into the buffer last returned by buffer() (net's onread.callback). */
  onRead(n: number): void {
    if (this.stopped) return;
    if (this.frame) {
      this.filled += n;
      if (this.filled === this.frame.length) {
        const f = this.frame;
        this.frame = null;
        this.filled = 0;
        this.onFrame(f);
      }
      return;
    }
    this.end += n;
    const s = this.scratch;
    while (!this.stopped && this.end - this.start >= 4) {
      const size = s.readInt32BE(this.start);
      if (size < 4 || size > this.maxFrameBytes) {
        this.stopped = true;
        this.onError(`invalid frame size ${size}`);
        return;
      }
      const have = this.end - this.start - 4;
      if (have >= size) {
        const f = Buffer.allocUnsafe(size);
        s.copy(f, 0, this.start + 4, this.start + 4 + size);
        this.start += 4 + size;
        this.onFrame(f);
        continue;
      }
      if (size > this.directBytes) {
        const f = Buffer.allocUnsafe(size);
        s.copy(f, 0, this.start + 4, this.end);
        this.frame = f;
        this.filled = have;
        this.start = this.end = 0;
      }
      return;
    }
  }
}
