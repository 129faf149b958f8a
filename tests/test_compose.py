"""docker-compose.yml: valid against the Compose specification, and everything it names exists.

No Docker engine here, so the file cannot be started; what can be checked is checked: the Compose
specification's JSON schema (check-jsonschema ships it), every build context, Dockerfile, bind-mount
source and named volume, every `airflow ...` command against Airflow's own CLI parser (with the
CeleryExecutor, so `airflow celery worker` exists), and that the queue every DuckDB task runs on is
served by the worker that holds the DuckDB file.
"""
from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
                    "airflow-triggerer", "airflow-init"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # anchors and `<<` merges resolved


def airflow_commands(command) -> list[list[str]]:
    """The `airflow ...` invocations of a service's command (a string, a list, or `bash -c "a && b"`)."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:2] == ["bash", "-c"]:
        return [shlex.split(part) for part in argv[2].split("&&")]
    return [argv]


def test_compose_file_follows_the_compose_specification():
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_checker_rejects_a_broken_compose_file(tmp_path):
    """The schema check can fail: a service with an unknown key is refused."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: x\n    restrat: always\n", encoding="utf-8")
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(broken)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0


def test_the_cluster_is_airflows_celery_layout(compose):
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis"} <= set(services)
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
    for name, service in services.items():
        if name != "airflow-init":
            assert "healthcheck" in service, f"{name} has no healthcheck"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_build_contexts_dockerfiles_and_volume_sources_exist(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        if build := service.get("build"):
            context = REPO / (build if isinstance(build, str) else build.get("context", "."))
            assert context.is_dir(), f"{name}: build context {context} does not exist"
            dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
            assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name}: bind-mount source {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared under volumes:"


def test_the_image_installs_bountyguard_non_editable():
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    install = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert install and all("-e " not in line and "--editable" not in line for line in install)
    for copied in ("bountyguard", "sql", "dags", "detectors", "pyproject.toml", "requirements.lock"):
        assert (REPO / copied).exists() and copied in dockerfile


def test_every_airflow_command_parses(compose, tmp_path):
    """Each service's `airflow ...` command, parsed by Airflow's CLI parser with the compose file's
    executor (a subcommand or option that does not exist fails here)."""
    commands = []
    for name in sorted(AIRFLOW_SERVICES):
        for argv in airflow_commands(compose["services"][name]["command"]):
            assert argv[0] == "airflow", f"{name}: {argv}"
            commands.append(argv[1:])
    script = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    get_parser().parse_args(args)\n"
        "print('parsed', len(json.loads(sys.argv[1])))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(commands)], env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"parsed {len(commands)}" in done.stdout


def _module_constant(path: Path, name: str):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not defined in {path}")


def test_duckdb_tasks_run_on_the_queue_of_the_worker_holding_the_file(compose):
    queue = _module_constant(REPO / "dags" / "referral_screening.py", "DUCKDB_QUEUE")
    source = (REPO / "dags" / "referral_screening.py").read_text(encoding="utf-8")
    assert '"queue": DUCKDB_QUEUE' in source  # in default_args: every screening task
    workers = [n for n, s in compose["services"].items() if "celery" in str(s.get("command", ""))]
    assert workers == ["airflow-worker"]
    served = airflow_commands(compose["services"]["airflow-worker"]["command"])[0]
    queues = served[served.index("--queues") + 1].split(",")
    assert queue in queues and "default" in queues
    mounts = {v.split(":")[1] for v in compose["services"]["airflow-worker"]["volumes"]}
    db = compose["services"]["airflow-worker"]["environment"]["BOUNTYGUARD_DB"]
    assert str(Path(db).parent) in mounts  # the worker holds the DuckDB file's volume
