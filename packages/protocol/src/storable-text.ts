import { z } from "zod";

/**
 * Text that Postgres stores exactly as given. Two traps make other text unsafe:
 * - U+0000: a text column cannot hold it, so the write fails.
 * - A lone UTF-16 surrogate: node-postgres encodes it as U+FFFD, so "x\ud800" and "x\udbff"
 *   become the same key and one statement updates a row twice (SQLSTATE 21000).
 * Both ends of the pipeline check with this one definition, so the ingest never acknowledges
 * text the worker or Postgres would refuse.
 */
export function isStorableText(text: string): boolean {
  return text.isWellFormed() && !text.includes("\u0000");
}

export const storableText = (maxChars: number) =>
  z
    .string()
    .min(1, "must not be empty")
    .max(maxChars, `must be at most ${maxChars} characters`)
    .refine(isStorableText, "must be well-formed Unicode text without NUL characters");

/** Tencent sends `ClientIP=` and `OptPlatform=` empty (e.g. for a REST API read): empty means absent. */
export const optionalStorableText = (maxChars: number) =>
  z.preprocess((value) => (value === "" || value === undefined ? null : value), storableText(maxChars).nullable());
