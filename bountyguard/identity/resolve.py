"""Resolution: normalised keys (cached per distinct raw value), exact links, the probabilistic links of
the model, and their clusters into persons (`resolve_persons`)."""
from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import dataclasses
import functools
import logging
import math
import multiprocessing
import os
import time
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from bountyguard import matching_keys, normalize
from bountyguard.db import run_sql_file, sql_text, state_fingerprint
from bountyguard.errors import BountyguardError, ConfigError

from bountyguard.identity.config import IdentityConfig
from bountyguard.identity.model import (
    _BIRTH_DATE_LEVELS,
    _BLOCKING,
    _COMPARISONS,
    _DETERMINISTIC_RECALL,
    _DETERMINISTIC_RULES,
    _NAME_LEVELS,
    _TRAINING_BLOCKS,
    _block_columns,
    _blocked_pair_counts,
    _run,
    _settings,
    _splink_blocking_rules,
)
from bountyguard.identity.kept_input import splink_input
from bountyguard.identity.storage import (
    _register_term_frequencies,
    _store_model,
    _stored_model,
    _term_frequency_digest,
    _tf_columns,
)

log = logging.getLogger("bountyguard.identity")

# Internal working tables: TEMP so they never land in the pipeline's database file.
_WORK_TABLES = ("identity_raw_records", "identity_lookup_records", "identity_looked_up", "identity_raw_values",
                "identity_raw_hashes", "identity_new_values", "identity_keyed", "identity_dropped_keys",
                "identity_exact_links",
                "identity_exact_input", "identity_exact_touched", "identity_exact_groups", "identity_new_exact_links",
                "identity_splink_input", "identity_input_base", "identity_input_changed", "identity_input_old",
                "identity_input_new", "identity_token_delta", "identity_token_counts_moved",
                "identity_rarest_moved", "identity_rewrites", "identity_rewritten_rows", "identity_cross_moved", "identity_cross_sizes",
                "identity_changed_ends",
                "identity_person_nodes", "identity_person_edges", "identity_person_rows", "identity_record_digests",
                "identity_touched", "identity_scoring_mode", "identity_scoring_input", "identity_scoring_partners",
                "identity_kept_links", "identity_new_fuzzy_links", "identity_fuzzy_links", "identity_all_links",
                "identity_clusters")


# ---------------------------------------------------------------------------------------------------
# Normalising: Python (phonenumbers, schwifty, anyascii), once per distinct raw value, in processes


def _phone_regions(config: IdentityConfig) -> str:
    """The default phone region and its fallbacks, as normalize's phone keys take them ("DE,RU,UA")."""
    regions = (config.default_phone_region, *config.fallback_phone_regions)
    return ",".join(dict.fromkeys(r.upper() for r in regions))


# How many processes normalise a first load's values: the deployment's, like the DuckDB limits
# (bountyguard/db.py), never part of a run's configuration or digest (keys do not depend on it).
PROCESSES_VARIABLE = "BOUNTYGUARD_NORMALISE_PROCESSES"
# Below this many new values a batch is normalised in the run's own process: starting a pool (about
# a second a process, importing the parsers) costs more than a daily run's few thousand values.
_PARALLEL_MIN_VALUES = 100_000
# Values handed to a process at a time: small enough to spread a batch evenly over the processes.
_CHUNK_VALUES = 50_000


def normalise_processes() -> int:
    """$BOUNTYGUARD_NORMALISE_PROCESSES, else the cores this process may use."""
    value = os.environ.get(PROCESSES_VARIABLE, "").strip()
    if not value:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{PROCESSES_VARIABLE}={value!r}: expected a whole number of processes, at least 1")
    return int(value)


class _Normaliser:
    """normalize.keys_of over a batch's columns: in this process, or split over a pool of processes
    once a batch is large enough (started at the first such batch, stopped with the resolution)."""

    def __init__(self, phone_region: str, processes: int, parallel_min_values: int = _PARALLEL_MIN_VALUES,
                 chunk_values: int = _CHUNK_VALUES):
        self.keys_of = functools.partial(normalize.keys_of, phone_region=phone_region)
        self.processes = processes
        self.parallel_min_values = parallel_min_values
        self.chunk_values = chunk_values
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def __enter__(self) -> "_Normaliser":
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def __call__(self, kinds: list, raws: list, cities: list) -> list:
        if self.processes < 2 or len(kinds) < self.parallel_min_values:
            return self.keys_of(kinds, raws, cities)
        if self._pool is None:
            # spawn, not fork: the run's process holds DuckDB's threads, which a fork would copy mid-work
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"))
        starts = range(0, len(kinds), self.chunk_values)
        try:
            chunks = self._pool.map(self.keys_of, *(
                [column[i:i + self.chunk_values] for i in starts] for column in (kinds, raws, cities)))
            return [key for chunk in chunks for key in chunk]
        except concurrent.futures.process.BrokenProcessPool:
            # a spawned process imports the program's main module again: a script that runs a pipeline
            # step at import time instead of under `if __name__ == "__main__":` fails here (the CLI,
            # Airflow's tasks and pytest all guard it); so does a process killed for lack of memory
            raise BountyguardError(
                f"identity: a normalising process ended abruptly (out of memory, or the program that runs "
                f"bountyguard does not guard its entry with `if __name__ == \"__main__\":`); set "
                f"{PROCESSES_VARIABLE}=1 to normalise in the run's own process") from None


