"""The probabilistic model: how name, birth date and city are compared, which pairs are compared at all
(blocking), and the Splink settings trained on the data."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from bountyguard.identity.config import IdentityConfig


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> None:
    """Execute a statement to its end: in DuckDB 2.0 an unread result blocks the connection."""
    con.execute(sql, params).complete()

# ---------------------------------------------------------------------------------------------------
# The probabilistic model: comparisons of name, birth date and city.
#
# Name keys are sorted tokens; a typo in a first letter can flip the order, so edit distances take the
# better of both token orders. The m/u values written here are the model used when the data is too
# small to train on (fixtures, a first small load); they come from a training run on synthetic persons
# and are overwritten by training on real data.

def _within_edits_sql(a: str, b: str, edits: int) -> str:
    """damerau_levenshtein(a, b) <= edits, computed only where the 6x cheaper levenshtein allows it
    (a transposition is two Levenshtein edits). A CASE, because DuckDB evaluates both sides of an AND."""
    return (f"(CASE WHEN levenshtein({a}, {b}) <= {2 * edits} "
            f"THEN damerau_levenshtein({a}, {b}) <= {edits} ELSE false END)")


def _name_within_edits_sql(edits: int) -> str:
    return (f"{_within_edits_sql('name_key_l', 'name_key_r', edits)} "
            f"OR {_within_edits_sql('name_key_l', 'name_key_reversed_r', edits)}")


_NAME_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "name_key_l IS NULL OR name_key_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "name_key_l = name_key_r", "label_for_charts": "exact",
     "tf_adjustment_column": "name_key", "tf_adjustment_weight": 1.0,
     "m_probability": 0.63, "u_probability": 0.0003},
    # Jan / Jana, Aleksandr / Aleksandra, Ivanov / Ivanova: a name and its feminine form are one edit
    # apart, and two people (brother and sister, husband and wife), not a typo.
    {"sql_condition": "CASE WHEN len(name_tokens_l) = len(name_tokens_r) "
                      "AND abs(len(name_key_l) - len(name_key_r)) BETWEEN 1 AND len(name_tokens_l) "
                      "THEN list_transform(name_tokens_l, lambda t: rtrim(t, 'a')) "
                      "= list_transform(name_tokens_r, lambda t: rtrim(t, 'a')) ELSE false END",
     "label_for_charts": "other gender form", "m_probability": 0.002, "u_probability": 0.0002},
    {"sql_condition": _name_within_edits_sql(1),
     "label_for_charts": "one edit", "m_probability": 0.25, "u_probability": 0.0002,
     "tf_adjustment_column": "name_key", "tf_adjustment_weight": 1.0},
    # (but two edits in one short part make another name: bg_names_stay_close, resolve.py, which the
    # exact phone and IBAN links use too)
    {"sql_condition": f"({_name_within_edits_sql(2)}) AND bg_names_stay_close("
                      "name_tokens_l, name_tokens_r, name_key_l, name_key_r, name_key_reversed_r)",
     "label_for_charts": "two edits", "m_probability": 0.05, "u_probability": 0.0003},
    # Lukas Peter Baumann / Lukas Baumann: one name is the other plus a middle name (before "similar":
    # a middle name makes the strings less similar than a typo does).
    # (a name part typed twice, Thomas Thomas, is no subset of every name holding it)
    {"sql_condition": "(list_has_all(name_tokens_l, name_tokens_r) "
                      "AND len(list_distinct(name_tokens_r)) = len(name_tokens_r)) "
                      "OR (list_has_all(name_tokens_r, name_tokens_l) "
                      "AND len(list_distinct(name_tokens_l)) = len(name_tokens_l))",
     "label_for_charts": "subset", "m_probability": 0.02, "u_probability": 0.0005},
    # Luke Till Er / Luke Tiller, Mc Donald / McDonald: a name part typed with a space in it (two parts
    # of one name joined give the other name, up to one edit).
    {"sql_condition": "CASE WHEN abs(len(name_tokens_l) - len(name_tokens_r)) = 1 "
                      "AND abs(len(replace(name_key_l, ' ', '')) - len(replace(name_key_r, ' ', ''))) <= 1 "
                      "THEN CASE WHEN len(name_tokens_l) > len(name_tokens_r) "
                      "THEN bg_joined_within(name_tokens_l, name_key_r) "
                      "ELSE bg_joined_within(name_tokens_r, name_key_l) END ELSE false END",
     "label_for_charts": "a part split in two", "m_probability": 0.01, "u_probability": 0.0001},
    # Jan Peter Hahn / Jan Han: a middle name left out and a typo in what is left. Only names with
    # one shared token and more than two tokens on a side can get here: two two-token names that nest
    # are at most two edits apart in one of the orders, a level above.
    {"sql_condition": "CASE WHEN len(list_intersect(name_tokens_l, name_tokens_r)) > 0 "
                      "AND (len(name_tokens_l) <> len(name_tokens_r) OR len(name_tokens_l) > 2) "
                      "THEN bg_tokens_nest(name_tokens_l, name_tokens_r) ELSE false END",
     "label_for_charts": "nested with typos", "m_probability": 0.01, "u_probability": 0.0002},
    # (similar as a whole, and part by part: Sebastian Gruber / Anna Gruber are 0.9 similar, and two
    # people)
    {"sql_condition": "greatest(jaro_winkler_similarity(name_key_l, name_key_r), "
                      "jaro_winkler_similarity(name_key_l, name_key_reversed_r)) >= 0.9 "
                      "AND NOT bg_parts_differ(name_tokens_l, name_tokens_r)",
     "label_for_charts": "similar", "m_probability": 0.03, "u_probability": 0.002},
    # One name part in common and nothing else: the weight depends on how rare the part is (a shared
    # rare surname says more than a shared Thomas), hence a level for the records' rarest parts with
    # a term-frequency adjustment.
    {"sql_condition": "name_rarest_l = name_rarest_r",
     "label_for_charts": "shares its rarest name", "tf_adjustment_column": "name_rarest",
     "tf_adjustment_weight": 1.0, "m_probability": 0.01, "u_probability": 0.005},
    {"sql_condition": "len(list_intersect(name_tokens_l, name_tokens_r)) > 0",
     "label_for_charts": "shares a name", "m_probability": 0.01, "u_probability": 0.02},
    # (one edit leaves the first or the last letter of a part of three or more letters in place: the
    # cheap test first, on every pair that gets this far)
    {"sql_condition": "list_bool_or(list_transform(name_tokens_l, lambda t: list_bool_or(list_transform("
                      "name_tokens_r, lambda u: CASE WHEN len(t) >= 3 AND abs(len(t) - len(u)) <= 1 "
                      "AND (t[1] = u[1] OR t[-1] = u[-1]) THEN damerau_levenshtein(t, u) <= 1 "
                      "ELSE false END))))",
     "label_for_charts": "shares a name with a typo", "m_probability": 0.005, "u_probability": 0.005},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.01,
     "u_probability": 0.977},
]

# The m value of "different" is fixed, not trained: EM on pairs blocked by name finds the split between
# matches and non-matches by birth date and city, and where namesakes in one city outnumber the true
# pairs (a common name in a big city) it takes "same city" for "match" and learns that most matches
# have other birth dates. A person's two records differ in the birth date beyond a typo in about 6% of
# pairs (FEBRL, which corrupts it on purpose, trains 0.062), and that stays fixed whatever the data.
#
# A record without a birth date often still says its year: people put it in their mailbox name
# (anna.schmidt1987@, jkowalski82@). Where one record has a birth date and the other's mailbox holds
# a year, agreement is evidence for one person and disagreement against (the number may be anything
# else: a house number, a lucky 7). Measured before building it, on same-name pairs in one city (or
# without one) of the field worlds, seeds 1-9: of pairs whose mailbox year was the other's birth year
# 652 were one person and 76 two; where it was another year, 202 one person and 3,314 two.
# Their m values are fixed, u trained: EM sees these levels only on pairs blocked by name, and on a
# small load where all of them are namesakes it drove m to exactly 0, which Splink refuses (the run
# failed). The m values: about a third of a person's record pairs lack one birth date, about two in
# five of those have a year in the mailbox, and it agrees three times in four.
_MAILBOX_YEAR = ("(birth_date_l IS NULL AND birth_date_r IS NOT NULL AND email_year_l {op} year(birth_date_r)) "
                 "OR (birth_date_r IS NULL AND birth_date_l IS NOT NULL AND email_year_r {op} year(birth_date_l))")
_BIRTH_DATE_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": _MAILBOX_YEAR.format(op="="), "label_for_charts": "missing, mailbox year agrees",
     "m_probability": 0.08, "u_probability": 0.002, "fix_m_probability": True},
    {"sql_condition": _MAILBOX_YEAR.format(op="<>"), "label_for_charts": "missing, mailbox year differs",
     "m_probability": 0.03, "u_probability": 0.08, "fix_m_probability": True},
    {"sql_condition": "birth_date_l IS NULL OR birth_date_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "birth_date_l = birth_date_r", "label_for_charts": "exact",
     "m_probability": 0.80, "u_probability": 0.0003},
    {"sql_condition": "(year(birth_date_l) = year(birth_date_r) "
                      "AND month(birth_date_l) = day(birth_date_r) "
                      "AND day(birth_date_l) = month(birth_date_r)) "
                      "OR damerau_levenshtein(strftime(birth_date_l, '%Y%m%d'), "
                      "strftime(birth_date_r, '%Y%m%d')) <= 1",
     "label_for_charts": "typo", "m_probability": 0.14, "u_probability": 0.0018},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.06,
     "u_probability": 0.9979, "fix_m_probability": True},
]

# The built-in model is milder about a different city than a model trained on synthetic data would be:
# people move, and the city is typed by hand.
_CITY_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "city_key_l IS NULL OR city_key_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "city_key_l = city_key_r", "label_for_charts": "exact",
     "tf_adjustment_column": "city_key", "tf_adjustment_weight": 1.0,
     "m_probability": 0.75, "u_probability": 0.02},
    {"sql_condition": "damerau_levenshtein(city_key_l, city_key_r) <= 2 "
                      "OR jaro_winkler_similarity(city_key_l, city_key_r) >= 0.9",
     "label_for_charts": "typo", "m_probability": 0.08, "u_probability": 0.003},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.17,
     "u_probability": 0.977},
]

# A phone is evidence in one direction only. Two records of one person rarely carry two different
# numbers, so a different number speaks against a match; but one number on both records is no evidence
# for it (a household shares its phone: twins, a father and his namesake son), so "equal" is neutral
# like "missing". (Equal phones with close names are linked by the exact rule phone_and_name.)
_PHONE_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "phone_national_l IS NULL OR phone_national_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "phone_national_l = phone_national_r", "label_for_charts": "equal (no evidence)",
     "m_probability": 0.5, "u_probability": 0.5, "fix_m_probability": True, "fix_u_probability": True},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.1,
     "u_probability": 0.999},
]

# Likewise an e-mail: equal ones link on their own (exact rule), different ones are weak evidence
# against a match (people keep several mailboxes; training learns how weak).
_EMAIL_LEVELS: list[dict[str, Any]] = [
    {"sql_condition": "email_key_l IS NULL OR email_key_r IS NULL", "label_for_charts": "missing",
     "is_null_level": True},
    {"sql_condition": "email_key_l = email_key_r", "label_for_charts": "equal (no evidence)",
     "m_probability": 0.5, "u_probability": 0.5, "fix_m_probability": True, "fix_u_probability": True},
    {"sql_condition": "ELSE", "label_for_charts": "different", "m_probability": 0.5,
     "u_probability": 0.999},
]

_COMPARISONS = (("name", _NAME_LEVELS), ("birth_date", _BIRTH_DATE_LEVELS), ("city", _CITY_LEVELS),
                ("phone", _PHONE_LEVELS), ("email", _EMAIL_LEVELS))

# Blocking: only pairs that agree exactly on one of these combinations are ever compared. Together they
# tolerate a typo in any one or two of name, birth date and city, a missing birth date, and a first-letter
# typo that flips the sorted token order (the cross rule: one record's first token is the other's last).
#
# Keys with a bounded number of values (a common name, a birth year, a big city) make blocks that grow
# with the population, and the pairs with its square. So each rule's block is capped: a block of more
# than max_block_size records is split by the rule's finer key (`refine`), and left out if it is still
# too large. The cap is applied by computing one block-key column per rule in SQL (NULL for left-out
# records), and Splink blocks on equality of that column. Rules on rarer keys (a birth date with a name
# token) come first: a pair is scored once, under the first rule that blocks it.


@dataclass(frozen=True)
class _BlockingRule:
    name: str
    keys: tuple[str, ...]  # SQL expressions over identity_keyed, equal on both records
    refine: tuple[str, ...] = ()  # added to the keys for blocks larger than max_block_size
    # (left, right): a name token compared across positions, in both directions (two Splink rules)
    cross: tuple[str, str] | None = None


_BLOCKING: tuple[_BlockingRule, ...] = (
    _BlockingRule("name_year", ("name_key", "birth_year"), ("city_key",)),
    _BlockingRule("name_month_day", ("name_key", "birth_month_day"), ("city_key",)),
    _BlockingRule("date_first", ("birth_date", "name_first"), ("city_key",)),
    _BlockingRule("date_last", ("birth_date", "name_last"), ("city_key",)),
    _BlockingRule("date_cross", ("birth_date",), cross=("name_first", "name_last")),
    _BlockingRule("date_city", ("birth_date", "city_key")),
    # a missing birth date: name and city are all there is
    _BlockingRule("name_city", ("name_key", "city_key")),
    _BlockingRule("first_year_city", ("name_first", "birth_year", "city_key"), ("left(name_last, 1)",)),
    _BlockingRule("last_year_city", ("name_last", "birth_year", "city_key"), ("left(name_first, 1)",)),
    _BlockingRule("first_month_day_city", ("name_first", "birth_month_day", "city_key")),
    _BlockingRule("last_month_day_city", ("name_last", "birth_month_day", "city_key")),
    # Broader keys for what the rules above miss: a birth date and a typo in each name part, one name
    # part replaced (a surname after a marriage) or typos in both with no birth date to go on. Where
    # their blocks are small (rare names, small towns) they pair records the rules above cannot; where
    # they are large the cap splits them by the finer key or leaves them out.
    _BlockingRule("first_prefix_city", ("left(name_first, 2)", "city_key"), ("name_first",)),
    _BlockingRule("last_prefix_city", ("left(name_last, 2)", "city_key"), ("name_last",)),
    _BlockingRule("date", ("birth_date",), ("left(name_first, 1)",)),
    _BlockingRule("first_last_prefix", ("name_first", "left(name_last, 2)"), ("city_key",)),
    _BlockingRule("last_first_prefix", ("name_last", "left(name_first, 2)"), ("city_key",)),
)


# the columns of identity_keyed that the rules' keys are made of
_BLOCK_KEY_COLUMNS = ("name_key", "name_first", "name_last", "birth_date", "birth_year", "birth_month_day",
                      "city_key")


def _block_columns(rule: _BlockingRule) -> tuple[str, str]:
    if rule.cross:  # (no _l/_r suffix: Splink reads those as its own pair columns)
        return tuple(f"block_{rule.name}_{side}" for side in rule.cross)
    return f"block_{rule.name}", f"block_{rule.name}"


def _splink_blocking_rules() -> list[str]:
    rules = []
    for rule in _BLOCKING:
        left, right = _block_columns(rule)
        rules.append(f"l.{left} = r.{right}")
        if rule.cross:
            rules.append(f"l.{right} = r.{left}")
    return rules


def _block_key_sql(rule: _BlockingRule, index: int, max_block_size: int) -> list[str]:
    """SELECT expressions of the rule's block-key column(s): the hash of the keys for a block of at
    most max_block_size records, else of the keys and the finer key if that block is small enough, else
    NULL. A cross rule's expressions read its block sizes from the joined tables x_<rule>_<side>."""
    cap = int(max_block_size)
    if rule.cross:
        keys = ", ".join(f"k.{key}" for key in rule.keys)
        not_null = " AND ".join(f"k.{key} IS NOT NULL" for key in rule.keys)
        return [
            f"CASE WHEN {not_null} AND k.{side} IS NOT NULL AND x_{rule.name}_{side}.n <= {cap} "
            f"THEN hash({index}, {keys}, k.{side}) END AS {column}"
            for side, column in zip(rule.cross, _block_columns(rule))
        ]
    keys = ", ".join(rule.keys)
    not_null = " AND ".join(f"({key}) IS NOT NULL" for key in rule.keys)
    sql = (f"CASE WHEN NOT ({not_null}) THEN NULL "
           f"WHEN count(*) OVER (PARTITION BY {keys}) <= {cap} THEN hash({index}, {keys}) ")
    if rule.refine:
        fine = ", ".join(rule.refine)
        fine_not_null = " AND ".join(f"({key}) IS NOT NULL" for key in rule.refine)
        sql += (f"WHEN {fine_not_null} AND count(*) OVER (PARTITION BY {keys}, {fine}) <= {cap} "
                f"THEN hash({index}, 'refined', {keys}, {fine}) ")
    return [sql + f"END AS {_block_columns(rule)[0]}"]


