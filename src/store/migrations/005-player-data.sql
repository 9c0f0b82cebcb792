-- Player data: the event explorer's key, and erasure.
--
-- A player's events, newest first by receive time: the key leads with user_id
-- (it shards with the table) and InnoDB appends the clustered `seq`, so a page
-- is one range read of the player's part of the key, and (received_at, seq) is
-- its cursor. Per player it grows at the end only, like `seq`. One key, not a
-- second one on `corrected_at` as well: each costs the drain about a fifth more
-- MariaDB CPU per event (docs/player-data.md). ADD INDEX on InnoDB builds
-- online (writes continue) on a large table.
SET @sql = IF((SELECT COUNT(*) = 0 FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'events' AND INDEX_NAME = 'events_user_received'),
  'ALTER TABLE events ADD KEY events_user_received (user_id, received_at)',
  'DO 0');
PREPARE step FROM @sql;
EXECUTE step;
DEALLOCATE PREPARE step;

-- One row per erased player, kept after the erasure: the worker drops batches
-- of a player found here (queued before the erasure, or sent afterwards with a
-- token issued before it). `completed_at` stays NULL until every table is
-- clean, so an interrupted erasure is visible and is resumed by running it again.
CREATE TABLE IF NOT EXISTS erased_players (
  user_id      VARCHAR(64) NOT NULL PRIMARY KEY,
  requested_at DATETIME(3) NOT NULL,
  completed_at DATETIME(3) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row that orders erasures against drain transactions. Every drain
-- transaction reads it with a shared lock before it reads `erased_players`;
-- recording a tombstone updates it in the same transaction. So a drain
-- transaction either committed before the tombstone (and the erasure's chunks,
-- which start after, delete what it stored) or started after and sees it.
-- Shared locks do not wait for each other: workers never queue on it.
CREATE TABLE IF NOT EXISTS erasure_fence (
  id        TINYINT NOT NULL PRIMARY KEY,
  erasures  BIGINT  NOT NULL DEFAULT 0
) ENGINE=InnoDB;
INSERT IGNORE INTO erasure_fence (id, erasures) VALUES (0, 0);

-- The player of a dead letter, so an erasure finds it by key. Rows written
-- before this column read NULL; an erasure finds those by their payload.
SET @sql = IF((SELECT COUNT(*) = 0 FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dead_letters' AND COLUMN_NAME = 'user_id'),
  'ALTER TABLE dead_letters ADD COLUMN user_id VARCHAR(64) NULL, ADD KEY dead_letters_user (user_id)',
  'DO 0');
PREPARE step FROM @sql;
EXECUTE step;
DEALLOCATE PREPARE step;