def _register_macros(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _MACROS:
        _run(con, statement)


# Comparisons of two records run on every blocked pair, so they are SQL (vectorised, on all cores), not
# Python. bg_tokens_nest(a, b) is normalize.names_nest on token lists: the shorter list (of at least two
# tokens) lies within the longer one, each of its tokens within one edit of a token of the other, and
# distinct tokens of the other taken (the union of the matched positions is as large as the shorter
# list: exact for two tokens, the common case).
_MACROS = (
    """CREATE OR REPLACE TEMP MACRO bg_tokens_within(short_tokens, long_tokens) AS
        len(short_tokens) >= 2
        AND list_bool_and(list_transform(short_tokens, lambda t:
                list_bool_or(list_transform(long_tokens, lambda u: damerau_levenshtein(t, u) <= 1))))
        AND len(list_distinct(flatten(list_transform(short_tokens, lambda t:
                list_filter(list_transform(long_tokens, lambda u, j:
                    CASE WHEN damerau_levenshtein(t, u) <= 1 THEN j END), lambda j: j IS NOT NULL)))))
            >= len(short_tokens)""",
    # bg_joined_within(long, short_key): two parts of the longer name joined (in either order) give the
    # shorter name key, up to one edit
    """CREATE OR REPLACE TEMP MACRO bg_joined_within(long_tokens, short_key) AS
        list_bool_or(list_transform(range(1, len(long_tokens) + 1), lambda i:
            list_bool_or(list_transform(range(1, len(long_tokens) + 1), lambda j:
                CASE WHEN i <> j THEN damerau_levenshtein(
                    array_to_string(list_sort(list_append(
                        list_filter(long_tokens, lambda t, k: k <> i AND k <> j),
                        long_tokens[i] || long_tokens[j])), ' '),
                    short_key) <= 1 ELSE false END))))""",
    # bg_parts_differ(a, b): the name with fewer parts has one without a counterpart in the other (none
    # with a Jaro-Winkler similarity of 0.8 or more: Maria / Laura 0.73, Mihailo / Miheal 0.89)
    """CREATE OR REPLACE TEMP MACRO bg_parts_differ(a, b) AS
        coalesce(list_bool_or(list_transform(CASE WHEN len(a) <= len(b) THEN a ELSE b END, lambda t:
            list_max(list_transform(CASE WHEN len(a) <= len(b) THEN b ELSE a END,
                                    lambda u: jaro_winkler_similarity(t, u))) < 0.8)), true)""",
    # bg_names_stay_close(tokens_a, tokens_b, key_a, key_b, key_b_reversed): two names some edits
    # apart are still one name only if they stay similar (Jaro-Winkler 0.9 in the better token order)
    # or the parts they do not share are long (Anastasia / Astasia); two edits in one short part make
    # another name (Jack / Sas, Tara / Taiah, Lea / Lisa)
    """CREATE OR REPLACE TEMP MACRO bg_names_stay_close(tokens_a, tokens_b, key_a, key_b, key_b_reversed) AS
        greatest(jaro_winkler_similarity(key_a, key_b), jaro_winkler_similarity(key_a, key_b_reversed)) >= 0.9
        OR list_bool_and(list_transform(list_concat(
            list_filter(tokens_a, lambda t: NOT list_contains(tokens_b, t)),
            list_filter(tokens_b, lambda t: NOT list_contains(tokens_a, t))),
            lambda t: len(t) >= 6))""",
    # bg_mailbox_year(email): the last run of digits in the local part (before any +tag), as a year
    # of birth: 1930-2015 written out, or two digits (30-99: 19xx, else 20xx)
    """CREATE OR REPLACE TEMP MACRO bg_year_from_digits(d) AS
        CASE WHEN len(d) = 4 AND d::INTEGER BETWEEN 1930 AND 2015 THEN d::INTEGER
             WHEN len(d) = 2 THEN d::INTEGER + CASE WHEN d::INTEGER >= 30 THEN 1900 ELSE 2000 END END""",
    """CREATE OR REPLACE TEMP MACRO bg_mailbox_year(email) AS
        bg_year_from_digits(regexp_extract_all(
            split_part(split_part(lower(email), '@', 1), '+', 1), '[0-9]+')[-1])""",
    """CREATE OR REPLACE TEMP MACRO bg_tokens_nest(a, b) AS
        coalesce(CASE WHEN len(a) <= len(b) THEN bg_tokens_within(a, b) ELSE bg_tokens_within(b, a) END,
                 false)""",
)



def _table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


@contextmanager
def _resolution_session(con: duckdb.DuckDBPyConnection):
    """Leave the caller's connection as it was found, whatever happens in between.

    Splink logs progress at INFO and DuckDB draws progress bars on long queries: neither belongs in the
    pipeline's output. Splink's intermediate tables (__splink__*, a registered view result_df) and our
    own working tables are removed afterwards, so only person_records and person_links remain.
    """
    splink_logger = logging.getLogger("splink")
    previous_level = splink_logger.level
    splink_logger.setLevel(logging.WARNING)
    progress_bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
    _run(con, "SET enable_progress_bar = false")
    tables_before = _table_names(con)
    try:
        yield
    finally:
        splink_logger.setLevel(previous_level)
        _run(con, f"SET enable_progress_bar = {'true' if progress_bar else 'false'}")
        rows = con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
        for table_name, table_type in rows:
            if table_name in tables_before:
                continue
            if table_name.startswith("__splink__") or table_name in _WORK_TABLES:
                kind = "VIEW" if table_type == "VIEW" else "TABLE"
                _run(con, f'DROP {kind} IF EXISTS "{table_name}"')
            elif table_name == "result_df":  # a data frame Splink registers on the connection
                con.unregister(table_name)


def _level_label_sql(name: str, levels: list[dict[str, Any]]) -> str:
    """CASE over Splink's gamma value (else = 0, counting up to exact) giving the level's label."""
    scored = [level for level in levels if not level.get("is_null_level")]
    whens = " ".join(
        f"WHEN {len(scored) - 1 - i} THEN '{level['label_for_charts']}'" for i, level in enumerate(scored)
    )
    return f"CASE gamma_{name} {whens} ELSE 'missing' END"


def _fuzzy_links(con: duckdb.DuckDBPyConnection, config: IdentityConfig, full: bool) -> dict[str, Any]:
    """identity_fuzzy_links: the pairs Splink scores at or above the threshold. Only pairs with a touched
    record are scored (sql/identity/touched_records.sql), unless `full` or the last resolution's state
    was made under another fingerprint (another model, settings or versions): then every pair."""
    from splink import DuckDBAPI

    stats: dict[str, Any] = {}
    building = time.perf_counter()
    stats.update(splink_input(con, config, full=full))
    stats["input_seconds"] = round(time.perf_counter() - building, 2)
    n_records = con.execute("SELECT count(*) FROM identity_splink_input").fetchall()[0][0]
    stats["fuzzy_records"] = n_records
    # a statistic for the log, over every record: counted when the input is built, not on a daily update
    stats["blocked_pairs"] = _blocked_pair_counts(con) if stats["input"] == "built" else None
    db = DuckDBAPI(con)
    settings = None
    if n_records < 2:
        stats["model"] = "none"
    else:
        settings = _model_settings(con, config, db, n_records, stats)
    fingerprint = _resolution_fingerprint(con, config, settings)
    stored = con.execute("SELECT fingerprint FROM identity_resolution_state").fetchall()
    incremental = not full and stored == [(fingerprint,)]
    stats["resolution"] = "incremental" if incremental else "full"
    run_sql_file(con, "identity/touched_records.sql",
                 {"incremental": incremental, "journal": incremental and stats["input"] == "updated"})
    stats["touched_records"], stats["kept_links"] = con.execute(
        "SELECT (SELECT count(*) FROM identity_scoring_input WHERE bg_touched), "
        "(SELECT count(*) FROM identity_kept_links)").fetchall()[0]
    log.info("identity: Splink input %s in %.1f s (%s records changed), model %s, %s resolution, "
             "%d of %d records touched, blocked pairs by rule %s", stats["input"], stats["input_seconds"],
             "all" if stats["input_changed_records"] is None else stats["input_changed_records"],
             stats.get("model"), stats["resolution"], stats["touched_records"], n_records,
             stats["blocked_pairs"] or "(counted when the input is built)")
    predicting = time.perf_counter()
    if settings is not None and stats["touched_records"] > 0:
        stats["predict_chunks"] = _predict(con, config, db, settings, incremental, n_records)
    else:
        stats["predict_chunks"] = 0
        _run(con, """CREATE OR REPLACE TEMP TABLE identity_new_fuzzy_links (
            unique_id_l VARCHAR, unique_id_r VARCHAR, rule VARCHAR, match_probability DOUBLE,
            evidence VARCHAR)""")
    stats["predict_seconds"] = round(time.perf_counter() - predicting, 2)
    stats["scored_links"] = con.execute("SELECT count(*) FROM identity_new_fuzzy_links").fetchall()[0][0]
    run_sql_file(con, "identity/fuzzy_link_state.sql", {"fingerprint": fingerprint, "incremental": incremental})
    return stats


def _model_settings(con: duckdb.DuckDBPyConnection, config: IdentityConfig, db: Any, n_records: int,
                    stats: dict[str, Any]) -> dict[str, Any]:
    """The model's settings: the stored trained model, or one trained now (and stored), or the
    built-in one (too few records, or training off)."""
    from splink import Linker

    large_enough = n_records >= config.min_records_for_training
    trained = config.train_model and large_enough
    stored = _stored_model(con, config, n_records) if trained else None
    if stored is not None:
        stats["training_seconds"] = 0.0
        stats["model"] = "reused"
        return stored
    table = db.register("identity_splink_input", table_name="identity_splink_input")
    linker = Linker(table, _settings(config, trained), log_level=None)
    started = time.perf_counter()
    if large_enough:
        # The prior (how likely two random records are one person) falls with the population size, so
        # it is always measured, even for the built-in model: pairs that agree exactly on name and
        # birth date, divided by all pairs. Cheap: one blocked count.
        try:
            linker.training.estimate_probability_two_random_records_match(
                list(_DETERMINISTIC_RULES), recall=_DETERMINISTIC_RECALL)
        except ValueError:
            pass  # more exact matches than the assumed recall allows: keep the built-in prior
    if trained:
        linker.training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed)
        for rule in _TRAINING_BLOCKS:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=config.em_max_pairs)
    stats["training_seconds"] = round(time.perf_counter() - started, 2)
    stats["model"] = "trained" if trained else "built_in"
    settings = linker.misc.save_model_to_json()
    settings.pop("linker_uid", None)  # names Splink's cache tables; a reusing run gets its own
    if trained:
        _store_model(con, config, settings, n_records)
    return settings


