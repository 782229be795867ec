import autocannon from "autocannon";

export type LoadResult = {
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
};

type Common = { url: string; body: string; connections: number };

function summarise(result: autocannon.Result): LoadResult {
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

/** Full-speed load: as many requests as `connections` keep in flight, for `durationS`. */
export async function saturate(options: Common & { durationS: number }): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: options.body,
    connections: options.connections,
    duration: options.durationS,
  });
  return summarise(result);
}

/**
 * Posts every body once, as fast as `connections` allow, and reports which were acknowledged
 * (HTTP 200) and when the last acknowledgement arrived.
 */
export async function postAll(options: { url: string; bodies: string[]; connections: number }): Promise<{
  acked: boolean[];
  lastAckMs: number;
  result: LoadResult;
}> {
  const acked = options.bodies.map(() => false);
  let next = 0;
  let lastAckMs = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    amount: options.bodies.length,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        // Each connection has one request in flight, so its context names the one being answered.
        setupRequest: (request, context: { index?: number }) => {
          const index = next++;
          context.index = index;
          return { ...request, body: options.bodies[index] ?? options.bodies[0] };
        },
        onResponse: (status, _body, context: { index?: number }) => {
          if (status === 200 && typeof context.index === "number") {
            acked[context.index] = true;
            lastAckMs = performance.now();
          }
        },
      },
    ],
  });
  return { acked, lastAckMs, result: summarise(result) };
}
