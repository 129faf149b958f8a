"""bountyguard is a real package: the wheel carries its SQL models and default configuration, installs
with its declared dependencies into a fresh virtual environment outside the repository, and screens
the demo data from there (no checkout on the path, no editable install)."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _clean_env() -> dict:
    """The environment without what points at the checkout: other tests (the Airflow ones) put the
    repository on PYTHONPATH, and pip would then take the checkout for an installed bountyguard."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def _run(cmd, cwd, timeout=900, env=None):
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=env if env is not None else _clean_env())
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} -> {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # build from a copy: setuptools writes build/ and *.egg-info into the folder it builds
    source = tmp_path_factory.mktemp("source") / "bountyguard"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".pytest_cache", "*.duckdb*"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, source], cwd=out)
    [whl] = out.glob("bountyguard-*.whl")
    return whl


def test_the_wheel_carries_the_sql_models_and_the_default_configuration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bountyguard/default_config.toml" in names
    shipped = {n.removeprefix("bountyguard/sql/") for n in names if n.startswith("bountyguard/sql/")}
    in_repo = {str(p.relative_to(REPO / "sql")) for p in (REPO / "sql").rglob("*.sql")}
    assert shipped == in_repo
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    in_repo_packages = {str(p.parent.relative_to(REPO)) for top in ("bountyguard", "detectors")
                        for p in (REPO / top).rglob("__init__.py")}
    assert in_repo_packages <= packages, "a package of the repository is missing from pyproject's packages"


def test_installed_wheel_screens_the_demo_data_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    py = venv / "bin" / "python"
    # the locked versions, resolved from the index like a user's install (a pip cache makes it quick)
    _run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", REPO / "requirements.lock",
          wheel], cwd=tmp_path)
    env = _clean_env()
    where = _run([py, "-c", "import bountyguard, detectors; print(bountyguard.__file__); print(detectors.__file__)"],
                 cwd=tmp_path, env=env)
    assert all(str(venv) in line for line in where.split()), where  # not the checkout
    work = tmp_path / "work"
    work.mkdir()
    bg = venv / "bin" / "bountyguard"
    _run([bg, "generate", "--out", "demo", "--seed", "7", "--scale", "0.3"], cwd=work, env=env)
    out = _run([bg, "run", "--landing", "demo/landing", "--db", "bg.duckdb", "--as-of", "2026-06-30"],
               cwd=work, env=env)
    assert "report clean" in out
    assert "features/stints.sql" in _run([bg, "models"], cwd=work, env=env)
