import { createReadStream } from "node:fs";

const NEWLINE = 0x0a;
const CHUNK_BYTES = 256 * 1024;

/**
 * The non-empty lines of a spool segment, streamed: memory holds one 256 KiB chunk plus the
 * line being assembled, never the file. A segment written before segments were size-capped can
 * be larger than V8's longest string (~512 MiB), so it must never be read whole. The last line
 * may lack its newline (a write torn by a crash); it is yielded like any other.
 */
export async function* segmentLines(path: string): AsyncGenerator<Buffer> {
  let partial: Buffer[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      const line = partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
      partial = [];
      start = end + 1;
      if (line.length > 0) yield line;
    }
    if (start < chunk.length) partial.push(chunk.subarray(start));
  }
  if (partial.length > 0) yield Buffer.concat(partial);
}

/** How many lines `segmentLines` will yield, counted from the chunks without assembling any line. */
export async function countSegmentLines(path: string): Promise<number> {
  let lines = 0;
  let lineOpen = false; // bytes seen since the last newline
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (lineOpen || end > start) lines += 1;
      lineOpen = false;
      start = end + 1;
    }
    if (start < chunk.length) lineOpen = true;
  }
  return lineOpen ? lines + 1 : lines;
}