def _exact_links(con: duckdb.DuckDBPyConnection, config: IdentityConfig, full: bool) -> dict[str, Any]:
    """identity_exact_links: the links of exact keys. Only the key groups of records touched since the
    last resolution are paired again (sql/identity/exact_links.sql), unless `full` or the kept state
    was made under another fingerprint (this SQL, the macros, the settings, the versions)."""
    params = {"max_key_group_size": config.max_key_group_size,
              "contact_name_max_edits": config.contact_name_max_edits}
    files = ("identity/exact_input.sql", "identity/exact_changes.sql", "identity/exact_links.sql")
    spec = {"sql": [sql_text(f) for f in files], "macros": _MACROS, "params": params,
            "keys_version": normalize.KEYS_VERSION, "duckdb": duckdb.__version__}
    fingerprint = state_fingerprint(spec)
    stored = con.execute("SELECT fingerprint FROM identity_exact_state").fetchall()
    incremental = not full and stored == [(fingerprint,)]
    run_sql_file(con, "identity/exact_input.sql")
    if incremental:
        run_sql_file(con, "identity/exact_changes.sql")
    else:  # every group is paired: nothing to compare with the kept state (at 10M that ran out of memory)
        _run(con, "CREATE OR REPLACE TEMP TABLE identity_exact_touched (unique_id VARCHAR)")
        _run(con, "CREATE OR REPLACE TEMP TABLE identity_exact_groups (key_kind VARCHAR, key_hash UBIGINT)")
    run_sql_file(con, "identity/exact_links.sql",
                 {**params, "incremental": incremental, "exact_fingerprint": fingerprint})
    records = con.execute("SELECT count(*) FROM identity_keyed").fetchall()[0][0]
    touched = con.execute("SELECT count(*) FROM identity_exact_touched").fetchall()[0][0] if incremental else records
    return {"exact": "incremental" if incremental else "full", "exact_touched_records": touched,
            "exact_records": records}


