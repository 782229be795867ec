// Runs `prisma generate` on machines that cannot download Prisma's native schema engine.
// Generate never executes that engine, but the CLI refuses to start unless it can find one;
// pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file satisfies the check. An operator
// who has the real engine keeps their own setting.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE ??= "1";

const result = spawnSync("npx", ["--no-install", "prisma", "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
