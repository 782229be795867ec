import { Agent, request } from "node:http";

export type LatencyResult = { sent: number; ok: number; rps: number; p50Ms: number; p99Ms: number; maxMs: number };

/**
 * Open-loop latency at a fixed offered rate: request i is due at start + i/rate, whatever the
 * earlier replies did, and its latency counts from when it was due, so a stall shows up in the
 * percentiles instead of silently lowering the rate ("coordinated omission"). autocannon's
 * rate limit cannot do this: it sends each second's whole budget as one burst.
 */
export async function pacedLatency(options: { url: string; body: string; rate: number; durationS: number; maxSockets: number }): Promise<LatencyResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const target = new URL(options.url);
  const payload = Buffer.from(options.body);
  const total = Math.round(options.rate * options.durationS);
  const intervalMs = 1000 / options.rate;
  const latencies: number[] = [];
  let ok = 0;
  let sent = 0;
  const startedMs = performance.now();

  const send = (dueMs: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        { agent, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: "POST", headers: { "content-type": "application/json", "content-length": payload.length } },
        (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - dueMs);
            if (res.statusCode === 200) ok += 1;
            resolve();
          });
        },
      );
      req.on("error", () => resolve());
      req.end(payload);
    });

  const inFlight: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && startedMs + sent * intervalMs <= now) {
        inFlight.push(send(startedMs + sent * intervalMs));
        sent += 1;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, startedMs + sent * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - startedMs) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { sent, ok, rps: sent / elapsedS, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: latencies.at(-1) ?? Number.NaN };
}
