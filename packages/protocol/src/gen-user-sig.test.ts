import { createRequire } from "node:module";
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { genUserSig } from "./gen-user-sig.js";

// Tencent's official signer, CommonJS without types: the reference, never a runtime dependency.
const require = createRequire(import.meta.url);
const { Api } = require("tls-sig-api-v2") as {
  Api: new (sdkappid: number, key: string) => { genUserSig(id: string, expire: number): string };
};

function decode(sig: string): Record<string, unknown> {
  const base64 = sig.replace(/\*/g, "+").replace(/-/g, "/").replace(/_/g, "=");
  return JSON.parse(inflateSync(Buffer.from(base64, "base64")).toString("utf8")) as Record<string, unknown>;
}

describe("genUserSig", () => {
  it.each([
    ["administrator", "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"],
    ["admin_2", "a secret with spaces, + / = and ünïcödé"],
    ["管理员", "k"],
  ])("equals tls-sig-api-v2's UserSig for %s, byte for byte", (identifier, key) => {
    const reference = new Api(1400000001, key).genUserSig(identifier, 86_400);
    const time = decode(reference)["TLS.time"] as number;
    expect(
      genUserSig({
        sdkAppId: "1400000001",
        secretKey: key,
        identifier,
        expireSeconds: 86_400,
        nowMs: time * 1000 + 999,
      }),
    ).toBe(reference);
  });

  it("uses only characters that survive a query string unescaped", () => {
    for (let i = 0; i < 50; i++) {
      const sig = genUserSig({
        sdkAppId: "1400000001",
        secretKey: `key${i}`,
        identifier: `id${i}`,
        expireSeconds: 3600,
        nowMs: 1_700_000_000_000 + i * 7919,
      });
      expect(sig).toMatch(/^[A-Za-z0-9*_-]+$/);
    }
  });

  it("states its issue time in seconds and its lifetime, not an absolute expiry", () => {
    const doc = decode(
      genUserSig({
        sdkAppId: "1400000001",
        secretKey: "k",
        identifier: "administrator",
        expireSeconds: 600,
        nowMs: 1_700_000_000_500,
      }),
    );
    expect(doc).toMatchObject({
      "TLS.ver": "2.0",
      "TLS.identifier": "administrator",
      "TLS.sdkappid": 1400000001,
      "TLS.time": 1_700_000_000,
      "TLS.expire": 600,
    });
  });
});
