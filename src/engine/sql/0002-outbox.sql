-- 0002-outbox.sql: drafts and the queue of messages to send.
--
-- Everything a message needs to go out lives here, attachment bytes included, so a
-- queued message survives a crash and an attached file that has since vanished (a
-- document portal grant, a temporary file) does not matter.

CREATE TABLE outgoing (
  id              INTEGER PRIMARY KEY,
  account_id      TEXT    NOT NULL,
  from_address    TEXT,
  to_list         TEXT,
  cc_list         TEXT,
  bcc_list        TEXT,
  subject         TEXT,
  body_text       TEXT,
  body_html       TEXT,
  in_reply_to     TEXT,
  refs            TEXT,
  message_id      TEXT    NOT NULL,
  state           INTEGER NOT NULL DEFAULT 0,   -- HirOutgoingState
  error_message   TEXT,
  send_at         INTEGER NOT NULL DEFAULT 0,
  draft_remote_id TEXT,
  -- Where sending got to, written before each step is taken so that a restart resumes
  -- from it: NULL (draft), 'queued', 'uploading', 'submitted', 'filing', 'filed'.
  step            TEXT,
  -- The message exactly as it goes out (built once when queued: same bytes on a resend).
  mime            BLOB,
  -- The transport's own reference to what it created (JMAP: the Email id in Drafts).
  remote_ref      TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,
  updated         INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX outgoing_by_state ON outgoing (state, send_at);

CREATE TABLE outgoing_attachments (
  outgoing_id  INTEGER NOT NULL REFERENCES outgoing (id) ON DELETE CASCADE,
  position     INTEGER NOT NULL,
  filename     TEXT,
  content_type TEXT,
  content_id   TEXT,
  data         BLOB    NOT NULL,
  PRIMARY KEY (outgoing_id, position)
);
