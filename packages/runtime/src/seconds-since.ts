/** Seconds elapsed since `startedNs` (a `process.hrtime.bigint()` reading), for histograms. */
export function secondsSince(startedNs: bigint): number {
  return Number(process.hrtime.bigint() - startedNs) / 1e9;
}
