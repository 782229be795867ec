import { defineConfig } from "prisma/config";

// Only the CLI reads this file (generate, studio, and `migrate deploy` where the native
// engine is available). The apps build their client from DATABASE_URL themselves.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" },
});
