import { genUserSig } from "@receipt-sync/protocol";

/** A UserSig lives a day (Tencent's recommended minimum) and is replaced an hour before it ends. */
const USER_SIG_LIFETIME_SECONDS = 86_400;
const RENEW_BEFORE_MS = 3600_000;

/**
 * The admin's UserSig for one app, made locally from the SecretKey and renewed before it
 * expires. The value is a credential: it goes into request URLs and nowhere else (never a log).
 */
export class UserSigCache {
  private current: { sig: string; expiresAtMs: number } | undefined;
  /** UserSigs made so far; a metric and the tests read it. */
  issued = 0;

  constructor(
    private readonly input: { sdkAppId: string; secretKey: string; identifier: string; nowMs: () => number },
  ) {}

  get(): string {
    const nowMs = this.input.nowMs();
    if (!this.current || nowMs >= this.current.expiresAtMs - RENEW_BEFORE_MS) this.renew();
    return this.current!.sig;
  }

  /** Makes a new one now, e.g. after Tencent answered 70001 (expired) for the current one. */
  renew(): void {
    const nowMs = this.input.nowMs();
    const { sdkAppId, secretKey, identifier } = this.input;
    this.current = {
      sig: genUserSig({ sdkAppId, secretKey, identifier, expireSeconds: USER_SIG_LIFETIME_SECONDS, nowMs }),
      expiresAtMs: nowMs + USER_SIG_LIFETIME_SECONDS * 1000,
    };
    this.issued += 1;
  }
}
