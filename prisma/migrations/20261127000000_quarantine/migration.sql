-- CreateTable
CREATE TABLE "quarantined_callbacks" (
    "id" BIGSERIAL NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "payload" JSONB,
    "payload_text" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "error" TEXT NOT NULL,
    "sql_state" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "quarantined_callbacks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "quarantined_callbacks_fingerprint_key" ON "quarantined_callbacks"("fingerprint");
