"""The Splink input kept between resolutions, so that a daily run updates the day's records in it
instead of rebuilding it from every record.

identity_splink_input holds, per record, its compared attributes, its rarest name part and one capped
block key per blocking rule (model._build_splink_input). The rarest part depends on how many records
hold each name part, and each block key on how many records share the rule's keys (a block of more
than max_block_size records is refined or left out): built from scratch, that is a count over every
record per rule, the largest part of a daily resolution at ten million referrals.

So the input is kept in identity_splink_rows, with the name-part counts in identity_token_counts, and a
resolution changes only what the day changed:

1. the records whose compared attributes differ from the kept row (new, changed, removed), looked for
   only among the records noted as changed since the last completed resolution
   (identity_changed_records), not by comparing every record;
2. the name-part counts, by the parts those records lost and gained, and the rarest part of every
   record holding a part whose count moved (a count can overtake another record's rarest part);
3. per rule, the blocks those records left or joined: each such block's size (and its refined sizes)
   is counted again, and a member's block key is rewritten where the cap now says otherwise.

Every record whose row step 2 or 3 rewrote is noted as changed too, so that the scored state compares
it again (sql/identity/touched_records.sql).

Blocks nobody joined or left keep their size, so every other record's keys stand as they are: the
result equals a build from scratch (tests/test_kept_input.py checks it over days of changes that push
blocks across the cap both ways). The kept input is valid only under the fingerprint it was built
with (the blocking rules, the cap, the key version, DuckDB's hash function); under any other, and in a
full resolution, it is built from scratch. The fingerprint row leaves first and comes back last, so a
resolution interrupted halfway leaves no valid state and the next one builds from scratch.
"""
from __future__ import annotations

from typing import Any

import duckdb

from bountyguard import normalize
from bountyguard.db import state_fingerprint
from bountyguard.identity.config import IdentityConfig
from bountyguard.identity.model import (
    _BLOCKING,
    _INPUT_COLUMNS,
    _BlockingRule,
    _block_columns,
    _build_splink_input,
    _run,
)

# Bump when the way the input is built changes, so that kept inputs are rebuilt.
_INPUT_VERSION = 1


def input_fingerprint(config: IdentityConfig) -> str:
    spec = {"version": _INPUT_VERSION, "keys_version": normalize.KEYS_VERSION,
            "max_block_size": config.max_block_size, "columns": _INPUT_COLUMNS,
            "blocking": [repr(rule) for rule in _BLOCKING], "duckdb": duckdb.__version__}
    return state_fingerprint(spec)


def splink_input(con: duckdb.DuckDBPyConnection, config: IdentityConfig, *, full: bool) -> dict[str, Any]:
    """identity_splink_input for this resolution: the kept input brought up to date, or (with `full`,
    without a kept input, or under another fingerprint) one built from scratch and kept."""
    fingerprint = input_fingerprint(config)
    kept = con.execute("SELECT fingerprint FROM identity_input_state").fetchall() == [(fingerprint,)]
    con.execute("DELETE FROM identity_input_state")
    for (kind,) in con.execute("SELECT table_type FROM information_schema.tables "
                               "WHERE table_name = 'identity_splink_input'").fetchall():
        _run(con, f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} identity_splink_input")
    if full or not kept:
        _build_splink_input(con, config)
        _run(con, "CREATE OR REPLACE TABLE identity_splink_rows AS SELECT * FROM identity_splink_input")
        _run(con, "DELETE FROM identity_token_counts")
        _run(con, """INSERT INTO identity_token_counts
                     SELECT token, count(*) FROM (
                         SELECT DISTINCT unique_id, unnest(name_tokens) AS token FROM identity_splink_rows)
                     WHERE token IS NOT NULL GROUP BY token""")
        stats = {"input": "built", "input_changed_records": None}
    else:
        stats = {"input": "updated", "input_changed_records": _update(con, config)}
        _run(con, "CREATE OR REPLACE TEMP VIEW identity_splink_input AS SELECT * FROM identity_splink_rows")
    con.execute("INSERT INTO identity_input_state VALUES (?)", [fingerprint])
    return stats


