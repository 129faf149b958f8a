import os
import tempfile

import duckdb
import pytest

from tests.builders import Platform


def pytest_configure(config):
    """Airflow reads its configuration when it is first imported, from AIRFLOW_HOME: point it at a
    throwaway folder before any test can import it, so no test ever writes ~/airflow."""
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bountyguard-airflow-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()
