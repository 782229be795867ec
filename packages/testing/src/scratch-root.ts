import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** vitest globalSetup: one scratch directory per test run, inherited by every test process. */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "rs-test-run-"));
  process.env.RS_SCRATCH_ROOT = root;
  return () => rmSync(root, { recursive: true, force: true });
}
