import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A new directory for one test's files. Under vitest it lives in the run's own scratch root
 * (scratch-root.ts), which is removed when the run ends.
 */
export function scratchDir(name: string): string {
  return mkdtempSync(join(process.env.RS_SCRATCH_ROOT ?? tmpdir(), `rs-${name}-`));
}
