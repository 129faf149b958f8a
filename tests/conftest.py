import duckdb
import pytest

from tests.builders import Platform


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()
