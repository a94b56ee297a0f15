-- 0001-initial.sql: the first schema of the store.
--
-- Folder counts are kept by triggers on the membership table, so opening a folder reads
-- one row instead of counting a million.

CREATE TABLE folders (
  id               INTEGER PRIMARY KEY,
  account_id       TEXT    NOT NULL,
  remote_id        TEXT    NOT NULL,
  parent_remote_id TEXT,
  name             TEXT    NOT NULL,
  role             INTEGER NOT NULL DEFAULT 0,
  sort_order       INTEGER NOT NULL DEFAULT 0,
  total            INTEGER NOT NULL DEFAULT 0,
  unread           INTEGER NOT NULL DEFAULT 0,
  UNIQUE (account_id, remote_id)
);

CREATE TABLE messages (
  id             INTEGER PRIMARY KEY,
  account_id     TEXT    NOT NULL,
  remote_id      TEXT    NOT NULL,
  thread_id      TEXT,
  message_id     TEXT,
  in_reply_to    TEXT,
  refs           TEXT,
  subject        TEXT,
  from_name      TEXT,
  from_address   TEXT,
  to_list        TEXT,
  cc_list        TEXT,
  date           INTEGER NOT NULL DEFAULT 0,
  preview        TEXT,
  size           INTEGER NOT NULL DEFAULT 0,
  flags          INTEGER NOT NULL DEFAULT 0,
  has_attachment INTEGER NOT NULL DEFAULT 0,
  UNIQUE (account_id, remote_id)
);

CREATE INDEX messages_by_message_id ON messages (message_id);
CREATE INDEX messages_by_thread ON messages (account_id, thread_id);

-- Which folders a message is in (JMAP lets it be in several). The date is copied here,
-- and whether it is unread, so that a folder pages from one index and the counters
-- below need nothing but the membership row.
CREATE TABLE message_folders (
  message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  folder_id  INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  date       INTEGER NOT NULL,
  unread     INTEGER NOT NULL,
  PRIMARY KEY (message_id, folder_id)
) WITHOUT ROWID;

CREATE INDEX message_folders_by_date ON message_folders (folder_id, date DESC, message_id DESC);

CREATE TRIGGER message_folders_insert AFTER INSERT ON message_folders
BEGIN
  UPDATE folders SET total = total + 1, unread = unread + NEW.unread
    WHERE id = NEW.folder_id;
END;

CREATE TRIGGER message_folders_delete AFTER DELETE ON message_folders
BEGIN
  UPDATE folders SET total = total - 1, unread = unread - OLD.unread
    WHERE id = OLD.folder_id;
END;

CREATE TRIGGER message_folders_unread AFTER UPDATE OF unread ON message_folders
  WHEN OLD.unread != NEW.unread
BEGIN
  UPDATE folders SET unread = unread + NEW.unread - OLD.unread
    WHERE id = NEW.folder_id;
END;

CREATE TRIGGER messages_denormalize AFTER UPDATE OF flags, date ON messages
  WHEN (OLD.flags & 1) != (NEW.flags & 1) OR OLD.date != NEW.date
BEGIN
  UPDATE message_folders SET date = NEW.date, unread = ((NEW.flags & 1) = 0)
    WHERE message_id = NEW.id;
END;

CREATE TABLE bodies (
  message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  text       TEXT,
  html       TEXT
);

CREATE TABLE attachments (
  message_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  position     INTEGER NOT NULL,
  part_id      TEXT,
  blob_id      TEXT,
  filename     TEXT,
  content_type TEXT,
  size         INTEGER NOT NULL DEFAULT 0,
  content_id   TEXT,
  inline       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (message_id, position)
) WITHOUT ROWID;

CREATE TABLE sync_state (
  account_id TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT,
  PRIMARY KEY (account_id, key)
) WITHOUT ROWID;

CREATE TABLE trusted_senders (
  address TEXT PRIMARY KEY COLLATE NOCASE
) WITHOUT ROWID;
