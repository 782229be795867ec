import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { verifyUserSig } from "./fake-tencent-usersig.js";

/**
 * A fake of Tencent Cloud Chat's admin REST API, faithful to ../../shared/spec/tencent-rest-api.md:
 * it holds the truth for a set of groups, checks each call's UserSig against the app's
 * SecretKey, enforces the per-API rate limit, and answers in Tencent's envelope (outcome in the
 * body, HTTP 200). Tests inject error codes, HTTP failures and delays, and read back how many
 * calls each API took and the most calls any API saw within one second.
 */
type FakeMessage = {
  seq: number;
  timeMs: number;
  from: string;
  receipt: boolean;
  placeholder: boolean;
  readers: Map<string, number>;
};
type FakeGroup = {
  groupId: string;
  type: string;
  members: string[];
  messages: Map<number, FakeMessage>;
  nextSeq: number;
};
export type TruthRow = { groupId: string; msgSeq: number; readNum: number; unreadNum: number; readers: string[] };

type Fault = {
  api: string;
  /** Answer with this ErrorCode ... */
  errorCode?: number;
  /** ... or with this HTTP status and a non-JSON body ... */
  httpStatus?: number;
  /** ... after waiting this long (alone: a slow but correct answer). */
  delayMs?: number;
  /** How many calls it hits (default 1). */
  times?: number;
  groupId?: string;
};

export type FakeTencentOptions = {
  apps: Record<string, string>;
  admin?: string;
  /** Tencent allows 200 calls/s per API and app. */
  limitPerSecond?: number;
  /** How get_group_msg_receipt_detail spells its finished flag (the docs disagree). */
  finishedFlag?: "IsFinish" | "IsFinished";
  /** Keep returning a Cursor on the last detail page, so only the finished flag says it is the last. */
  cursorOnLastPage?: boolean;
  nowMs?: () => number;
};

type Reply = Record<string, unknown>;
type Handler = (app: Map<string, FakeGroup>, body: Record<string, unknown>, fake: FakeTencent) => Reply;

