type GroupCommitOptions<T> = {
  /** Persists a group of items; resolves when all of them are durable. */
  commit: (items: T[]) => Promise<void>;
  /** Upper bound on the summed size of one group. */
  maxGroupSize: number;
  /** Commits allowed in flight at once; items submitted meanwhile wait and share the next one. */
  maxConcurrentCommits: number;
  /** Size of one item (default 1). An item larger than maxGroupSize forms a group alone. */
  sizeOf?: (item: T) => number;
  /** When a group fails, commit its items one by one, so one bad item fails alone. */
  isolateFailures?: boolean;
};

type Waiter<T> = { item: T; size: number; resolve: () => void; reject: (error: Error) => void };

/**
 * Group commit: `submit` resolves only once its item is committed, but items submitted while
 * commits are in flight share the next one. An idle system commits each item at once (no
 * added latency); under load one round trip carries many items.
 */
export class GroupCommit<T> {
  private pending: Waiter<T>[] = [];
  private commitsInFlight = 0;
  private flushScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly sizeOf: (item: T) => number;

  constructor(private readonly options: GroupCommitOptions<T>) {
    this.sizeOf = options.sizeOf ?? (() => 1);
  }

  /** Rejects at once, committing nothing, when `sizeOf` throws for the item. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, size: this.sizeOf(item), resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Items submitted but not yet committed or refused. */
  get backlog(): number {
    return this.pending.length + this.commitsInFlight;
  }

  /** Resolves when every submitted item has been committed or refused. */
  async drain(): Promise<void> {
    if (this.backlog === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.commitsInFlight >= this.options.maxConcurrentCommits) return;
    this.flushScheduled = true;
    // setImmediate lets everything submitted in this turn of the event loop join the group.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.commitsInFlight < this.options.maxConcurrentCommits && this.pending.length > 0) {
      const group = this.takeGroup();
      this.commitsInFlight += 1;
      void this.commitGroup(group).finally(() => {
        this.commitsInFlight -= 1;
        if (this.pending.length > 0) this.scheduleFlush();
        else if (this.commitsInFlight === 0) this.notifyIdle();
      });
    }
  }

  private takeGroup(): Waiter<T>[] {
    let size = 0;
    let count = 0;
    for (const waiter of this.pending) {
      if (count > 0 && size + waiter.size > this.options.maxGroupSize) break;
      size += waiter.size;
      count += 1;
    }
    return this.pending.splice(0, count);
  }

  private async commitGroup(group: Waiter<T>[]): Promise<void> {
    try {
      await this.options.commit(group.map((w) => w.item));
      for (const waiter of group) waiter.resolve();
    } catch (error) {
      if (this.options.isolateFailures && group.length > 1) {
        for (const waiter of group) await this.commitGroup([waiter]);
        return;
      }
      const reason = error instanceof Error ? error : new Error(String(error));
      for (const waiter of group) waiter.reject(reason);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
