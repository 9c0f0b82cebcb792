-- Guest players and device clocks.
--
-- A guest has no email or password until it links them, so both become
-- optional (the unique key on email allows any number of NULLs). A device is
-- known by the SHA-256 of its id only: the table never holds an id that could
-- sign its player in.
ALTER TABLE users
  MODIFY email         VARCHAR(254) NULL,
  MODIFY password_hash VARCHAR(255) NULL;

CREATE TABLE IF NOT EXISTS devices (
  device_hash BINARY(32)  NOT NULL PRIMARY KEY COMMENT 'SHA-256 of the device id',
  user_id     CHAR(36)    NOT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY devices_user (user_id)
) ENGINE=InnoDB;

-- `clock_skew_us` is the batch's receive time minus its `sent_at` (0 when the
-- batch had none), and `corrected_at` the event's instant on the gateway's
-- clock. A virtual column: both ADDs are instant on MariaDB 10.3+ (no copy of
-- a large table, no backfill), and rows stored before this migration read
-- `corrected_at` = `occurred_at`, as the contract says for batches without
-- `sent_at`. It can be indexed when a query needs it.
-- ADD COLUMN IF NOT EXISTS is MariaDB's only: each ADD runs when its column is
-- missing, as in 003, so the file also runs on MySQL 8 and can be run again.
SET @sql = IF((SELECT COUNT(*) = 0 FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'events' AND COLUMN_NAME = 'clock_skew_us'),
  'ALTER TABLE events ADD COLUMN clock_skew_us BIGINT NOT NULL DEFAULT 0 COMMENT ''receive time - sent_at, microseconds''',
  'DO 0');
PREPARE step FROM @sql;
EXECUTE step;
DEALLOCATE PREPARE step;

SET @sql = IF((SELECT COUNT(*) = 0 FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'events' AND COLUMN_NAME = 'corrected_at'),
  'ALTER TABLE events ADD COLUMN corrected_at DATETIME(6) AS (occurred_at + INTERVAL clock_skew_us MICROSECOND) VIRTUAL COMMENT ''occurred_at on the gateway clock''',
  'DO 0');
PREPARE step FROM @sql;
EXECUTE step;
DEALLOCATE PREPARE step;