def _resolution_fingerprint(con: duckdb.DuckDBPyConnection, config: IdentityConfig,
                            settings: dict[str, Any] | None) -> str:
    """Everything the links of untouched records depend on besides their own attributes: the model
    with its frozen term frequencies, the [identity] settings, the key and library versions. The last
    resolution's links are kept only under the same fingerprint."""
    import splink

    spec = {"settings": settings, "config": dataclasses.asdict(config), "keys_version": normalize.KEYS_VERSION,
            "term_frequencies": _term_frequency_digest(con) if settings and _tf_columns(settings) else None,
            "blocking": _splink_blocking_rules(), "household": _HOUSEHOLD_SQL,
            "splink": splink.__version__, "duckdb": duckdb.__version__}
    return state_fingerprint(spec)


def _gamma(levels: list[dict[str, Any]], label: str) -> int:
    """Splink's gamma value of a level: the non-null levels count down to 0 for the last (ELSE)."""
    scored = [level["label_for_charts"] for level in levels if not level.get("is_null_level")]
    return len(scored) - 1 - scored.index(label)


# One phone on both records whose names hold a part the other does not (a given name of their own:
# Maria / Laura Zellweger, however similar the whole names are), or are a name and its other gender's
# form, or whose birth dates contradict each other, is a household, not one person: twins (a surname, a
# birth date, a city and the phone shared), brother and sister, a father and his namesake son. The exact
# rule phone_and_name has judged such a pair already and found the names or birth dates apart; the
# fuzzy model must not overrule it. (Michael / Mihailo Hofer are one name in two languages, similar
# part by part: the model decides.)
_HOUSEHOLD_SQL = (
    "(coalesce(phone_national_l = phone_national_r, false) "
    f"AND (gamma_name = {_gamma(_NAME_LEVELS, 'other gender form')} "
    "OR bg_parts_differ(name_tokens_l, name_tokens_r) "
    f"OR gamma_birth_date = {_gamma(_BIRTH_DATE_LEVELS, 'different')}))")


