-- Records whose personal data was erased (`bountyguard forget`): the audit trail of each erasure, and
-- what every later ingest erases again, so an old landing file never brings the data back.
-- Ids and who/why only: no personal value is kept here.
CREATE TABLE IF NOT EXISTS forgotten_records (
    record_type VARCHAR NOT NULL,          -- referrer, candidate
    record_id VARCHAR NOT NULL,
    person_id VARCHAR,                     -- the person it belonged to when forgotten (--person), else NULL
    forgotten_by VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    forgotten_at TIMESTAMP NOT NULL,
    PRIMARY KEY (record_type, record_id)
);
