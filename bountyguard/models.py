"""The SQL models and the one runner that builds them, the way dbt-style projects keep them.

Every model is one file under `sql/<folder>/<name>.sql` holding one SELECT, with a header that
declares what it reads:

    -- inputs: asof_hires, jobs, person_records
    -- config: anomaly            (optional: $parameters that come from this configuration section)
    -- materialized: temp_table   (optional: overrides the folder's default)
    -- unique_key: hire_id         (optional: a table a run may update in place, row by key; the
                                   SQL calls in_build_scope(key) where it reads its rows, so an
                                   update reads only the rows of the keys it rebuilds)

How a model is stored is decided here, by its folder (`MATERIALIZED_BY_FOLDER`) or its header, never
inside the SQL:

- `view`: a TEMP view, rebuilt on every connection that enters a run (the as-of staging layer);
- `table`: a table in the DuckDB file, replaced by each run (features analysts and detectors read);
- `temp_table`: a table of the connection only (intermediate results of one step);
- `query`: not stored: its consumer runs it (a rule run by its detector, the decision query run by
  the decision step, the quarantine query run by the gate).

An input is another model or a *source*: a persistent table defined in `sql/schema/`, or one of the
`RUNTIME_INPUTS` that a pipeline step creates before it builds models (the run's context, the
persons of identity resolution, the analysts' decisions). `bountyguard models` prints the graph;
tests/test_models.py fails on a cycle, an undeclared or unknown input, or a model nothing uses.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter

import duckdb

from bountyguard.db import SQL_DIR, run_sql_file

MODEL_FOLDERS = ("staging", "features", "rules", "validation", "decisions", "review")
MATERIALIZED_BY_FOLDER = {
    "staging": "view",
    "identity": "temp_table",
    "features": "table",
    "rules": "query",
    "validation": "query",
    "decisions": "query",
    # the case-review snapshot a published run carries (bountyguard/review/snapshot.py)
    "review": "temp_table",
}
MATERIALIZATIONS = ("view", "table", "temp_table", "query")

# Inputs that are neither models nor persistent tables: a step creates them before building models.
RUNTIME_INPUTS = {
    "run_context": "pipeline: the run's id and as-of date (models.enter_run)",
    "person_records": "identity resolution: one row per referrer and candidate record with its person",
    "person_links": "identity resolution: the links that merged records, with their evidence",
    "analyst_decision_input": "decision step: the analysts' latest decisions (ledger.stage_decision_inputs)",
}

# Models that no other model reads, and who consumes them. Rules are consumed by their detector
# (detectors.REGISTRY); the test of the graph checks that every model is read by someone.
CONSUMERS = {
    "referral_edges": "detectors.referral_ring",
    "referrer_behaviour": "detectors.anomaly",
    "candidate_behaviour": "detectors.anomaly",
    "inputs_digest": "inputs_digest.current (the report's inputs_sha256)",
    "quarantine": "validate.collect_metrics",
    "new_payout_decisions": "pipeline.decide (stored in payout_decisions)",
    "review_flags": "review.snapshot (published for the case review)",
    "review_payouts": "review.snapshot (published for the case review)",
    "review_records": "review.snapshot (published for the case review)",
    "review_links": "review.snapshot (published for the case review)",
    "review_timeline": "review.snapshot (published for the case review)",
}

_HEADER = re.compile(r"^--\s*(inputs|config|materialized|unique_key):\s*(.*)$", re.MULTILINE)
_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_REFERENCE = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()", re.IGNORECASE)
_CTE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(", re.IGNORECASE)
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


class ModelError(Exception):
    """A model file that does not follow the conventions above (a programming error, not bad data)."""


@dataclass(frozen=True)
class Model:
    name: str
    folder: str
    inputs: tuple[str, ...]
    config_sections: tuple[str, ...]
    materialized: str
    sql: str
    unique_key: str | None = None

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.name}.sql"

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(sorted(set(_PARAM.findall(_COMMENT.sub("", self.sql)))))

    def references(self) -> set[str]:
        """The tables and views the SQL reads (names after FROM / JOIN that are not its own CTEs)."""
        text = _STRING.sub("''", _COMMENT.sub("", self.sql))
        text = re.sub(r"\bIS\s+(?:NOT\s+)?DISTINCT\s+FROM\b", "<>", text, flags=re.IGNORECASE)
        return {r.lower() for r in _REFERENCE.findall(text)} - {c.lower() for c in _CTE.findall(text)}


def _parse(folder: str, name: str, text: str) -> Model:
    header = {}
    for key, value in _HEADER.findall(text):
        if key in header:
            raise ModelError(f"sql/{folder}/{name}.sql: `-- {key}:` given twice")
        header[key] = value.strip()
    if "inputs" not in header:
        raise ModelError(f"sql/{folder}/{name}.sql: no `-- inputs:` header")
    inputs = tuple(sorted({i.strip() for i in header["inputs"].split(",") if i.strip()}))
    materialized = header.get("materialized", MATERIALIZED_BY_FOLDER[folder])
    if materialized not in MATERIALIZATIONS:
        raise ModelError(f"sql/{folder}/{name}.sql: materialized {materialized!r} is not one of {MATERIALIZATIONS}")
    body = _COMMENT.sub("", _STRING.sub("''", text)).strip().rstrip(";")
    if ";" in body or re.match(r"\s*(CREATE|INSERT|UPDATE|DELETE|DROP)\b", body, re.IGNORECASE):
        raise ModelError(f"sql/{folder}/{name}.sql: a model is one SELECT (how it is stored is the runner's business)")
    sections = tuple(s.strip() for s in header.get("config", "").split(",") if s.strip())
    unique_key = header.get("unique_key")
    if unique_key and materialized != "table":
        raise ModelError(f"sql/{folder}/{name}.sql: only a table has a unique_key")
    return Model(name, folder, inputs, sections, materialized, text.strip().rstrip(";").rstrip(), unique_key)


@lru_cache(maxsize=1)
def models() -> dict[str, Model]:
    """Every model of the project, by name."""
    found: dict[str, Model] = {}
    for folder in MODEL_FOLDERS:
        for path in sorted((SQL_DIR / folder).glob("*.sql")):
            model = _parse(folder, path.stem, path.read_text(encoding="utf-8"))
            if model.name in found:
                raise ModelError(f"{model.path}: a model named {model.name!r} exists already ({found[model.name].path})")
            found[model.name] = model
    return found


@lru_cache(maxsize=1)
def schema_tables() -> frozenset[str]:
    """The persistent tables, each defined once in sql/schema/ (and the views there that read kept
    versions as tables were read before: flags, run_identities)."""
    names = set()
    for path in sorted((SQL_DIR / "schema").glob("*.sql")):
        names |= {n.lower() for n in re.findall(
            r"CREATE (?:TABLE IF NOT EXISTS|OR REPLACE VIEW)\s+([A-Za-z_][A-Za-z0-9_]*)", path.read_text(encoding="utf-8"))}
    return frozenset(names)


def sources() -> frozenset[str]:
    return schema_tables() | frozenset(RUNTIME_INPUTS)


def graph() -> dict[str, tuple[str, ...]]:
    """model -> the models it reads (sources left out)."""
    all_models = models()
    return {name: tuple(i for i in m.inputs if i in all_models) for name, m in all_models.items()}


def build_order(targets: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The targets and every model upstream of them, in dependency order (all models by default)."""
    g = graph()
    wanted: set[str] = set()
    stack = list(targets if targets is not None else g)
    while stack:
        name = stack.pop()
        if name not in g:
            raise ModelError(f"no model named {name!r}")
        if name not in wanted:
            wanted.add(name)
            stack.extend(g[name])
    # layer by layer (every model after all it reads), each layer in folder order then by name: the
    # same graph always gives the same order, and `bountyguard models` reads top to bottom
    sorter = TopologicalSorter({n: g[n] for n in wanted})
    try:
        sorter.prepare()
    except CycleError as exc:
        raise ModelError(f"the models form a cycle: {' -> '.join(exc.args[1])}") from None
    order: list[str] = []
    while sorter.is_active():
        layer = sorted(sorter.get_ready(), key=lambda n: (MODEL_FOLDERS.index(models()[n].folder), n))
        order += layer
        sorter.done(*layer)
    return order


