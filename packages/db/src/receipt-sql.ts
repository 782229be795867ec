import type { WirePacket } from "@receipt-sync/protocol";

/**
 * The statement that writes a batch, as plain parameterised SQL so that Prisma's driver
 * adapter (`executeStatement`, bound parameters) and the benchmark's raw `pg` ceiling run
 * exactly the same text. It takes whole columns as arrays and unnests them, and inserts into
 * all three tables at once (two inserts in WITH, one after): one statement per batch, however
 * many rows. One statement is its own transaction and one round trip; three statements inside
 * BEGIN and COMMIT were five, each waiting its turn on the worker's busy event loop while the
 * connection idled, and Prisma's batch transaction cost more CPU than one call.
 *
 * Every insert is an idempotent merge: counts keep the newest snapshot and readers their
 * earliest read_at, whatever the order; the ledger keeps the first row written. Rows are
 * inserted in primary-key order (ORDER BY), and the inserts run ledger, counts, readers, each
 * finished before the next starts (see after()), so concurrent writers touching the same
 * messages, and the retention pruner, wait for each other instead of deadlocking.
 *
 * A batch may name one row several times (a Tencent retry, two events for one message).
 * `ON CONFLICT DO UPDATE` cannot touch a row twice in one statement, so DISTINCT ON keeps the
 * row the merge would keep: the same sort the lock order needs, with the merge's tie-breaks
 * after the key. Postgres folds the batch while it sorts it anyway, and the worker only
 * appends values to column text in one pass, allocating no row objects, keys or maps (it
 * spent a fifth of its time collecting such garbage).
 *
 * Each column travels as one text parameter holding a Postgres array literal, cast back to its
 * array type in SQL. Prisma handles one string where it would walk thousands of elements. A
 * table the batch has no rows for gets empty arrays, and its insert does nothing.
 */
type Statement = { sql: string; params: string[] };

// Milliseconds since epoch -> timestamptz, exactly (no float division by 1000).
const fromMs = (column: string) => `(timestamptz 'epoch' + ${column} * interval '1 millisecond')`;

/**
 * A condition that holds only once the insert named `part` has run to completion: counting its
 * RETURNING rows needs all of them. Postgres runs an uncorrelated condition once, before the
 * first row it guards, so no row of the guarded insert is locked until then. The order of
 * inserts in one statement is otherwise unspecified.
 */
const after = (part: string) => `(SELECT count(*) FROM ${part}) >= 0`;

// Every part reads the batch's one message list, the same parameters unnested again: a row per
// message of a callback (its ledger entry and counts at once), or per repair. A row without a
// received time has no ledger entry, one without a group type no counts.
const MESSAGES = `unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
         $8::text[], $9::int[], $10::int[])`;
const MESSAGE_COLUMNS = "app, grp, seq, event_ms, received_ms, ip, platform, typ, read_num, unread_num";

const UPSERT_EVENTS = `
  INSERT INTO read_receipt_events (sdk_app_id, group_id, msg_seq, event_time, received_at, client_ip, opt_platform)
  SELECT DISTINCT ON (t.app, t.grp, t.seq, t.event_ms)
         t.app, t.grp, t.seq, ${fromMs("t.event_ms")}, ${fromMs("t.received_ms")}, t.ip, t.platform
  FROM ${MESSAGES} AS t(${MESSAGE_COLUMNS})
  WHERE t.received_ms IS NOT NULL
  ORDER BY t.app, t.grp, t.seq, t.event_ms, t.received_ms
  ON CONFLICT DO NOTHING
  RETURNING 1`;