# the compared attributes of identity_keyed that identity_splink_input carries (the block keys and the
# rarest name part are computed from them)
_INPUT_COLUMNS = ("name_key", "name_key_reversed", "name_tokens", "name_first", "name_last", "birth_date",
                  "birth_year", "birth_month_day", "city_key", "phone_national", "email_key", "email_year")


def _build_splink_input(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
    """identity_splink_input: the compared attributes and one capped block key per rule."""
    symmetric, cross_sizes, cross_joins, cross = [], [], [], []
    for index, rule in enumerate(_BLOCKING):
        if not rule.cross:
            symmetric += _block_key_sql(rule, index, config.max_block_size)
            continue
        cross += _block_key_sql(rule, index, config.max_block_size)
        keys = ", ".join(rule.keys)
        a, b = rule.cross
        # a key value's block holds the records with it on either side
        cross_sizes.append(f"""x_{rule.name} AS (
            SELECT {keys}, token, count(*) AS n FROM (
                SELECT {keys}, {a} AS token FROM named UNION ALL SELECT {keys}, {b} FROM named)
            GROUP BY ALL)""")
        for side in (a, b):
            alias = f"x_{rule.name}_{side}"
            on = " AND ".join(f"{alias}.{key} = k.{key}" for key in rule.keys)
            cross_joins.append(f"LEFT JOIN x_{rule.name} {alias} ON {on} AND {alias}.token = k.{side}")
    _run(con, f"""
        CREATE OR REPLACE TEMP TABLE identity_splink_input AS
        WITH keyed AS (
            SELECT unique_id, {', '.join(_INPUT_COLUMNS)}
            FROM identity_keyed
            WHERE name_key IS NOT NULL
        ),
        record_tokens AS (SELECT DISTINCT unique_id, unnest(name_tokens) AS token FROM keyed),
        token_counts AS (SELECT token, count(*) AS n FROM record_tokens GROUP BY token),
        -- the record's least frequent name part (ties: the first in sort order), mostly the surname
        rarest AS (
            SELECT unique_id, first(token ORDER BY n, token) AS name_rarest
            FROM record_tokens JOIN token_counts USING (token)
            GROUP BY unique_id
        ),
        named AS (SELECT keyed.*, rarest.name_rarest FROM keyed JOIN rarest USING (unique_id)),
        -- (the block sizes are windows over the key columns alone: a window sorts every column it
        -- carries, and the token lists are wide)
        block_keys AS (
            SELECT unique_id, {', '.join(symmetric)}
            FROM (SELECT unique_id, {', '.join(_BLOCK_KEY_COLUMNS)} FROM named)
        ),
        blocked AS (SELECT named.*, block_keys.* EXCLUDE (unique_id) FROM named JOIN block_keys USING (unique_id))
        {''.join(', ' + c for c in cross_sizes)}
        SELECT k.*{''.join(', ' + c for c in cross)}
        FROM blocked k {' '.join(cross_joins)}
    """)


def _blocked_pair_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Pairs per blocking rule after the cap, before removing pairs an earlier rule already blocked."""
    counts = {}
    for rule in _BLOCKING:
        left, right = _block_columns(rule)
        if rule.cross:
            sql = f"""SELECT sum(a.n * b.n) FROM
                (SELECT {left} AS key, count(*) AS n FROM identity_splink_input GROUP BY ALL) a
                JOIN (SELECT {right} AS key, count(*) AS n FROM identity_splink_input GROUP BY ALL) b
                USING (key)"""
        else:
            sql = f"""SELECT sum(n * (n - 1) // 2) FROM
                (SELECT count(*) AS n FROM identity_splink_input WHERE {left} IS NOT NULL GROUP BY {left})"""
        counts[rule.name] = int(con.execute(sql).fetchall()[0][0] or 0)
    return counts


# Training: EM on pairs blocked by one attribute learns the m values of the other attributes.
_TRAINING_BLOCKS = (
    "l.birth_date = r.birth_date AND l.city_key = r.city_key",
    "l.name_key = r.name_key",
)
# Pairs that are almost surely the same person, for the prior probability of a match.
_DETERMINISTIC_RULES = ("l.name_key = r.name_key AND l.birth_date = r.birth_date",)
_DETERMINISTIC_RECALL = 0.6


def _settings(config: IdentityConfig, trained: bool):
    from splink import SettingsCreator

    def level(spec: dict[str, Any]) -> dict[str, Any]:
        spec = dict(spec)
        # Term frequencies (a common name agrees more often by chance) only mean something on a
        # large population; in a small load every name is "rare" or "frequent" by accident.
        if not (trained and config.term_frequency_adjustments):
            spec.pop("tf_adjustment_column", None)
            spec.pop("tf_adjustment_weight", None)
        return spec

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            {"output_column_name": name, "comparison_levels": [level(spec) for spec in levels]}
            for name, levels in _COMPARISONS
        ],
        blocking_rules_to_generate_predictions=_splink_blocking_rules(),
        probability_two_random_records_match=1e-4,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        max_iterations=25,
    )
