export { envPositiveInt, envPort, envLogLevel, envList, parseEnv, ConfigError } from "./env.js";
export { createLogger, type Logger } from "./logger.js";
export { createShutdown, exitOnSignals, type ShutdownStep } from "./create-shutdown.js";
export { GroupCommit } from "./group-commit.js";
export { withTimeout, TimeoutError } from "./with-timeout.js";
export { loadConfigOrExit } from "./load-config-or-exit.js";
export { secondsSince } from "./seconds-since.js";
export { serveMetrics } from "./serve-metrics.js";
export { parseCliArgs, usageError } from "./parse-cli-args.js";