def _params(model: Model, config: dict | None, params: dict | None) -> dict:
    values = dict(params or {})
    for section in model.config_sections:
        for key, value in ((config or {}).get(section) or {}).items():
            values.setdefault(key, value)
    missing = [p for p in model.params if p not in values]
    if missing:
        raise ModelError(f"{model.path}: no value for ${', $'.join(missing)}")
    return {p: values[p] for p in model.params}


def query(name: str, config: dict | None = None, params: dict | None = None) -> tuple[str, dict]:
    """A model's SELECT and the values of its $parameters, for the consumer that runs it."""
    model = models()[name]
    return model.sql, _params(model, config, params)


@contextmanager
def build_scope(con: duckdb.DuckDBPyConnection, key: str, keys: str):
    """Within it, SQL that calls in_build_scope (sql/macros.sql) on a `key` reads only the rows of the
    keys in the table `keys`; afterwards every key is in scope again, as macros.sql defines it."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO in_build_scope(key) AS key IN (SELECT {key} FROM {keys})")
    try:
        yield
    finally:
        run_sql_file(con, "macros.sql")


def build(con: duckdb.DuckDBPyConnection, targets: list[str] | tuple[str, ...], config: dict | None = None,
          params: dict | None = None, *, upstream: bool = True, changed: dict[str, str] | None = None) -> list[str]:
    """Build the targets and (with `upstream`) what they read, in dependency order, each stored as
    its model says (query models are left to their consumers). Returns the models built.
    `changed`: model -> a table of the unique keys whose rows to rebuild; such a model is updated in
    place (its other rows kept), as dbt builds an incremental model. Only the caller knows which keys
    changed (bountyguard/incremental.py)."""
    built = []
    for name in build_order(targets) if upstream else [t for t in build_order(targets) if t in targets]:
        model = models()[name]
        if model.materialized == "query":
            continue
        values = _params(model, config, params) or None
        if changed and name in changed:
            key, keys = model.unique_key, changed[name]
            if key is None:
                raise ModelError(f"{model.path}: no `-- unique_key:` header, so it cannot be updated in place")
            con.execute(f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM {keys})")
            # the outer filter keeps the result right where the model does not call in_build_scope
            with build_scope(con, key, keys):
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM (\n{model.sql}\n) WHERE {key} IN "
                            f"(SELECT {key} FROM {keys})", values)
        else:
            kind = {"view": "TEMP VIEW", "table": "TABLE", "temp_table": "TEMP TABLE"}[model.materialized]
            con.execute(f"CREATE OR REPLACE {kind} {name} AS\n{model.sql}", values)
        built.append(name)
    return built


def in_folder(folder: str) -> list[str]:
    return [name for name, m in models().items() if m.folder == folder]


def enter_run(con: duckdb.DuckDBPyConnection, run_id: str, as_of) -> None:
    """Give a connection a run's view of the data: the shared macros (sql/macros.sql), the run's
    context, and the staging layer: the platform's data as known on the as-of date."""
    run_sql_file(con, "macros.sql")
    con.execute("CREATE OR REPLACE TEMP TABLE run_context AS SELECT ?::VARCHAR AS run_id, ?::DATE AS as_of",
                [run_id, as_of])
    build(con, in_folder("staging"))


def describe() -> str:
    """The graph as text, in build order: each model with how it is stored and what it reads."""
    lines = []
    for name in build_order():
        m = models()[name]
        reads = ", ".join(f"{i}*" if i in sources() and i not in models() else i for i in m.inputs)
        used_by = sorted(n for n, deps in graph().items() if name in deps)
        consumer = CONSUMERS.get(name) or _detector_of(name)
        tail = f"  -> {', '.join(used_by)}" if used_by else ""
        if consumer:
            tail += f"  -> {consumer}"
        lines.append(f"{m.path:<40} {m.materialized:<10} reads {reads}{tail}")
    lines.append("")
    lines.append("* a source: a persistent table of sql/schema/ or an input a pipeline step creates first")
    return "\n".join(lines)


def _detector_of(name: str) -> str | None:
    from detectors import REGISTRY

    for pattern, cls in REGISTRY.items():
        if getattr(cls, "sql_file", None) == f"rules/{name}.sql":
            return f"detectors.{pattern}"
    return None
