-- CreateTable
CREATE TABLE "group_message_receipts" (
    "sdk_app_id" BIGINT NOT NULL,
    "group_id" TEXT NOT NULL,
    "msg_seq" BIGINT NOT NULL,
    "group_type" TEXT NOT NULL,
    "read_num" INTEGER NOT NULL,
    "unread_num" INTEGER NOT NULL,
    "event_time" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "group_message_receipts_pkey" PRIMARY KEY ("sdk_app_id","group_id","msg_seq")
);

-- CreateTable
CREATE TABLE "group_message_readers" (
    "sdk_app_id" BIGINT NOT NULL,
    "group_id" TEXT NOT NULL,
    "msg_seq" BIGINT NOT NULL,
    "member_account" TEXT NOT NULL,
    "read_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "group_message_readers_pkey" PRIMARY KEY ("sdk_app_id","group_id","msg_seq","member_account")
);

-- CreateTable
CREATE TABLE "read_receipt_events" (
    "sdk_app_id" BIGINT NOT NULL,
    "group_id" TEXT NOT NULL,
    "msg_seq" BIGINT NOT NULL,
    "event_time" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "client_ip" TEXT,
    "opt_platform" TEXT,

    CONSTRAINT "read_receipt_events_pkey" PRIMARY KEY ("sdk_app_id","group_id","msg_seq","event_time")
);
