import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { RECEIPT_PACKET_SCHEMA_VERSION } from "./receipt-packet.js";

/**
 * Workers trust rows stamped with their own RECEIPT_PACKET_SCHEMA_VERSION without parsing
 * them again, so a change to what the schema accepts, or to the wire form the rows are in,
 * must come with a new version. This pins the version to the code of both (comments and
 * layout aside) and to zod's version: when any of them changes, the test fails until the
 * version is bumped (or the change is judged not to alter what the schema accepts or outputs,
 * or where the wire form puts each value) and the fingerprint below is updated.
 */
const SCHEMA_SOURCES = ["receipt-packet.ts", "read-receipt.ts", "storable-text.ts", "wire-packet.ts"];
const PINNED = {
  version: 2,
  fingerprint: "f8ba0131e150f916da1f6aea5990cc0c34956cef983cf4cf1e8e7922f9bd475a",
};

function schemaFingerprint(): string {
  const printer = ts.createPrinter({ removeComments: true });
  const hash = createHash("sha256");
  for (const name of SCHEMA_SOURCES) {
    const text = readFileSync(new URL(name, import.meta.url), "utf8");
    hash.update(printer.printFile(ts.createSourceFile(name, text, ts.ScriptTarget.Latest)));
  }
  const zodPackage = createRequire(import.meta.url)("zod/package.json") as { version: string };
  return hash.update(`zod ${zodPackage.version}`).digest("hex");
}

describe("RECEIPT_PACKET_SCHEMA_VERSION", () => {
  it("changes whenever the packet schema's code or zod changes", () => {
    expect(
      { version: RECEIPT_PACKET_SCHEMA_VERSION, fingerprint: schemaFingerprint() },
      "the packet schema changed: if what it accepts or outputs changed, bump RECEIPT_PACKET_SCHEMA_VERSION; then pin the new fingerprint",
    ).toEqual(PINNED);
  });
});
