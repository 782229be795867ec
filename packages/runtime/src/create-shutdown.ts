import type { Logger } from "pino";

export type ShutdownStep = { name: string; timeoutMs: number; run: () => Promise<void> };

/**
 * One ordered shutdown path: each step runs after the previous one settled, each under its own
 * deadline (BullMQ's Worker.close() has none of its own), and a failing step does not skip the
 * rest. Calling it again returns the same promise.
 */
export function createShutdown(steps: ShutdownStep[], log: Logger): () => Promise<boolean> {
  let running: Promise<boolean> | undefined;
  return () => {
    running ??= (async () => {
      let clean = true;
      for (const step of steps) {
        const outcome = await withDeadline(step.run(), step.timeoutMs);
        if (outcome !== "done") {
          clean = false;
          log.error({ step: step.name, outcome }, "shutdown step did not finish cleanly");
        }
      }
      return clean;
    })();
    return running;
  };
}

async function withDeadline(work: Promise<void>, timeoutMs: number): Promise<"done" | "timed out" | string> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"timed out">((resolve) => {
    timer = setTimeout(() => resolve("timed out"), timeoutMs);
  });
  try {
    return await Promise.race([work.then(() => "done" as const), deadline]);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM/SIGINT run `shutdown` once, then exit 0 if it was clean, 1 if not. */
export function exitOnSignals(shutdown: () => Promise<boolean>, log: Logger): void {
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, "shutting down");
    void shutdown().then((clean) => process.exit(clean ? 0 : 1));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}
