import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, query, type TestDatabase } from "@receipt-sync/testing";
import { arrayLiteral } from "./receipt-sql.js";

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase({ migrated: false });
});
afterAll(() => testDb.drop());

async function roundTrip(values: (string | null)[]): Promise<(string | null)[]> {
  const [row] = await query<{ a: (string | null)[] }>(testDb.url, "SELECT $1::text[] AS a", [arrayLiteral(values)]);
  return row!.a;
}

describe("arrayLiteral", () => {
  it("keeps text that means something inside an array literal as text", async () => {
    const values = [
      'a"b',
      "back\\slash",
      "{braces}",
      "com,ma",
      " spaced ",
      "NULL",
      "null",
      "nUlL",
      "NULLs",
      "",
      "\v\f\r",
      "a b",
      "Zoë 读者 🙂",
      null,
      '\\"',
      "\n\t",
    ];
    expect(await roundTrip(values)).toEqual(values);
  });

  it("carries bigints past 2^53 and ints exactly", async () => {
    const [row] = await query<{ big: string[]; small: number[] }>(
      testDb.url,
      "SELECT $1::bigint[]::text[] AS big, $2::int[] AS small",
      [arrayLiteral(["9223372036854775807", "0", "9007199254740993"]), arrayLiteral([0, -7, 2147483647])],
    );
    expect(row).toEqual({ big: ["9223372036854775807", "0", "9007199254740993"], small: [0, -7, 2147483647] });
  });

  it("round-trips any text Postgres can store", async () => {
    const text = fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !s.includes("\u0000"));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text, { nil: null }), { maxLength: 8 }), async (values) => {
        expect(await roundTrip(values)).toEqual(values);
      }),
      { numRuns: 200 },
    );
  });

  it("round-trips text made of what array syntax means", async () => {
    const syntax = fc.constantFrom(...'{}",\\ \t\n\r\v\f\u00a0\u2028a', "NULL", "null", "nUlL");
    const text = fc.array(syntax, { maxLength: 4 }).map((parts) => parts.join(""));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text, { nil: null }), { maxLength: 8 }), async (values) => {
        expect(await roundTrip(values)).toEqual(values);
      }),
      { numRuns: 300 },
    );
  });
});
