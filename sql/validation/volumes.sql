-- Each run's current-state row count per table, recorded by the validation gate. Upserts never delete
-- a row, so the next run fails its gate if a table holds fewer rows than after this one.
CREATE TABLE IF NOT EXISTS table_volumes (
    run_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    rows_current BIGINT NOT NULL,
    PRIMARY KEY (run_id, table_name)
);
