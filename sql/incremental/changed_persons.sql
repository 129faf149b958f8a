-- Which persons' behaviour rows (referrer_behaviour, candidate_behaviour) a daily run rebuilds, after
-- stints and referral_facts are rebuilt (bountyguard/incremental.py). A behaviour row is a function
-- of the person's own referral_facts and stints rows, of their records' signup or creation dates, and
-- of the as-of date (counts in 30/90/365-day windows, guarantees ended by then), never of anybody
-- else's rows (missing values stay NULL; the anomaly model fills them). So a person's row changes when
--   one of their rows changed: the persons the rebuilt rows named before (changed_row_persons,
--   from changed_rows.sql) and name now (its view persons_of_changed_rows, read again);
--   a record joined or left the person (the identities the base run and this one recorded:
--   moved_record_persons, from changed_rows.sql);
--   a record's signup or creation was loaded since, or the as-of date passed it;
--   the as-of date moved a referral or hire out of a window, or past a guarantee end.
-- The sets may hold more than changed; rebuilding an unchanged row rebuilds the same row, and a
-- person with no rows left (merged into another) loses their row.

INSERT INTO changed_row_persons SELECT * FROM persons_of_changed_rows;

CREATE OR REPLACE TEMP TABLE changed_behaviour_persons AS
WITH
window_days AS (
    SELECT unnest([30, 90, 365]) AS days
),
records_dated AS (
    -- the features read a signup or creation only once the as-of date has passed it
    SELECT 'referrer' AS side, referrer_id AS record_id FROM referrers
    WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
       OR (CAST(signed_up_at AS DATE) > $base_as_of::DATE AND CAST(signed_up_at AS DATE) <= $as_of::DATE)
    UNION ALL
    SELECT 'candidate', candidate_id FROM candidates
    WHERE _loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
       OR (CAST(created_at AS DATE) > $base_as_of::DATE AND CAST(created_at AS DATE) <= $as_of::DATE)
),
records_dated_persons AS (
    SELECT d.side, coalesce(p.person_id, d.side || ':' || d.record_id) AS person_id
    FROM records_dated d
    LEFT JOIN person_records p ON p.record_type = d.side AND p.record_id = d.record_id
),
referrals_leaving_windows AS (
    SELECT f.referrer_person_id, f.candidate_person_id
    FROM referral_facts f, window_days w
    WHERE CAST(f.referred_at AS DATE) > $base_as_of::DATE - w.days
      AND CAST(f.referred_at AS DATE) <= $as_of::DATE - w.days
),
referred_hires_leaving_windows AS (
    -- the referrer's placements are counted from referral_facts
    SELECT f.referrer_person_id
    FROM referral_facts f, window_days w
    WHERE CAST(f.hired_at AS DATE) > $base_as_of::DATE - w.days
      AND CAST(f.hired_at AS DATE) <= $as_of::DATE - w.days
),
stints_passing_dates AS (
    -- the candidate's placements are counted from stints; a guarantee ended counts for both
    SELECT s.referrer_person_id, s.candidate_person_id
    FROM stints s, window_days w
    WHERE (CAST(s.hired_at AS DATE) > $base_as_of::DATE - w.days AND CAST(s.hired_at AS DATE) <= $as_of::DATE - w.days)
       OR (s.guarantee_end > $base_as_of::DATE AND s.guarantee_end <= $as_of::DATE)
)
SELECT side, person_id FROM changed_row_persons
UNION SELECT record_type, person_id FROM moved_record_persons
UNION SELECT side, person_id FROM records_dated_persons
UNION SELECT 'referrer', referrer_person_id FROM referrals_leaving_windows
UNION SELECT 'candidate', candidate_person_id FROM referrals_leaving_windows
UNION SELECT 'referrer', referrer_person_id FROM referred_hires_leaving_windows
UNION SELECT 'referrer', referrer_person_id FROM stints_passing_dates
UNION SELECT 'candidate', candidate_person_id FROM stints_passing_dates;

CREATE OR REPLACE TEMP TABLE changed_referrer_persons AS
SELECT DISTINCT person_id FROM changed_behaviour_persons WHERE side = 'referrer' AND person_id IS NOT NULL;

CREATE OR REPLACE TEMP TABLE changed_candidate_persons AS
SELECT DISTINCT person_id FROM changed_behaviour_persons WHERE side = 'candidate' AND person_id IS NOT NULL;
