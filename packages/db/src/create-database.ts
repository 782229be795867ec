import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.js";

export type Database = PrismaClient;

type PgAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;
/** Each database's pool, for statements sent through Prisma's driver adapter (`executeStatement`). */
const pools = new WeakMap<Database, { pool: pg.Pool; adapter?: Promise<PgAdapter> }>();

type DatabaseOptions = {
  databaseUrl: string;
  /** Connections in the pool; a worker needs about one per concurrent batch. */
  poolMax?: number;
  /** A connection attempt that has not succeeded by then fails. */
  connectTimeoutMs?: number;
  /** Postgres cancels a statement running longer (server side, `statement_timeout`). */
  statementTimeoutMs?: number;
  /**
   * A connection checked out longer than this (one transaction, however many statements) is
   * destroyed, so its query fails and the caller can retry on a fresh one. Postgres ends a
   * session left idle inside a transaction as long (`idle_in_transaction_session_timeout`),
   * which frees the row locks a vanished client held.
   */
  transactionTimeoutMs?: number;
};

/**
 * Prisma Client over node-postgres: no native query engine, so it runs wherever Node runs.
 *
 * Invariant: no database call waits for ever. A connection that goes silent (a dead NAT entry,
 * a failover: no RST, no FIN) never errors by itself, and TCP keepalive cannot see it when a
 * middlebox still answers for the peer. So every checkout has a deadline: past it the socket
 * is destroyed, the statement fails as a lost connection (transient: the job is retried), and
 * the pool drops the client instead of handing the dead socket out again.
 */
export function createDatabase(options: DatabaseOptions): Database {
  const {
    databaseUrl,
    poolMax = 10,
    connectTimeoutMs = 5_000,
    statementTimeoutMs = 15_000,
    transactionTimeoutMs = 20_000,
  } = options;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolMax,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: transactionTimeoutMs,
  });
  const deadlines = new Map<pg.PoolClient, NodeJS.Timeout>();
  pool.on("acquire", (client) => {
    const timer = setTimeout(() => {
      deadlines.delete(client);
      const stream = (client as unknown as { connection?: { stream?: { destroy: (error?: Error) => void } } })
        .connection?.stream;
      stream?.destroy(
        new Error(`connection held for more than ${transactionTimeoutMs} ms; closed so the write can be retried`),
      );
    }, transactionTimeoutMs);
    timer.unref();
    deadlines.set(client, timer);
  });
  pool.on("release", (_error, client) => {
    clearTimeout(deadlines.get(client));
    deadlines.delete(client);
  });
  // Prisma's own transaction deadlines (5 s by default) follow the same settings: waiting for
  // a pooled connection as long as connecting may take, running as long as a transaction may.
  const db = new PrismaClient({
    adapter: new PrismaPg(pool, { disposeExternalPool: true }),
    transactionOptions: { maxWait: connectTimeoutMs, timeout: transactionTimeoutMs },
  });
  pools.set(db, { pool });
  // The client's $disconnect ends the pool only if the client itself connected, and statements
  // through executeStatement do not connect it (connecting compiles Prisma's query compiler:
  // about 1 s of CPU and 77 MB; README, Performance): whatever used the pool, $disconnect ends it.
  const disconnectClient = db.$disconnect.bind(db);
  db.$disconnect = async () => {
    await disconnectClient();
    if (!pool.ended) await pool.end();
  };
  return db;
}

/** A statement and its parameters, all sent as text (Postgres casts them as the SQL says). */
export type Statement = { sql: string; params: readonly string[] };

/**
 * Runs one statement of text parameters through the Prisma driver adapter, on the same pool
 * and under the same deadlines as the client's own queries, without Prisma Client's raw-query
 * path. That path serialises the parameters to JSON and parses them back on the way to the same
 * adapter: for the worker's statements, whose parameters are long column texts, 4–5 µs of CPU
 * per callback (README, Performance), and it needs the client connected. Failures arrive as
 * the adapter's errors (`DriverAdapterError`, the SQLSTATE in `cause.originalCode`; see
 * `sqlStateOf`).
 */
export async function executeStatement(db: Database, sql: string, params: readonly string[]): Promise<void> {
  const adapter = await adapterOf(db);
  try {
    await adapter.executeRaw(adapterQuery({ sql, params }));
  } catch (error) {
    throw withPostgresMessage(error);
  }
}

/**
 * Runs the statements in one transaction through the driver adapter, as `executeStatement`
 * runs one, and returns the last one's rows as objects keyed by column. For the worker's
 * periodic work (pruning), which would otherwise connect Prisma Client for `$transaction`
 * alone. On any failure the transaction is rolled back before the connection goes back to the
 * pool; a connection that cannot even roll back is broken, and the pool drops it.
 */
export async function queryInTransaction(
  db: Database,
  statements: readonly Statement[],
): Promise<Record<string, unknown>[]> {
  const adapter = await adapterOf(db);
  let transaction: Awaited<ReturnType<PgAdapter["startTransaction"]>> | undefined;
  try {
    transaction = await adapter.startTransaction(); // BEGIN on a connection of its own
    let last: { columnNames: string[]; rows: unknown[][] } = { columnNames: [], rows: [] };
    for (const statement of statements) last = await transaction.queryRaw(adapterQuery(statement));
    // The adapter leaves COMMIT and ROLLBACK to its caller; commit() and rollback() only release.
    await transaction.executeRaw(adapterQuery({ sql: "COMMIT", params: [] }));
    await transaction.commit();
    return last.rows.map((row) => Object.fromEntries(last.columnNames.map((name, i) => [name, row[i]])));
  } catch (error) {
    if (transaction) {
      await transaction.executeRaw(adapterQuery({ sql: "ROLLBACK", params: [] })).catch(() => undefined);
      await transaction.rollback();
    }
    throw withPostgresMessage(error);
  }
}

async function adapterOf(db: Database): Promise<PgAdapter> {
  const entry = pools.get(db);
  if (!entry) throw new Error("statements through the driver adapter need a database made by createDatabase");
  entry.adapter ??= new PrismaPg(entry.pool).connect();
  return entry.adapter;
}

const TEXT = { scalarType: "string", arity: "scalar" } as const;
const adapterQuery = ({ sql, params }: Statement) => ({ sql, args: [...params], argTypes: params.map(() => TEXT) });

type AdapterCause = {
  kind?: unknown;
  originalCode?: unknown;
  originalMessage?: unknown;
  host?: unknown;
  port?: unknown;
};

/**
 * The adapter's error says only a kind ("ValueOutOfRange", "DatabaseNotReachable") where
 * Postgres said what was wrong, or the socket said where: put that back in the message.
 */
function withPostgresMessage(error: unknown): unknown {
  const cause = (error as { cause?: AdapterCause }).cause;
  if (!(error instanceof Error) || cause === undefined) return error;
  if (typeof cause.originalMessage === "string")
    error.message = `${String(cause.originalCode)}: ${cause.originalMessage}`;
  else if (cause.host !== undefined)
    error.message = `${String(cause.kind)} at ${String(cause.host)}:${String(cause.port)}`;
  return error;
}