export class FakeTencent {
  readonly groups = new Map<string, Map<string, FakeGroup>>();
  finishedFlag: "IsFinish" | "IsFinished";
  cursorOnLastPage: boolean;
  /** Every call that reached an API, in order: api, app, identifier, UserSig and the code answered. */
  readonly calls: { api: string; sdkAppId: string; userSig: string; errorCode: number; atMs: number }[] = [];
  private readonly faults: Fault[] = [];
  private readonly arrivals = new Map<string, number[]>();
  private readonly admin: string;
  private readonly limit: number;
  private readonly nowMs: () => number;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: FakeTencentOptions,
  ) {
    this.admin = options.admin ?? "administrator";
    this.limit = options.limitPerSecond ?? 200;
    this.finishedFlag = options.finishedFlag ?? "IsFinish";
    this.cursorOnLastPage = options.cursorOnLastPage ?? false;
    this.nowMs = options.nowMs ?? Date.now;
    for (const app of Object.keys(options.apps)) this.groups.set(app, new Map());
  }

  static async start(options: FakeTencentOptions & { port?: number }): Promise<FakeTencent> {
    let fake: FakeTencent | undefined;
    const server = createServer((req, res) => void fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    fake = new FakeTencent(server, `http://127.0.0.1:${port}`, options);
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- the truth ---------------------------------------------------------------------------

  createGroup(sdkAppId: string, groupId: string, options: { type?: string; members: string[] }): FakeGroup {
    const group: FakeGroup = {
      groupId,
      type: options.type ?? "Public",
      members: options.members,
      messages: new Map(),
      nextSeq: 1,
    };
    this.app(sdkAppId).set(groupId, group);
    return group;
  }

  deleteGroup(sdkAppId: string, groupId: string): void {
    this.app(sdkAppId).delete(groupId);
  }

  sendMessage(
    sdkAppId: string,
    groupId: string,
    options: { from: string; timeMs: number; receipt?: boolean; placeholder?: boolean },
  ): number {
    const group = this.group(sdkAppId, groupId);
    const seq = group.nextSeq++;
    group.messages.set(seq, {
      seq,
      timeMs: options.timeMs,
      from: options.from,
      receipt: options.receipt ?? true,
      placeholder: options.placeholder ?? false,
      readers: new Map(),
    });
    return seq;
  }

  /**
   * `account` reads `seqs` at `atMs`: the callback body Tencent sends for it, listing each
   * message's counts after the read and the reader. Messages already read or without a
   * receipt are left out; undefined when none is left.
   */
  read(
    sdkAppId: string,
    groupId: string,
    account: string,
    seqs: number[],
    atMs: number,
  ): Record<string, unknown> | undefined {
    const group = this.group(sdkAppId, groupId);
    const items = [];
    for (const seq of seqs) {
      const message = group.messages.get(seq);
      if (
        !message ||
        !message.receipt ||
        message.placeholder ||
        message.from === account ||
        message.readers.has(account)
      )
        continue;
      message.readers.set(account, atMs);
      const { readNum, unreadNum } = counts(group, message);
      items.push({
        MsgSeq: seq,
        ReadNum: readNum,
        UnreadNum: unreadNum,
        ReadReceiptMembers: [{ Member_Account: account }],
      });
    }
    if (items.length === 0) return undefined;
    return {
      CallbackCommand: "Group.CallbackAfterReadReceipt",
      GroupId: groupId,
      Type: group.type,
      GroupMsgReceiptList: items,
      EventTime: atMs,
    };
  }

  /** Every message with a read receipt, as the tables should end up holding it. */
  truth(sdkAppId: string): TruthRow[] {
    const rows: TruthRow[] = [];
    for (const group of this.app(sdkAppId).values()) {
      for (const message of group.messages.values()) {
        if (!message.receipt || message.placeholder) continue;
        rows.push({
          groupId: group.groupId,
          msgSeq: message.seq,
          ...counts(group, message),
          readers: [...message.readers.keys()].sort(),
        });
      }
    }
    return rows.sort((a, b) => (a.groupId === b.groupId ? a.msgSeq - b.msgSeq : a.groupId < b.groupId ? -1 : 1));
  }

  // ---- what tests steer and read back ------------------------------------------------------

  inject(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** Calls per API, e.g. { get_group_msg_receipt: 50, ... }. */
  callCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.calls) counts[call.api] = (counts[call.api] ?? 0) + 1;
    return counts;
  }

  /** For each API, the most calls that arrived within any one second. */
  peakPerSecond(): Record<string, number> {
    const peaks: Record<string, number> = {};
    for (const [key, times] of this.arrivals) {
      const api = key.split(" ")[1]!;
      let peak = 0;
      for (let lo = 0, hi = 0; hi < times.length; hi++) {
        while (times[hi]! - times[lo]! >= 1000) lo++;
        peak = Math.max(peak, hi - lo + 1);
      }
      peaks[api] = Math.max(peaks[api] ?? 0, peak);
    }
    return peaks;
  }

  /** The APIs that ever saw more than `callsPerSecond` calls within one second. */
  exceeded(callsPerSecond: number): string[] {
    return Object.entries(this.peakPerSecond())
      .filter(([, peak]) => peak > callsPerSecond)
      .map(([api]) => api);
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = /^\/v4\/group_open_http_svc\/([a-z_]+)$/.exec(url.pathname);
    const handler = match ? HANDLERS[match[1]!] : undefined;
    if (req.method !== "POST" || !match || !handler)
      return send(res, 404, { ActionStatus: "FAIL", ErrorCode: 60003, ErrorInfo: "no such API" });
    const api = match[1]!;
    const q = Object.fromEntries(url.searchParams);
    const body = parseBody(Buffer.concat(chunks));
    const reply = await this.answer(api, handler, q, body);
    if (typeof reply === "number")
      return void res.writeHead(reply, { "content-type": "text/html" }).end("<html>gateway error</html>");
    this.calls.push({
      api,
      sdkAppId: q.sdkappid ?? "",
      userSig: q.usersig ?? "",
      errorCode: Number(reply.ErrorCode),
      atMs: this.nowMs(),
    });
    send(res, 200, reply);
  }

  private async answer(
    api: string,
    handler: Handler,
    q: Record<string, string>,
    body: Record<string, unknown> | undefined,
  ): Promise<Reply | number> {
    const sdkAppId = q.sdkappid ?? "";
    const key = this.options.apps[sdkAppId];
    if (key === undefined) return fail(70020, "SDKAppID not found");
    if (!/^[0-9]{1,10}$/.test(q.random ?? "") || Number(q.random) > 0xffffffff || q.contenttype !== "json")
      return fail(10004, "random or contenttype missing");
    const sig = verifyUserSig(q.usersig ?? "", {
      sdkAppId,
      identifier: q.identifier ?? "",
      secretKey: key,
      nowMs: this.nowMs(),
    });
    if (!sig.ok) return fail(sig.code, sig.info);
    if (q.identifier !== this.admin) return fail(60010, "identifier is not an app admin");
    if (this.overLimit(sdkAppId, api)) return fail(60007, "calls too frequent");
    if (!body) return fail(10004, "body is not JSON");
    const fault = this.takeFault(api, body);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.httpStatus) return fault.httpStatus;
    if (fault?.errorCode) return fail(fault.errorCode, "injected");
    return handler(this.app(sdkAppId), body, this);
  }

  private overLimit(sdkAppId: string, api: string): boolean {
    const key = `${sdkAppId} ${api}`;
    const now = performance.now();
    const times = this.arrivals.get(key) ?? [];
    times.push(now);
    this.arrivals.set(key, times);
    let inWindow = 0;
    for (let i = times.length - 1; i >= 0 && now - times[i]! < 1000; i--) inWindow++;
    return inWindow > this.limit;
  }

  private takeFault(api: string, body: Record<string, unknown>): Fault | undefined {
    const index = this.faults.findIndex(
      (f) => f.api === api && (f.groupId === undefined || f.groupId === body.GroupId),
    );
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private app(sdkAppId: string): Map<string, FakeGroup> {
    const app = this.groups.get(sdkAppId);
    if (!app) throw new Error(`app ${sdkAppId} is not in the fake`);
    return app;
  }

  group(sdkAppId: string, groupId: string): FakeGroup {
    const group = this.app(sdkAppId).get(groupId);
    if (!group) throw new Error(`group ${groupId} is not in the fake`);
    return group;
  }
}

