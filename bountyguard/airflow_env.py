"""A project-local Airflow installation: AIRFLOW_HOME, settings, metadata database and the pool.

Airflow reads its configuration once, when `airflow` is first imported, from AIRFLOW_HOME and from
`AIRFLOW__SECTION__KEY` environment variables. `prepare_airflow_home(path)` returns those variables
for a home at `path` (SQLite metadata database inside it, this repository's `dags/` folder, no example
DAGs) and initialises it once: `airflow db migrate` and the `duckdb_writer` pool with one slot (the
DAG tasks all write the one DuckDB file, and DuckDB allows one writing process per file).

The Airflow commands run in a subprocess with those variables, so this works whatever the calling
process has already imported. Use the returned dict for `subprocess.run(..., env=os.environ | env)`,
or `os.environ.update(env)` *before* the first `import airflow` in a process.

From a shell::

    eval "$(python -m bountyguard.airflow_env .airflow)"
    airflow dags test referral_screening 2026-06-30
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO / "dags"
POOL = "duckdb_writer"
POOL_SLOTS = 1
POOL_DESCRIPTION = "bountyguard: one writer of the DuckDB file at a time"
# Written after `db migrate` and the pool succeeded: a half-initialised home is initialised again.
_READY_MARKER = ".bountyguard-ready"


def airflow_env(home: str | Path, *, dags_folder: str | Path | None = None,
                sql_alchemy_conn: str | None = None) -> dict[str, str]:
    """The environment variables of a project-local Airflow home (nothing is created); its metadata
    database is SQLite inside it unless `sql_alchemy_conn` names another (e.g. PostgreSQL)."""
    home = Path(home).resolve()
    dags = Path(dags_folder).resolve() if dags_folder else DAGS_FOLDER
    pythonpath = os.pathsep.join(
        p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p
    )
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Explicit, so an inherited setting (e.g. a shared PostgreSQL) is never migrated by accident.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn or f"sqlite:///{home / 'airflow.db'}",
        # The DAG files import `bountyguard`; the DAG processor only puts the dags folder on sys.path.
        "PYTHONPATH": pythonpath,
        # `airflow dags test` (Airflow 3.3.2) cannot finish a DAG run with a DeadlineAlert: see
        # dags/referral_screening.py. A home running a real scheduler sets it back to "on".
        "BOUNTYGUARD_DEADLINE_ALERT": "off",
    } | _async_conn(sql_alchemy_conn)


def _async_conn(sql_alchemy_conn: str | None) -> dict[str, str]:
    """Airflow also opens the metadata database asynchronously, with asyncpg for PostgreSQL unless told
    otherwise; psycopg (already a dependency) does both."""
    if sql_alchemy_conn and sql_alchemy_conn.startswith("postgresql+psycopg://"):
        return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC":
                sql_alchemy_conn.replace("postgresql+psycopg://", "postgresql+psycopg_async://", 1)}
    return {}


def _airflow(args: list[str], env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "airflow", *args]
    done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise RuntimeError(
            f"`airflow {' '.join(args)}` failed (exit {done.returncode}) for AIRFLOW_HOME="
            f"{env['AIRFLOW_HOME']}:\n{tail}"
        )


def is_prepared(home: str | Path) -> bool:
    return (Path(home) / _READY_MARKER).exists()


def prepare_airflow_home(
    home: str | Path, *, dags_folder: str | Path | None = None, force: bool = False,
    sql_alchemy_conn: str | None = None,
) -> dict[str, str]:
    """Create and initialise an Airflow home at `home` (once) and return its environment variables.

    Takes about 6 s the first time (`airflow db migrate` about 3 s, the pool about 2.5 s, mostly
    Airflow's import time); afterwards it returns at once.
    """
    home = Path(home).resolve()
    env = airflow_env(home, dags_folder=dags_folder, sql_alchemy_conn=sql_alchemy_conn)
    if is_prepared(home) and not force:
        return env
    home.mkdir(parents=True, exist_ok=True)
    _airflow(["db", "migrate"], env)
    _airflow(["pools", "set", POOL, str(POOL_SLOTS), POOL_DESCRIPTION], env)
    (home / _READY_MARKER).write_text(time.strftime("%Y-%m-%dT%H:%M:%S%z") + "\n", encoding="utf-8")
    return env


def main(argv: list[str] | None = None) -> int:
    """`python -m bountyguard.airflow_env [HOME]`: prepare HOME (default .airflow) and print
    `export` lines for a POSIX shell (`eval "$(python -m bountyguard.airflow_env)"`)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or (argv and argv[0] in {"-h", "--help"}):
        print(main.__doc__, file=sys.stderr)
        return 2
    home = argv[0] if argv else ".airflow"
    try:
        env = prepare_airflow_home(home)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
