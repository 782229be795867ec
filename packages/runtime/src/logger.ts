import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON lines on stdout. Sign, the callback token, SecretKeys and UserSigs never reach a log line,
 * even at debug level.
 */
export function createLogger(options: { name: string; level?: string }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? "info",
    redact: {
      paths: [
        "query.Sign",
        "token",
        "*.token",
        "callbackToken",
        "secretKey",
        "*.secretKey",
        "apps[*].secretKey",
        "userSig",
        "*.userSig",
        "usersig",
        "*.usersig",
      ],
      censor: "[redacted]",
    },
  });
}
