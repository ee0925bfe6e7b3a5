/**
 * Long-polling fetches wait here for data. A produce calls `notify` for the partition it appended
 * to; each waiter registered on that partition re-checks whether it now has `min_bytes`.
 */
export interface Waiter {
  wake(): void;
}

export class PartitionWaiters {
  private readonly byPartition = new Map<string, Set<Waiter>>();

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  add(topic: string, partition: number, w: Waiter): void {
    const k = PartitionWaiters.key(topic, partition);
    let set = this.byPartition.get(k);
    if (!set) this.byPartition.set(k, (set = new Set()));
    set.add(w);
  }

  remove(topic: string, partition: number, w: Waiter): void {
    const k = PartitionWaiters.key(topic, partition);
    const set = this.byPartition.get(k);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.byPartition.delete(k);
  }

  notify(topic: string, partition: number): void {
    const set = this.byPartition.get(PartitionWaiters.key(topic, partition));
    if (!set) return;
    for (const w of [...set]) w.wake();
  }

  /** Distinct waiters (long-polling fetches), however many partitions each waits on: the fetch purgatory's size. */
  get waiting(): number {
    const all = new Set<Waiter>();
    for (const set of this.byPartition.values()) for (const w of set) all.add(w);
    return all.size;
  }

  /** Wake every waiter (shutdown: long polls answer at once with what they have). */
  wakeAll(): void {
    for (const set of [...this.byPartition.values()]) for (const w of [...set]) w.wake();
  }
}
