-- The reconciler's audit trail: every repair it made from Tencent's REST API, and everything
-- it gave up on. Written only by the reconciler; the callback path never touches these tables.

-- CreateTable
CREATE TABLE "reconcile_repairs" (
    "id" BIGSERIAL NOT NULL,
    "sdk_app_id" BIGINT NOT NULL,
    "group_id" TEXT NOT NULL,
    "msg_seq" BIGINT NOT NULL,
    "differences" TEXT[],
    "before" JSONB,
    "after" JSONB NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,
    "repaired_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "reconcile_repairs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reconcile_skips" (
    "id" BIGSERIAL NOT NULL,
    "sdk_app_id" BIGINT NOT NULL,
    "group_id" TEXT NOT NULL,
    "msg_seq" BIGINT,
    "api" TEXT NOT NULL,
    "error_code" INTEGER NOT NULL,
    "error_info" TEXT NOT NULL,
    "skipped_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "reconcile_skips_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "reconcile_repairs_sdk_app_id_group_id_msg_seq_idx" ON "reconcile_repairs"("sdk_app_id", "group_id", "msg_seq");

-- CreateIndex
CREATE INDEX "reconcile_repairs_repaired_at_idx" ON "reconcile_repairs"("repaired_at");

-- CreateIndex
CREATE INDEX "reconcile_skips_skipped_at_idx" ON "reconcile_skips"("skipped_at");
