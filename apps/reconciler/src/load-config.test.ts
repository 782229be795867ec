import { ConfigError } from "@receipt-sync/runtime";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load-config.js";

const base = {
  DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/receipts",
  TENCENT_SECRET_KEYS: "1400000001:abc123",
};

describe("reconciler loadConfig", () => {
  it("defaults to China's host, the administrator account, 50 calls/s and a 24 h window", () => {
    expect(loadConfig(base)).toMatchObject({
      apps: [{ sdkAppId: "1400000001", secretKey: "abc123" }],
      apiBaseUrl: "https://console.tim.qq.com",
      adminIdentifier: "administrator",
      callsPerSecond: 50,
      lookbackMs: 86_400_000,
      intervalMs: 900_000,
      receiptBatch: 20,
    });
  });

  it("takes a regional host name, or an http:// URL for a fake or proxy", () => {
    expect(loadConfig({ ...base, TENCENT_API_HOST: "adminapisgp.im.qcloud.com" }).apiBaseUrl).toBe(
      "https://adminapisgp.im.qcloud.com",
    );
    expect(loadConfig({ ...base, TENCENT_API_HOST: "http://127.0.0.1:8090/" }).apiBaseUrl).toBe(
      "http://127.0.0.1:8090",
    );
    expect(() => loadConfig({ ...base, TENCENT_API_HOST: "ftp://x" })).toThrow(/TENCENT_API_HOST must be a host name/);
  });

  it("reconciles every app of SDKAPPID and requires a key for each", () => {
    const keys = "1400000001:k1,1400000002:k:with:colons";
    expect(loadConfig({ ...base, TENCENT_SECRET_KEYS: keys }).apps.map((a) => a.sdkAppId)).toEqual([
      "1400000001",
      "1400000002",
    ]);
    expect(loadConfig({ ...base, TENCENT_SECRET_KEYS: keys, SDKAPPID: "1400000002" }).apps).toEqual([
      { sdkAppId: "1400000002", secretKey: "k:with:colons" },
    ]);
    expect(() => loadConfig({ ...base, SDKAPPID: "1400000001,1400000003" })).toThrow(
      /TENCENT_SECRET_KEYS has no key for SDKAppID 1400000003/,
    );
  });

  it("names the variable and the fix when a key is missing or malformed, with no default secret", () => {
    expect(() => loadConfig({ DATABASE_URL: base.DATABASE_URL })).toThrow(
      new ConfigError(
        "config error: TENCENT_SECRET_KEYS is required (set it to SDKAPPID:SECRETKEY from the Chat console's app info, several separated by commas)",
      ),
    );
    expect(() => loadConfig({ ...base, TENCENT_SECRET_KEYS: "abc123" })).toThrow(
      /TENCENT_SECRET_KEYS must be SDKAPPID:SECRETKEY pairs/,
    );
  });

  it("keeps the budget under Tencent's 200 calls/s per API", () => {
    expect(() => loadConfig({ ...base, TENCENT_CALLS_PER_SECOND: "500" })).toThrow(
      /TENCENT_CALLS_PER_SECOND must be at most 200/,
    );
  });
});
