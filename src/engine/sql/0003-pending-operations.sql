-- 0003-pending-operations.sql: changes made here that the server has not heard of yet.
--
-- Flag changes, moves and deletes are applied to the store at once and written here in
-- the same breath; the engine replays them in id order when the account is reachable,
-- before a sync applies the server's (older) view, and forgets each one the server took
-- or refused. Messages are named by remote id: a message removed from the store (a
-- delete in Trash) can still be removed from the server.

CREATE TABLE pending_operations (
  id          INTEGER PRIMARY KEY,
  account_id  TEXT    NOT NULL,
  remote_id   TEXT    NOT NULL,
  kind        INTEGER NOT NULL,    -- 1 flags, 2 move, 3 destroy
  flags       INTEGER NOT NULL DEFAULT 0,
  folder      TEXT,                -- the destination folder's remote id (move)
  source      TEXT                 -- the folders it was in before a move (remote ids, one a
                                   -- line): where it goes back if the server refuses
);

CREATE INDEX pending_operations_by_account ON pending_operations (account_id, id);
