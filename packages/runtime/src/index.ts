export { envPositiveInt, envPort, envLogLevel, envList, parseEnv, ConfigError } from "./env.js";
export { createLogger, type Logger } from "./logger.js";
export { createShutdown, exitOnSignals, type ShutdownStep } from "./shutdown.js";
export { GroupCommit, type GroupCommitOptions } from "./group-commit.js";
export { withTimeout, TimeoutError } from "./with-timeout.js";
export { loadConfigOrExit } from "./load-config.js";
export { secondsSince } from "./seconds-since.js";
export { serveMetrics, type MetricsSource } from "./metrics-server.js";
export { parseCliArgs, usageError } from "./cli-args.js";
