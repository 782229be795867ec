// The ceiling for the ingest: bare Express 5 with express.json(), answering Tencent's OK
// envelope without looking at the packet. Same body parser, same reply, nothing else.
import express from "express";

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
const ok = { ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0 };
app.post("/callback", express.json({ limit: 1024 * 1024, type: () => true }), (_req, res) => {
  res.json(ok);
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.send?.({ port: server.address().port });
  if (!process.send) console.log(server.address().port);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