def _predict(con: duckdb.DuckDBPyConnection, config: IdentityConfig, db: Any, settings: dict[str, Any],
             incremental: bool, n_records: int) -> int:
    """identity_new_fuzzy_links: score the blocked pairs of identity_scoring_input (incremental: only
    those with a touched record) and keep those at or above the threshold. Returns the chunks per side."""
    from splink import Linker

    settings = dict(settings)
    scored = "identity_scoring_input"
    if incremental:
        # Only pairs with a touched record are scored. Splink blocks the records it is given by
        # equi-joins on the block keys, so it is given the touched records and only the records that
        # share a block key with one of them: a daily run blocks the day's records against their
        # partners instead of joining the whole history on every key (pairs of two untouched partners
        # are left out by the condition on the rules). Term frequencies are frozen per value, so the
        # smaller table scores every pair exactly as the whole one would.
        #
        # A partner keeps only the block keys it shares with a touched record (each rule's left column
        # against the touched records' right one and back; a touched record keeps all of its own).
        # Splink joins the table on each rule's key before it tests the condition, so a partner brought
        # in by one rule would otherwise be paired with every other partner in each of its blocks under
        # every rule, to be thrown away (at ten million referrals about 1 s of a day's 21 s of scoring:
        # the chunks below were the larger part). A pair with a touched record agrees on a restricted
        # key exactly when it agrees on the whole one, so the pairs, and which rule blocks each first,
        # are the same.
        restricted = {}
        for rule in _BLOCKING:
            left, right = _block_columns(rule)
            restricted[right] = f"s.{right} IN (SELECT {left} FROM touched WHERE {left} IS NOT NULL)"
            if left != right:
                restricted[left] = f"s.{left} IN (SELECT {right} FROM touched WHERE {right} IS NOT NULL)"
        kept = ", ".join(f"CASE WHEN s.bg_touched OR {shared} THEN s.{column} END AS {column}"
                         for column, shared in restricted.items())
        _run(con, f"""
            CREATE OR REPLACE TEMP TABLE identity_scoring_partners AS
            WITH touched AS (SELECT * FROM identity_scoring_input WHERE bg_touched),
            restricted AS (SELECT s.* REPLACE ({kept}) FROM identity_scoring_input s)
            SELECT * FROM restricted
            WHERE bg_touched OR {' OR '.join(f'{column} IS NOT NULL' for column in restricted)}""")
        scored = "identity_scoring_partners"
        settings["blocking_rules_to_generate_predictions"] = [
            {"blocking_rule": f"{rule} AND (l.bg_touched OR r.bg_touched)", "sql_dialect": "duckdb"}
            for rule in _splink_blocking_rules()]
    table = db.register(scored, table_name=scored)
    linker = Linker(table, settings, log_level=None)
    _register_term_frequencies(con, db, linker, settings, scored)
    chunks = _predict_chunks(con, config, scored, n_records)
    predictions = linker.inference.predict(
        threshold_match_probability=min(config.match_threshold, config.match_threshold_without_birth_date),
        num_chunks_left=chunks if chunks > 1 else None,
        num_chunks_right=chunks if chunks > 1 else None,
        warning_mode="never",
    )
    labels = {name: _level_label_sql(name, levels) for name, levels in _COMPARISONS}
    # Evidence holds level labels and similarity scores, never the names or dates themselves.
    _run(con, f"""
        CREATE OR REPLACE TEMP TABLE identity_new_fuzzy_links AS
        SELECT least(unique_id_l, unique_id_r) AS unique_id_l,
               greatest(unique_id_l, unique_id_r) AS unique_id_r,
               'name_birth_date_city' AS rule,
               match_probability::DOUBLE AS match_probability,
               json_object(
                   'name', {labels['name']},
                   'name_similarity', round(greatest(
                        jaro_winkler_similarity(name_key_l, name_key_r),
                        jaro_winkler_similarity(name_key_l, name_key_reversed_r)), 3),
                   'birth_date', {labels['birth_date']},
                   'city', {labels['city']},
                   'phone', {labels['phone']},
                   'email', {labels['email']},
                   'match_weight', round(match_weight, 2)
               )::VARCHAR AS evidence
        FROM {predictions.physical_name}
        WHERE match_probability >= CASE WHEN birth_date_l IS NULL OR birth_date_r IS NULL
                                        THEN {float(config.match_threshold_without_birth_date)!r}
                                        ELSE {float(config.match_threshold)!r} END
          AND NOT {_HOUSEHOLD_SQL}
    """)
    return chunks