function counts(group: FakeGroup, message: FakeMessage): { readNum: number; unreadNum: number } {
  // Everyone but the sender is asked to read it.
  const recipients = group.members.filter((m) => m !== message.from).length;
  return { readNum: message.readers.size, unreadNum: recipients - message.readers.size };
}

const ok = (fields: Reply): Reply => ({ ActionStatus: "OK", ErrorCode: 0, ErrorInfo: "", ...fields });
const fail = (code: number, info: string): Reply => ({ ActionStatus: "FAIL", ErrorCode: code, ErrorInfo: info });

function send(res: ServerResponse, status: number, body: Reply): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function parseBody(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw.toString("utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const RECEIPT_GROUP_TYPES = new Set(["Public", "Private", "Work", "ChatRoom", "Meeting"]);

const HANDLERS: Record<string, Handler> = {
  get_group_msg_receipt(app, body) {
    const group = app.get(String(body.GroupId));
    if (!group) return fail(10010, "group does not exist");
    if (!RECEIPT_GROUP_TYPES.has(group.type)) return fail(10007, "read receipts are not supported in this group type");
    const list = body.MsgSeqList;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.length > 100 ||
      !list.every((m) => isSeq((m as { MsgSeq?: unknown })?.MsgSeq))
    ) {
      return fail(10004, "MsgSeqList must list 1 to 100 {MsgSeq}");
    }
    return ok({
      GroupMsgReceiptList: list.map(({ MsgSeq }: { MsgSeq: number }) => {
        const message = group.messages.get(MsgSeq);
        if (!message || !message.receipt || message.placeholder)
          return { Code: 10062, MsgSeq, ReadNum: 0, UnreadNum: 0 };
        const { readNum, unreadNum } = counts(group, message);
        return { Code: 0, MsgSeq, ReadNum: readNum, UnreadNum: unreadNum };
      }),
    });
  },

  get_group_msg_receipt_detail(app, body, fake) {
    const group = app.get(String(body.GroupId));
    if (!group) return fail(10010, "group does not exist");
    const message = isSeq(body.MsgSeq) ? group.messages.get(body.MsgSeq) : undefined;
    const count = body.Count;
    if (
      !isSeq(count) ||
      count < 1 ||
      count > 200 ||
      (body.Filter !== 0 && body.Filter !== 1) ||
      typeof body.Cursor !== "string"
    ) {
      return fail(10004, "Count must be 1 to 200, Filter 0 or 1, Cursor a string");
    }
    if (!message || !message.receipt) return fail(10062, "message has no read receipt");
    const readers = [...message.readers.entries()]
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
      .map(([account]) => account);
    const unread = group.members.filter((m) => m !== message.from && !message.readers.has(m));
    const all = body.Filter === 0 ? readers : unread;
    const offset = body.Cursor === "" ? 0 : Number(Buffer.from(body.Cursor, "base64").toString());
    const page = all.slice(offset, offset + count);
    const finished = offset + count >= all.length;
    return ok({
      ...(body.Filter === 0
        ? { ReadList: page.map((a) => ({ Read_Account: a })) }
        : { UnreadList: page.map((a) => ({ Unread_Account: a })) }),
      Cursor: finished && !fake.cursorOnLastPage ? "" : Buffer.from(String(offset + count)).toString("base64"),
      [fake.finishedFlag]: finished ? 1 : 0,
    });
  },

  get_group_info(app, body) {
    const ids = body.GroupIdList;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 50)
      return fail(10004, "GroupIdList must list 1 to 50 groups");
    return ok({
      GroupInfo: ids.map((id: unknown) => {
        const group = app.get(String(id));
        if (!group) return { GroupId: String(id), ErrorCode: 10010, ErrorInfo: "group does not exist" };
        const last = [...group.messages.values()].at(-1);
        return {
          GroupId: group.groupId,
          ErrorCode: 0,
          ErrorInfo: "",
          Type: group.type,
          NextMsgSeq: group.nextSeq,
          LastMsgTime: last ? Math.floor(last.timeMs / 1000) : 0,
        };
      }),
    });
  },

  group_msg_get_simple(app, body) {
    const group = app.get(String(body.GroupId));
    if (!group) return fail(10010, "group does not exist");
    if (group.type === "AVChatRoom") return fail(10007, "not supported for AVChatRoom");
    const number = isSeq(body.ReqMsgNumber) ? Math.min(body.ReqMsgNumber, 20) : 20;
    const top = isSeq(body.ReqMsgSeq) ? body.ReqMsgSeq : group.nextSeq - 1;
    const older = [...group.messages.values()].filter((m) => m.seq <= top).sort((a, b) => b.seq - a.seq);
    const page = older.slice(0, number);
    return ok({
      GroupId: group.groupId,
      IsFinished: older.length <= number ? 1 : 0,
      RspMsgList: page.map((m) => ({
        From_Account: m.from,
        IsPlaceMsg: m.placeholder ? 1 : 0,
        MsgBody: m.placeholder ? [] : [{ MsgType: "TIMTextElem", MsgContent: { Text: `message ${m.seq}` } }],
        MsgRandom: m.seq * 7919,
        MsgSeq: m.seq,
        MsgTimeStamp: Math.floor(m.timeMs / 1000),
      })),
    });
  },
};
