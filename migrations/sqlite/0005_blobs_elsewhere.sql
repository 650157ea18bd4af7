-- Image bytes move to the blob store (server/blobs.rs, `object_store`):
-- the database keeps each blob's hash and format only. Bytes written here
-- by earlier versions stay until the server copies them out at start-up
-- (`SqliteStore::move_legacy_blobs`), which then empties them; new rows
-- carry none. (SQLite cannot drop a NOT NULL, hence the empty value.)
ALTER TABLE blobs RENAME COLUMN bytes TO legacy_bytes;