const UPSERT_RECEIPTS = `
  INSERT INTO group_message_receipts AS r
    (sdk_app_id, group_id, msg_seq, group_type, read_num, unread_num, event_time, updated_at)
  SELECT DISTINCT ON (t.app, t.grp, t.seq)
         t.app, t.grp, t.seq, t.typ, t.read_num, t.unread_num, ${fromMs("t.event_ms")}, now()
  FROM ${MESSAGES} AS t(${MESSAGE_COLUMNS})
  WHERE t.typ IS NOT NULL AND ${after("events")}
  ORDER BY t.app, t.grp, t.seq, t.event_ms DESC, t.read_num DESC, t.unread_num, t.typ
  ON CONFLICT (sdk_app_id, group_id, msg_seq) DO UPDATE SET
    group_type = EXCLUDED.group_type,
    read_num = EXCLUDED.read_num,
    unread_num = EXCLUDED.unread_num,
    event_time = EXCLUDED.event_time,
    updated_at = EXCLUDED.updated_at
  -- The newest snapshot wins: newer event, then more readers, then fewer unread, then the group
  -- type first in sort order (r and EXCLUDED swap places there), as DISTINCT ON keeps in a batch.
  WHERE (EXCLUDED.event_time, EXCLUDED.read_num, -EXCLUDED.unread_num, r.group_type)
      > (r.event_time, r.read_num, -r.unread_num, EXCLUDED.group_type)
  RETURNING 1`;

// A reader names its message by the message's number in the list, and was read at the
// message's event time: SdkAppid, GroupId and MsgSeq travel once per message, not once per
// reader (every byte of a parameter is copied on its way to Postgres, which parses it).
const UPSERT_READERS = `
  INSERT INTO group_message_readers AS m (sdk_app_id, group_id, msg_seq, member_account, read_at)
  SELECT DISTINCT ON (g.app, g.grp, g.seq, r.account)
         g.app, g.grp, g.seq, r.account, ${fromMs("g.event_ms")}
  FROM ${MESSAGES} WITH ORDINALITY AS g(${MESSAGE_COLUMNS}, no)
  JOIN unnest($11::bigint[], $12::text[]) AS r(no, account) USING (no)
  WHERE ${after("receipts")}
  ORDER BY g.app, g.grp, g.seq, r.account, g.event_ms
  ON CONFLICT (sdk_app_id, group_id, msg_seq, member_account) DO UPDATE SET read_at = EXCLUDED.read_at
  WHERE EXCLUDED.read_at < m.read_at`;

// Parameters are numbered in the order ReceiptColumns.statement() lists them. The ledger, then
// the counts, then the readers (see after()): the order every writer takes row locks in, which
// the retention pruner relies on (prune-sql.ts).
const UPSERT_BATCH = `
  WITH events AS (${UPSERT_EVENTS}),
  receipts AS (${UPSERT_RECEIPTS})
  ${UPSERT_READERS}`;

/**
 * One column of an array literal, collected value by value and joined once. Text that array
 * syntax could misread (a quote, a backslash, a brace, a comma, whitespace, the word NULL in
 * any case, the empty string) is double-quoted with `\` and `"` escaped; any other text goes
 * bare, as numbers do (bigint values as JS integers are exact up to 2^53, which the packet
 * schema enforces), so the texts stay short. Joining an array yields one flat string;
 * appending with `+=` built ropes that had to be flattened before they were sent.
 */
type ColumnKind = "text" | "number";

class Column {
  private readonly values: (string | number)[];
  private count = 0;

  /** `capacity`: the values expected, when known, so that the array is made once instead of grown. */
  constructor(
    private readonly kind: ColumnKind,
    capacity = 0,
  ) {
    this.values = new Array<string | number>(capacity);
  }

  add(value: string | number | null): void {
    let element: string | number;
    if (value === null) element = "NULL";
    else if (this.kind === "number") element = value;
    else element = NEEDS_QUOTES.test(value as string) ? `"${(value as string).replace(/[\\"]/g, "\\$&")}"` : value;
    this.values[this.count++] = element;
  }

  literal(): string {
    this.values.length = this.count;
    return `{${this.values.join(",")}}`;
  }
}

