// `npm run prisma -- <command>`: the project's Prisma 7 CLI (generate, studio, validate, ...).
// It also runs on machines that cannot download Prisma's native schema engine: commands that
// never execute that engine (generate, studio) still refuse to start unless they can find one,
// and pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file satisfies the check. An
// operator who has the real engine keeps their own setting.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE ??= "1";

// The Prisma 7 CLI by path: the drift test's Prisma 6 also installs a `prisma` bin, and which
// of the two node_modules/.bin/prisma points at is up to npm.
const cli = join(dirname(createRequire(import.meta.url).resolve("prisma/package.json")), "build", "index.js");
// From the repository root, where prisma.config.ts and prisma/ are: npm starts this script in
// packages/db, and paths on the command line (`migrate diff --from-migrations prisma/migrations`)
// are written from the root.
const root = fileURLToPath(new URL("../../..", import.meta.url));
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: "inherit", env, cwd: root });
process.exit(result.status ?? 1);
