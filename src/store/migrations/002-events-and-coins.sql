-- Events, games, coins. Every player-owned table leads its primary key with
-- user_id so the schema shards by user_id without cross-shard transactions.

-- One row per event, unique per (user, game, event id): the key of idempotency.
CREATE TABLE IF NOT EXISTS events (
  user_id           VARCHAR(64)  NOT NULL,
  game_id           VARCHAR(128) NOT NULL,
  event_id          VARCHAR(64)  COLLATE utf8mb4_nopad_bin NOT NULL COMMENT 'NO PAD: "a" and "a " are two ids',
  type              VARCHAR(16)  NOT NULL,
  custom_event_name VARCHAR(128) NULL,
  occurred_at       DATETIME(6)  NOT NULL COMMENT 'client instant in UTC',
  utc_offset_min    SMALLINT     NOT NULL COMMENT 'client offset, e.g. 330 for +05:30',
  customdata        JSON         NULL,
  batch_id          CHAR(36)     NOT NULL,
  received_at       DATETIME(3)  NOT NULL COMMENT 'when the gateway accepted the batch',
  stored_at         DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, game_id, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Coin rules per game; a game with no row awards nothing.
CREATE TABLE IF NOT EXISTS games (
  game_id         VARCHAR(128) NOT NULL PRIMARY KEY,
  coins_enabled   BOOLEAN      NOT NULL DEFAULT FALSE,
  coins_per_level BIGINT       NOT NULL DEFAULT 0,
  daily_coin_cap  BIGINT       NOT NULL DEFAULT 0 COMMENT '0 = no cap',
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One balance per player across games.
CREATE TABLE IF NOT EXISTS wallets (
  user_id    VARCHAR(64) NOT NULL PRIMARY KEY,
  balance    BIGINT      NOT NULL DEFAULT 0,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per award, unique on the event it pays for: a replay cannot pay twice.
CREATE TABLE IF NOT EXISTS coin_ledger (
  user_id    VARCHAR(64)  NOT NULL,
  seq        BIGINT       NOT NULL AUTO_INCREMENT,
  game_id    VARCHAR(128) NOT NULL,
  event_id   VARCHAR(64)  COLLATE utf8mb4_nopad_bin NOT NULL,
  amount     BIGINT       NOT NULL,
  batch_id   CHAR(36)     NOT NULL,
  created_at DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id, seq),
  UNIQUE KEY coin_ledger_event (user_id, game_id, event_id),
  KEY coin_ledger_seq (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Coins awarded per player, game and UTC day (of the gateway's receive time),
-- so the daily cap is checked with one locked row instead of a ledger scan.
CREATE TABLE IF NOT EXISTS coin_daily_totals (
  user_id VARCHAR(64)  NOT NULL,
  game_id VARCHAR(128) NOT NULL,
  day     DATE         NOT NULL,
  coins   BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, game_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Stream entries that failed too often, with the error, kept for operators.
CREATE TABLE IF NOT EXISTS dead_letters (
  id          BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  stream_key  VARCHAR(255)  NOT NULL,
  entry_id    VARCHAR(64)   NOT NULL,
  attempts    INT           NOT NULL,
  error       TEXT          NOT NULL,
  payload     LONGBLOB      NULL,
  created_at  DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY dead_letters_entry (stream_key, entry_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
