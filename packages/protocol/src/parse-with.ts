import type { z } from "zod";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Parses `value` with `schema` into a ParseResult whose error names the first few issues as
 * `path: message`. `rename` maps a top-level key to what the caller knows it as ("" drops it),
 * so a reply says `GroupId: ...` rather than `receipt.GroupId: ...`.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  rename: Record<string, string> = {},
): ParseResult<z.output<S>> {
  const result = schema.safeParse(value);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: describeIssues(result.error, rename) };
}

function describeIssues(error: z.ZodError, rename: Record<string, string>, maxIssues = 3): string {
  const parts = error.issues.slice(0, maxIssues).map((issue) => {
    const [head, ...rest] = issue.path.map(String);
    const path = [head !== undefined && head in rename ? rename[head] : head, ...rest].filter(
      (p) => p !== undefined && p !== "",
    );
    return `${path.length > 0 ? path.join(".") : "body"}: ${issue.message}`;
  });
  const more = error.issues.length - maxIssues;
  return more > 0 ? `${parts.join("; ")} (+${more} more)` : parts.join("; ");
}
