// `npm run fake-tencent -- [--port 8090] [--app 1400000000:<key>] [--groups 5] [--messages 10]
//   [--deliver-to http://127.0.0.1:3000/callback] [--drop 0.3] [--seed 1]`
// Serves the fake Tencent REST API on loopback with seeded groups, posts a share of their read
// callbacks to an ingest (the rest are "lost"), and serves until Ctrl-C: try the reconciler on it.
import { parseArgs } from "node:util";
import { FakeTencent } from "./fake-tencent.js";
import { rng, seedFake } from "./fake-tencent-seed.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8090" },
    app: { type: "string", default: "1400000000:local-secret-key" },
    groups: { type: "string", default: "5" },
    messages: { type: "string", default: "10" },
    "deliver-to": { type: "string" },
    drop: { type: "string", default: "0.3" },
    seed: { type: "string", default: "1" },
  },
});
const [sdkAppId, secretKey] = [
  values.app.slice(0, values.app.indexOf(":")),
  values.app.slice(values.app.indexOf(":") + 1),
];
if (!/^[0-9]{1,18}$/.test(sdkAppId) || !secretKey) throw new Error("--app must be SDKAPPID:SECRETKEY");

const fake = await FakeTencent.start({ apps: { [sdkAppId]: secretKey }, port: Number(values.port) });
const { callbacks } = seedFake(fake, {
  sdkAppId,
  groups: Number(values.groups),
  messagesPerGroup: Number(values.messages),
  startMs: Date.now() - 6 * 3600_000,
  seed: Number(values.seed),
});
console.log(
  `fake Tencent REST API on ${fake.url}: ${values.groups} groups, ${fake.truth(sdkAppId).length} messages with receipts, ${callbacks.length} read callbacks`,
);

const target = values["deliver-to"];
if (target) {
  const keep = rng(Number(values.seed) + 1);
  let sent = 0;
  for (const body of callbacks) {
    if (keep() < Number(values.drop)) continue;
    const query = new URLSearchParams({
      SdkAppid: sdkAppId,
      CallbackCommand: "Group.CallbackAfterReadReceipt",
      contenttype: "json",
      ClientIP: "127.0.0.1",
      OptPlatform: "RESTAPI",
    });
    const res = await fetch(`${target}?${query}`, { method: "POST", body: JSON.stringify(body) });
    if (res.status === 200) sent += 1;
  }
  console.log(
    `posted ${sent} of them to ${target}; the other ${callbacks.length - sent} are lost, for the reconciler to find`,
  );
}
console.log(
  `now: TENCENT_API_HOST=${fake.url} TENCENT_SECRET_KEYS=${sdkAppId}:${secretKey} npm run reconcile -- --app ${sdkAppId} --dry-run`,
);
console.log("Ctrl-C to stop");
process.once("SIGINT", () => void fake.close().then(() => process.exit(0)));
process.once("SIGTERM", () => void fake.close().then(() => process.exit(0)));