def _predict_chunks(con: duckdb.DuckDBPyConnection, config: IdentityConfig, scored: str, n_records: int) -> int:
    """How many chunks a side of the scoring is cut into: predict_chunks is set for every record (a
    full load), and bounds the records per pass; a daily run's touched records and their partners,
    a few hundred thousand of ten million, need fewer passes for the same bound (each pass blocks the
    whole table under every rule again: 16 passes were most of a daily run's scoring at 10M)."""
    if config.predict_chunks == 1:
        return 1
    scoring = con.execute(f"SELECT count(*) FROM {scored}").fetchall()[0][0]
    return max(1, math.ceil(config.predict_chunks * scoring / max(n_records, 1)))


def _cluster(con: duckdb.DuckDBPyConnection, nodes: str = "identity_keyed",
             edges: str = "identity_all_links") -> None:
    """identity_clusters: connected components of the nodes over the edges (Splink's SQL
    implementation, deterministic)."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    n_links = con.execute(f"SELECT count(*) FROM {edges}").fetchall()[0][0]
    if n_links == 0:
        _run(con, f"CREATE OR REPLACE TEMP TABLE identity_clusters "
                  f"AS SELECT unique_id, unique_id AS cluster_id FROM {nodes}")
        return
    db = DuckDBAPI(con)
    node_table = db.register(nodes, table_name="identity_nodes")
    edge_table = db.register(edges, table_name="identity_edges")
    clusters = cluster_pairwise_predictions_at_threshold(
        node_table, edge_table, db_api=db, node_id_column_name="unique_id",
        edge_id_column_name_left="unique_id_l", edge_id_column_name_right="unique_id_r",
    )
    _run(con, f"CREATE OR REPLACE TEMP TABLE identity_clusters AS "
                f"SELECT unique_id, cluster_id FROM {clusters.physical_name}")


def _persons(con: duckdb.DuckDBPyConnection, full: bool) -> dict[str, Any]:
    """person_records and person_links from identity_all_links. When the last resolution's persons
    are kept (identity_persons_state) and this one is not `full`, only the persons of records whose
    row or links changed are clustered again (sql/identity/person_changes.sql); the rest keep theirs,
    as a full clustering would give them. The state row leaves first and comes back last: a
    resolution interrupted in between, or persons replaced by fallback_persons.sql, cluster in full."""
    kept = not full and con.execute("SELECT count(*) FROM identity_persons_state").fetchall()[0][0] == 1
    con.execute("DELETE FROM identity_persons_state")
    incremental = False
    if kept:
        run_sql_file(con, "identity/person_changes.sql")
        outside = con.execute("""
            SELECT count(*) FROM identity_person_edges
            WHERE unique_id_l NOT IN (SELECT unique_id FROM identity_person_nodes)
               OR unique_id_r NOT IN (SELECT unique_id FROM identity_person_nodes)""").fetchall()[0][0]
        incremental = outside == 0
        if outside:  # cannot happen by construction; recompute every person rather than trust it
            log.warning("identity: %d links reach outside the persons to recompute; clustering all records",
                        outside)
    if incremental:
        _cluster(con, "identity_person_nodes", "identity_person_edges")
        run_sql_file(con, "identity/person_rows.sql")
        _run(con, """DELETE FROM person_records
                     WHERE record_type || ':' || record_id IN (
                         SELECT unique_id FROM identity_changed_ends
                         UNION SELECT unique_id FROM identity_person_nodes)""")
        _run(con, "INSERT INTO person_records SELECT * FROM identity_person_rows ORDER BY record_type, record_id")
    else:
        _run(con, "CREATE OR REPLACE TEMP TABLE identity_person_nodes AS SELECT unique_id FROM identity_keyed")
        _cluster(con)
        run_sql_file(con, "identity/person_rows.sql")
        _run(con, "CREATE OR REPLACE TABLE person_records AS "
                  "SELECT * FROM identity_person_rows ORDER BY record_type, record_id")
    run_sql_file(con, "identity/person_links.sql")
    con.execute("INSERT INTO identity_persons_state VALUES (true)")
    reclustered = con.execute("SELECT count(*) FROM identity_person_nodes").fetchall()[0][0]
    return {"clustering": "incremental" if incremental else "full", "clustered_records": reclustered}


def _build_keyed(con: duckdb.DuckDBPyConnection, config: IdentityConfig, *, full: bool = False,
                 processes: int | None = None, parallel_min_values: int = _PARALLEL_MIN_VALUES) -> dict:
    """identity_keyed: every record with its normalised keys, looking up only the records new or
    changed since the last resolution (all of them in a sweep: `full`, a first load, another look-up
    context, or every _SWEEP_EVERY resolutions) and normalising only values not cached yet (in
    `processes`, default normalise_processes(), once a batch has `parallel_min_values`)."""
    run_sql_file(con, "schema/identity.sql")  # the key cache it reads and extends
    params = {
        "keys_version": normalize.KEYS_VERSION,
        "phone_region": _phone_regions(config),
        "matching_key_id": matching_keys.register(con),  # bg_matching_hash: e-mail, phone, IBAN keys
        "batch_rows": _NORMALISE_BATCH_ROWS,
    }
    # what a stored key depends on besides the raw value: keys stored under another context are stale
    # (and how the stored row is made: rows made by other SQL or macros hold other columns or values)
    params["lookup"] = (f"{params['keys_version']}|{params['matching_key_id']}|{params['phone_region']}"
                        f"|{_record_keys_layout()}")
    state = con.execute("SELECT lookup, resolutions_since_sweep FROM identity_lookup_state").fetchall()
    since = state[0][1] + 1 if len(state) == 1 and state[0][0] == params["lookup"] else None
    params["sweep"] = full or since is None or since >= _SWEEP_EVERY
    run_sql_file(con, "identity/records.sql", params)
    batches = con.execute("SELECT coalesce(max(batch_no) + 1, 0) FROM identity_new_values").fetchall()[0][0]
    processes = normalise_processes() if processes is None else processes
    with _Normaliser(params["phone_region"], processes, parallel_min_values) as keys_of:
        for batch_no in range(batches):
            # (in the order of sql/identity/records.sql: a phone's two keys share one parse)
            batch = con.sql("SELECT kind, raw, city, raw_hash, context FROM identity_new_values "
                            "WHERE batch_no = ? ORDER BY raw, context, kind", params=[batch_no]).to_arrow_table()
            normalised = keys_of(*(batch.column(name).to_pylist() for name in ("kind", "raw", "city")))
            con.register("identity_normalised_batch", batch.drop_columns(["raw", "city"]).append_column(
                "normalised", pa.array(normalised, type=pa.string())))
            try:
                run_sql_file(con, "identity/new_keys.sql", params)
            finally:
                con.unregister("identity_normalised_batch")
    run_sql_file(con, "identity/keyed_records.sql", params)
    # the stored rows are unique per record and each matches a current one (keyed_records.sql), so
    # counting both tells whether every record has its row
    missing = con.execute("SELECT (SELECT count(*) FROM identity_raw_records) "
                          "- (SELECT count(*) FROM identity_record_keys)").fetchall()[0][0]
    if missing:  # cannot happen by construction; a record without keys would silently match nothing
        raise BountyguardError(f"identity resolution: {missing} record(s) without stored keys; delete the "
                               "row of identity_lookup_state so that the next run looks up every record")
    con.execute("DELETE FROM identity_lookup_state")
    con.execute("INSERT INTO identity_lookup_state VALUES (?, ?)",
                [params["lookup"], 0 if params["sweep"] else since])
    looked_up = con.execute("SELECT count(*) FROM identity_lookup_records").fetchall()[0][0]
    return {"looked_up_records": looked_up, "key_sweep": params["sweep"]}


def _record_keys_layout() -> str:
    """How identity_record_keys' rows are made (sql/identity/keyed_records.sql and the macros it
    calls): part of the look-up's context, so that rows stored by other SQL, or by a version that
    stored fewer columns, are looked up again whole rather than read with stale or missing values."""
    return state_fingerprint({"sql": sql_text("identity/keyed_records.sql"), "macros": _MACROS})[:16]


# A resolution looks up every record's values, and removes cached keys of values no record holds any
# more, at least every this many resolutions (in between, a changed e-mail's old key stays cached).
_SWEEP_EVERY = 7


# New raw values normalised and committed per batch (sql/identity/new_keys.sql): about 400 MB of
# uncommitted rows at most, whatever the size of a first load.
_NORMALISE_BATCH_ROWS = 2_000_000


def resolve_persons(con: duckdb.DuckDBPyConnection, config: IdentityConfig | None = None, *,
                    full: bool = False) -> dict:
    """(Re)build person_records and person_links from the tables referrers and candidates.

    Scores probabilistic links only for records touched since the last resolution (kept in the same
    database) unless `full`, or the model, settings or versions changed since: then all of them; pairs
    exact keys again only in the key groups of touched records, on the same terms. Either way the
    result is the same (the persons of every record whose row or links changed are clustered again).

    Returns counts only: records, persons, merged persons, links by rule, the model used, whether the
    resolution was full or incremental, how many records it scored, and timings.
    """
    config = config or IdentityConfig.from_config()
    config.validate()
    started = time.perf_counter()
    stats: dict[str, Any] = {}
    _register_macros(con)
    with _resolution_session(con):
        stats.update(_build_keyed(con, config, full=full))
        stats["normalised_values"] = con.execute("SELECT count(*) FROM identity_new_values").fetchall()[0][0]
        stats["normalise_seconds"] = round(time.perf_counter() - started, 2)
        # one line per phase (counts and seconds, nothing personal): a long first load shows where it is
        log.info("identity: looked up %d records (%s), normalised %d new values in %.1f s",
                 stats["looked_up_records"], "every record: sweep" if stats["key_sweep"] else "new or changed",
                 stats["normalised_values"], stats["normalise_seconds"])
        phase = time.perf_counter()
        stats.update(_exact_links(con, config, full))
        stats["exact_seconds"], phase = round(time.perf_counter() - phase, 2), time.perf_counter()
        log.info("identity: %s exact links in %.1f s (%s of %d records touched)", stats["exact"],
                 stats["exact_seconds"], stats["exact_touched_records"], stats["exact_records"])
        stats.update(_fuzzy_links(con, config, full))
        stats["fuzzy_seconds"], phase = round(time.perf_counter() - phase, 2), time.perf_counter()
        log.info("identity: %s fuzzy links, %d scored, in %.1f s", stats["resolution"],
                 stats["scored_links"], stats["fuzzy_seconds"])
        _run(con, """
            CREATE OR REPLACE TEMP TABLE identity_all_links AS
            SELECT * FROM identity_exact_links
            UNION ALL
            SELECT * FROM identity_fuzzy_links
        """)
        stats.update(_persons(con, full))
        # every kept state now holds this resolution's rows: the next compares only what changes after
        _run(con, "DELETE FROM identity_changed_records")
        stats["cluster_seconds"] = round(time.perf_counter() - phase, 2)
        log.info("identity: %s clustering of %d records in %.1f s", stats["clustering"],
                 stats["clustered_records"], stats["cluster_seconds"])
    records, persons = con.execute(
        "SELECT count(*), count(DISTINCT person_id) FROM person_records").fetchall()[0]
    stats["records"] = records
    stats["persons"] = persons
    stats["merged_persons"] = con.execute(
        "SELECT count(*) FROM (SELECT person_id FROM person_records GROUP BY ALL HAVING count(*) > 1)"
    ).fetchall()[0][0]
    stats["links_by_rule"] = dict(con.execute(
        "SELECT rule, count(*) FROM person_links GROUP BY rule ORDER BY rule").fetchall())
    stats["seconds"] = round(time.perf_counter() - started, 2)
    log.info("identity: %d records -> %d persons (%s) in %.1f s, %s resolution scoring %d touched records",
             records, persons, ", ".join(f"{k}={v}" for k, v in stats["links_by_rule"].items()) or "no links",
             stats["seconds"], stats["resolution"], stats["touched_records"])
    return stats
