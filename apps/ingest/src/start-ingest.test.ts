import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { APP_ID, dropQueue, openQueue, scratchDir, TEST_REDIS_URL, uniquePrefix } from "@receipt-sync/testing";
import { startIngest } from "./start-ingest.js";
import { loadConfig } from "./load-config.js";

/** Starts an ingest with `env`, returns the lines it logged while starting. */
async function startupLog(env: Record<string, string>): Promise<string[]> {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const prefix = uniquePrefix();
  const config = {
    ...loadConfig({
      SDKAPPID: APP_ID,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SPOOL_DIR: scratchDir("spool"),
      ...env,
    }),
    port: 0,
  };
  const ingest = await startIngest(config, log);
  await ingest.shutdown();
  await dropQueue(openQueue(prefix));
  return lines;
}

describe("startIngest", () => {
  it("warns at start when callbacks are unauthenticated, saying what that allows", async () => {
    const warning = (await startupLog({}))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.msg.startsWith("CALLBACK_TOKEN is not set"));
    expect(warning).toMatchObject({ level: 40, msg: expect.stringContaining("anyone who can reach this URL") });
  });

  it("does not warn when a callback token is set", async () => {
    expect((await startupLog({ CALLBACK_TOKEN: "a-token" })).join("\n")).not.toContain("CALLBACK_TOKEN is not set");
  });
});
