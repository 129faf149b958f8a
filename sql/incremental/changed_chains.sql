-- Which hires a daily run rebuilds in stint_names, and so which names' chains in stint_chains
-- (bountyguard/incremental.py), after stints is rebuilt. A row of stint_names is a function of its
-- stint and of the candidate person's records (their names, and the stint's own record's name, city
-- and birth date); a chain is a function of the stint_names rows under its name, and of its
-- members' records and stints (a second birth date, city or job held at once breaks it). So
--   a candidate person changes when one of their stints was rebuilt, referred or not (the persons
--   the rebuilt rows named before and name now: changed_row_persons, from changed_rows.sql and
--   changed_persons.sql), or one of their records changed: it joined or left the person (the persons
--   the moved records had at the base run and have now: moved_record_persons, changed_rows.sql) or
--   was loaded since (another name, city or birth date; ingest upserts). Normalisation is in the
--   tables' fingerprint, and `forget` drops them; every hire of such a person changes, with the
--   rebuilt stints (changed_hires).
--   a name changes when a rebuilt hire's rows named it before or name it now (the view
--   names_of_changed_hires: read here, before stint_names is rebuilt, and again after). A member's
--   change reaches every name of the member's person, so every chain it is in.
-- The sets may hold more than changed; rebuilding an unchanged row or name gives the same rows.

CREATE OR REPLACE TEMP TABLE changed_name_persons AS
SELECT person_id FROM moved_record_persons WHERE record_type = 'candidate'
UNION
SELECT p.person_id
FROM person_records p
JOIN candidates c ON p.record_type = 'candidate' AND p.record_id = c.candidate_id
WHERE c._loaded_run_id IN (SELECT run_id FROM changed_loaded_runs)
UNION
SELECT person_id FROM changed_row_persons WHERE side = 'candidate';

CREATE OR REPLACE TEMP TABLE changed_name_hires AS
SELECT hire_id FROM changed_hires
UNION
SELECT hire_id FROM stints WHERE candidate_person_id IN (SELECT person_id FROM changed_name_persons)
UNION
SELECT hire_id FROM stint_names WHERE candidate_person_id IN (SELECT person_id FROM changed_name_persons);

CREATE OR REPLACE TEMP VIEW names_of_changed_hires AS
SELECT DISTINCT name_key FROM stint_names WHERE hire_id IN (SELECT hire_id FROM changed_name_hires);

CREATE OR REPLACE TEMP TABLE changed_chain_names AS SELECT * FROM names_of_changed_hires;

-- each chain member's chain person (as chained_stints picks it), and as the base run left them, for
-- the rules that follow chained candidates (sql/incremental/changed_chained_candidates.sql compares
-- them with the rebuilt chains'); stint_chains is not touched before its own rebuild, and the chains
-- are small, a row per member
CREATE OR REPLACE TEMP VIEW chain_persons AS
SELECT candidate_person_id, min(chain_person_id) AS chain_person_id FROM stint_chains GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE chain_persons_before AS SELECT * FROM chain_persons;