def _update(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> int:
    """Bring identity_splink_rows up to date with identity_keyed; returns how many records changed."""
    columns = ", ".join(_INPUT_COLUMNS)
    # a record without any name part has no rarest part, and the build from scratch leaves it out
    _run(con, f"""
        CREATE OR REPLACE TEMP VIEW identity_input_base AS
        SELECT unique_id, {columns} FROM identity_keyed
        WHERE name_key IS NOT NULL AND coalesce(list_count(name_tokens), 0) > 0""")
    # only the records whose keyed row changed since the last completed resolution can differ from
    # their kept row (identity_changed_records); compared by a digest of the attributes
    _run(con, f"""
        CREATE OR REPLACE TEMP TABLE identity_input_changed AS
        WITH journal AS (SELECT DISTINCT unique_id FROM identity_changed_records),
        now AS (SELECT unique_id, hash({columns}) AS digest FROM identity_input_base
                WHERE unique_id IN (SELECT unique_id FROM journal)),
        kept AS (SELECT unique_id, hash({columns}) AS digest FROM identity_splink_rows
                 WHERE unique_id IN (SELECT unique_id FROM journal))
        SELECT coalesce(now.unique_id, kept.unique_id) AS unique_id
        FROM now FULL JOIN kept ON kept.unique_id = now.unique_id
        WHERE now.unique_id IS NULL OR kept.unique_id IS NULL OR now.digest <> kept.digest""")
    changed = con.execute("SELECT count(*) FROM identity_input_changed").fetchall()[0][0]
    if not changed:
        return 0
    # the changed records as kept (old) and as they are now (new)
    _run(con, """CREATE OR REPLACE TEMP TABLE identity_input_old AS
                 SELECT * FROM identity_splink_rows
                 WHERE unique_id IN (SELECT unique_id FROM identity_input_changed)""")
    _run(con, """CREATE OR REPLACE TEMP TABLE identity_input_new AS
                 SELECT * FROM identity_input_base WHERE unique_id IN (SELECT unique_id FROM identity_input_changed)""")
    _update_token_counts(con)
    _run(con, "DELETE FROM identity_splink_rows WHERE unique_id IN (SELECT unique_id FROM identity_input_changed)")
    _run(con, "INSERT INTO identity_splink_rows BY NAME SELECT * FROM identity_input_new")
    # each step notes the values it rewrites, read from the rows as they were kept (no step reads a
    # column another rewrites); they are written at the end, in one pass over the kept rows
    _run(con, """CREATE OR REPLACE TEMP TABLE identity_rewrites
                 (unique_id VARCHAR, column_name VARCHAR, name_value VARCHAR, key_value UBIGINT)""")
    _update_rarest(con)
    for index, rule in enumerate(_BLOCKING):
        if rule.cross:
            _update_cross_blocks(con, rule, index, config.max_block_size)
        else:
            _update_blocks(con, rule, index, config.max_block_size)
    _apply_rewrites(con)
    return changed


def _rewrite(con: duckdb.DuckDBPyConnection, column: str, values: str) -> None:
    """Note the value `values` (a query of unique_id, value and the row's current value, read with it)
    gives each record's `column` of identity_splink_rows, where the two differ (_apply_rewrites
    writes them). A row nobody edited whose rarest part or block key moved is compared with the scored
    state like an edited one (sql/identity/touched_records.sql). UPDATE ... RETURNING ran several
    times slower, joining the kept rows once more to compare cost a scan per rule, and an UPDATE per
    column a pass over every kept row per column."""
    _run(con, f"""INSERT INTO identity_rewrites (unique_id, column_name, {_rewrite_value(column)})
                  SELECT unique_id, '{column}', value FROM ({values}) WHERE value IS DISTINCT FROM current""")


def _rewrite_value(column: str) -> str:
    """The column of identity_rewrites that holds a rewritten `column`'s values (by its type)."""
    return "name_value" if column == "name_rarest" else "key_value"


def _apply_rewrites(con: duckdb.DuckDBPyConnection) -> None:
    """Write the noted values into identity_splink_rows, and note their records as changed
    (sql/schema/identity.sql). Stopped in between, the kept input has no state row, so the next
    resolution builds it and compares every record."""
    columns = [c for (c,) in con.execute("SELECT DISTINCT column_name FROM identity_rewrites ORDER BY 1").fetchall()]
    if not columns:
        return
    # one row per record: for each column, whether it was rewritten and to what (NULL is a value too)
    _run(con, f"""CREATE OR REPLACE TEMP TABLE identity_rewritten_rows AS
                  SELECT unique_id, {', '.join(
                      f"bool_or(column_name = '{c}') AS set_{c}, "
                      f"any_value({_rewrite_value(c)}) FILTER (WHERE column_name = '{c}') AS {c}" for c in columns)}
                  FROM identity_rewrites GROUP BY unique_id""")
    _run(con, f"""UPDATE identity_splink_rows p
                  SET {', '.join(f"{c} = CASE WHEN r.set_{c} THEN r.{c} ELSE p.{c} END" for c in columns)}
                  FROM identity_rewritten_rows r WHERE p.unique_id = r.unique_id""")
    _run(con, "INSERT INTO identity_changed_records SELECT unique_id FROM identity_rewritten_rows")


def _update_token_counts(con: duckdb.DuckDBPyConnection) -> None:
    """identity_token_counts moved by the name parts the changed records lost and gained (a part
    counts once per record); identity_token_delta: the parts whose count moved."""
    _run(con, """
        CREATE OR REPLACE TEMP TABLE identity_token_delta AS
        SELECT token, sum(d)::BIGINT AS d
        FROM (SELECT DISTINCT unique_id, unnest(name_tokens) AS token, -1 AS d FROM identity_input_old
              UNION ALL
              SELECT DISTINCT unique_id, unnest(name_tokens) AS token, 1 AS d FROM identity_input_new)
        WHERE token IS NOT NULL
        GROUP BY token
        HAVING sum(d) <> 0""")
    _run(con, """
        CREATE OR REPLACE TEMP TABLE identity_token_counts_moved AS
        SELECT d.token, coalesce(c.n, 0) + d.d AS n
        FROM identity_token_delta d LEFT JOIN identity_token_counts c USING (token)""")
    _run(con, "DELETE FROM identity_token_counts WHERE token IN (SELECT token FROM identity_token_delta)")
    _run(con, "INSERT INTO identity_token_counts SELECT token, n FROM identity_token_counts_moved WHERE n > 0")


def _update_rarest(con: duckdb.DuckDBPyConnection) -> None:
    """The rarest name part (ties: the first in sort order) of the changed records (their rarest part
    is NULL until now), and of every record whose rarest part a moved count can change: its rarest
    part's count moved, or a part of it whose count moved is now rarer than its rarest part. Parts
    whose count did not move keep their order, so no other record's rarest part changes. (The day's
    records move the counts of nearly every common name part: recomputing every holder of a moved
    part looked at most records, 6.8 s at ten million referrals.)"""
    _run(con, """
        CREATE OR REPLACE TEMP TABLE identity_rarest_moved AS
        WITH moved AS (
            SELECT d.token, c.n FROM identity_token_delta d JOIN identity_token_counts c USING (token)
        ),
        with_rarest_count AS (
            SELECT s.unique_id, s.name_tokens, s.name_rarest, c.n AS rarest_n
            FROM identity_splink_rows s LEFT JOIN identity_token_counts c ON c.token = s.name_rarest
        ),
        overtaken AS (
            SELECT r.unique_id
            FROM (SELECT unique_id, name_rarest, rarest_n, unnest(name_tokens) AS token FROM with_rarest_count) r
            JOIN moved m USING (token)
            WHERE (m.n, m.token) < (r.rarest_n, r.name_rarest)
        ),
        holders AS (
            SELECT unique_id, name_tokens, name_rarest FROM with_rarest_count
            WHERE name_rarest IS NULL OR name_rarest IN (SELECT token FROM identity_token_delta)
               OR unique_id IN (SELECT unique_id FROM overtaken)
        ),
        record_tokens AS (SELECT DISTINCT unique_id, name_rarest, unnest(name_tokens) AS token FROM holders)
        SELECT unique_id, first(token ORDER BY n, token) AS name_rarest, any_value(r.name_rarest) AS current
        FROM record_tokens r JOIN identity_token_counts USING (token)
        GROUP BY unique_id""")
    _rewrite(con, "name_rarest", "SELECT unique_id, name_rarest AS value, current FROM identity_rarest_moved")


def _update_blocks(con: duckdb.DuckDBPyConnection, rule: _BlockingRule, index: int, max_block_size: int) -> None:
    """A symmetric rule: the blocks the changed records left or joined, counted again, and their
    members' block keys rewritten where the cap now says otherwise (as model._block_key_sql)."""
    cap = int(max_block_size)
    column = _block_columns(rule)[0]
    keys = [f"k{i}" for i in range(len(rule.keys))]
    fine = [f"f{i}" for i in range(len(rule.refine))]
    keyed = ", ".join(f"{expr} AS {alias}" for expr, alias in zip(rule.keys, keys))
    refined = "".join(f", {expr} AS {alias}" for expr, alias in zip(rule.refine, fine))
    not_null = " AND ".join(f"{alias} IS NOT NULL" for alias in keys)
    on = " AND ".join(f"m.{alias} = v.{alias}" for alias in keys)
    block = f"CASE WHEN coarse.n <= {cap} THEN hash({index}, {', '.join(keys)}) "
    if fine:
        block += (f"WHEN {' AND '.join(f'm.{f} IS NOT NULL' for f in fine)} AND fine.n <= {cap} "
                  f"THEN hash({index}, 'refined', {', '.join(keys)}, {', '.join(f'm.{f}' for f in fine)}) ")
        fine_join = (f"LEFT JOIN fine ON {' AND '.join(f'fine.{a} = m.{a}' for a in keys + fine)}")
        fine_cte = f", fine AS (SELECT {', '.join(keys + fine)}, count(*) AS n FROM members GROUP BY ALL)"
    else:
        fine_join, fine_cte = "", ""
    _rewrite(con, column, f"""
            WITH moved AS (
                SELECT DISTINCT {', '.join(keys)} FROM (
                    SELECT {keyed} FROM identity_input_old UNION ALL SELECT {keyed} FROM identity_input_new)
                WHERE {not_null}
            ),
            members AS (
                SELECT m.* FROM (SELECT unique_id, {column} AS current, {keyed}{refined} FROM identity_splink_rows) m
                JOIN moved v ON {on}
            ),
            coarse AS (SELECT {', '.join(keys)}, count(*) AS n FROM members GROUP BY ALL){fine_cte}
            SELECT m.unique_id, {block}END AS value, m.current
            FROM members m JOIN coarse USING ({', '.join(keys)}) {fine_join}""")


def _update_cross_blocks(con: duckdb.DuckDBPyConnection, rule: _BlockingRule, index: int,
                         max_block_size: int) -> None:
    """A cross rule: a (keys, name part) block holds the records with that part on either side; the
    blocks the changed records left or joined are counted again, and each side's key rewritten."""
    cap = int(max_block_size)
    keys = [f"k{i}" for i in range(len(rule.keys))]
    keyed = ", ".join(f"{expr} AS {alias}" for expr, alias in zip(rule.keys, keys))
    not_null = " AND ".join(f"{alias} IS NOT NULL" for alias in keys)
    a, b = rule.cross
    _run(con, f"""
        CREATE OR REPLACE TEMP TABLE identity_cross_moved AS
        SELECT DISTINCT * FROM (
            SELECT {keyed}, {a} AS token FROM identity_input_old UNION ALL SELECT {keyed}, {b} FROM identity_input_old
            UNION ALL
            SELECT {keyed}, {a} AS token FROM identity_input_new UNION ALL SELECT {keyed}, {b} FROM identity_input_new)
        WHERE {not_null} AND token IS NOT NULL""")
    on_moved = " AND ".join(f"v.{alias} = r.{alias}" for alias in keys + ["token"])
    _run(con, f"""
        CREATE OR REPLACE TEMP TABLE identity_cross_sizes AS
        SELECT r.* EXCLUDE (unique_id), count(*) AS n FROM (
            SELECT unique_id, {keyed}, {a} AS token FROM identity_splink_rows
            UNION ALL SELECT unique_id, {keyed}, {b} FROM identity_splink_rows) r
        JOIN identity_cross_moved v ON {on_moved}
        GROUP BY ALL""")
    for side, column in zip(rule.cross, _block_columns(rule)):
        on = " AND ".join(f"s.{alias} = r.{alias}" for alias in keys + ["token"])
        _rewrite(con, column, f"""
            SELECT r.unique_id,
                   CASE WHEN s.n <= {cap}
                        THEN hash({index}, {', '.join(f'r.{k}' for k in keys)}, r.token) END AS value,
                   r.current
            FROM (SELECT unique_id, {column} AS current, {keyed}, {side} AS token FROM identity_splink_rows) r
            JOIN identity_cross_sizes s ON {on}""")
