export class TimeoutError extends Error {}

/**
 * Settles with `work`, or rejects with a TimeoutError after `timeoutMs`. The work itself is
 * not cancelled: callers must be fine with it finishing later (every write here is idempotent).
 */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
