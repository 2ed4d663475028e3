-- A month's billing lines land as Sophos sent them: one row per API page, its line items as JSON lines
-- (one item per line, the item's own bytes). A million lines as a million jsonb rows cost the extract a
-- JSON round trip per line and the server a jsonb parse per line, and validate read them back one by one;
-- a page is written and read as one value, and validate decodes it as it is.
CREATE TABLE sophos.landing_pages (
    sync_run_id  bigint NOT NULL REFERENCES sophos.sync_runs ON DELETE CASCADE,
    account      text NOT NULL,                -- the Airflow connection id the page came through
    entity       text NOT NULL CHECK (entity = 'billing_usage'),
    page         integer NOT NULL,             -- order of arrival within (run, account, entity), from 1
    items        integer NOT NULL CHECK (items >= 0),
    -- bytea, not text: a page is stored as received, whatever its bytes; validate judges each line
    lines        bytea NOT NULL,
    PRIMARY KEY (sync_run_id, entity, account, page)
);
-- lz4 compresses a page several times faster than the default pglz, for about the same size.
ALTER TABLE sophos.landing_pages ALTER COLUMN lines SET COMPRESSION lz4;