// Postgres' array input takes these as syntax in a bare element (its whitespace is a subset of \s).
const NEEDS_QUOTES = /[\s"\\{},]|^$|^null$/i;

// The message list's columns and the readers', in the statement's parameter order.
const messageColumns = (rows: number) => ({
  app: new Column("number", rows),
  grp: new Column("text", rows),
  seq: new Column("number", rows),
  eventMs: new Column("number", rows),
  receivedMs: new Column("number", rows),
  ip: new Column("text", rows),
  platform: new Column("text", rows),
  type: new Column("text", rows),
  read: new Column("number", rows),
  unread: new Column("number", rows),
});
const readerColumns = (readers: number) => ({
  messageNo: new Column("number", readers),
  account: new Column("text", readers),
});

/** Collects a batch's rows straight into the statement's columns (in its parameter order). */
export class ReceiptColumns {
  /** Entries appended (before Postgres folds duplicates). */
  messages = 0;
  readers = 0;
  events = 0;
  /** Rows of the message list; a reader names its message by this count. */
  private rows = 0;
  private readonly message: ReturnType<typeof messageColumns>;
  private readonly reader: ReturnType<typeof readerColumns>;

  /** `expected`: how many messages and readers the batch has, when known (see Column). */
  constructor(expected = { messages: 0, readers: 0 }) {
    this.message = messageColumns(expected.messages);
    this.reader = readerColumns(expected.readers);
  }

  /** Every row one callback contributes: per message its counts, its ledger entry and its readers. */
  addPacket(packet: WirePacket): void {
    // Indexed reads, not destructuring, which runs an array's iterator per packet and message.
    const app = packet[0];
    const grp = packet[4];
    const messages = packet[7];
    for (let m = 0; m < messages.length; m++) {
      const message = messages[m]!;
      const readers = message[3];
      this.addMessage(
        app,
        grp,
        message[0],
        packet[6],
        packet[3],
        packet[1],
        packet[2],
        packet[5],
        message[1],
        message[2],
      );
      this.messages += 1;
      this.events += 1;
      if (readers) for (let r = 0; r < readers.length; r++) this.addReader(readers[r]!);
    }
  }

  /** Counts of one message as of `eventMs`, with no ledger entry. */
  addReceipt(app: string, grp: string, seq: number, type: string, read: number, unread: number, eventMs: number): void {
    this.addMessage(app, grp, seq, eventMs, null, null, null, type, read, unread);
    this.messages += 1;
  }

  /** Readers of one message, read at `readMs`. */
  addReaders(app: string, grp: string, seq: number, readMs: number, accounts: Iterable<string>): void {
    let first = true;
    for (const account of accounts) {
      if (first) this.addMessage(app, grp, seq, readMs, null, null, null, null, null, null);
      first = false;
      this.addReader(account);
    }
  }

  /**
   * A row of the message list: with a ledger entry when `receivedMs` is given, with counts when
   * `type` is. Values go in one by one, as the columns take them: no object per row.
   */
  private addMessage(
    app: string,
    grp: string,
    seq: number,
    eventMs: number,
    receivedMs: number | null,
    ip: string | null,
    platform: string | null,
    type: string | null,
    read: number | null,
    unread: number | null,
  ): void {
    const c = this.message;
    c.app.add(app);
    c.grp.add(grp);
    c.seq.add(seq);
    c.eventMs.add(eventMs);
    c.receivedMs.add(receivedMs);
    c.ip.add(ip);
    c.platform.add(platform);
    c.type.add(type);
    c.read.add(read);
    c.unread.add(unread);
    this.rows += 1;
  }

  /** A reader of the message added last. */
  private addReader(account: string): void {
    this.reader.messageNo.add(this.rows);
    this.reader.account.add(account);
    this.readers += 1;
  }

  /** The statement that writes the batch; undefined when it has nothing to write. */
  statement(): Statement | undefined {
    if (this.rows === 0) return undefined;
    const params: string[] = [];
    for (const columns of [this.message, this.reader])
      for (const column of Object.values(columns)) params.push(column.literal());
    return { sql: UPSERT_BATCH, params };
  }
}

/** The columns of every row `packets` write; `.statement()` gives the SQL. */
export function receiptColumnsOf(packets: readonly WirePacket[]): ReceiptColumns {
  let messages = 0;
  let readers = 0;
  for (let p = 0; p < packets.length; p++) {
    const list = packets[p]![7];
    messages += list.length;
    for (let m = 0; m < list.length; m++) readers += list[m]![3]?.length ?? 0;
  }
  const columns = new ReceiptColumns({ messages, readers });
  for (const packet of packets) columns.addPacket(packet);
  return columns;
}

/**
 * A Postgres array literal of `values` (for statements outside the receipt path, e.g. the
 * quarantine's), quoted and escaped as Column does it; null becomes NULL.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  const column = new Column("text");
  for (const value of values) column.add(value === null || value === undefined ? null : String(value));
  return column.literal();
}
