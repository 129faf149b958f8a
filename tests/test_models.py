"""The SQL models form one declared graph: every model is one SELECT with a header naming its inputs,
the graph has no cycle, every input is declared and known, and every model is used by something."""
import pytest

from bountyguard import models
from detectors import REGISTRY


def test_every_model_declares_exactly_what_it_reads():
    for name, model in models.models().items():
        undeclared = model.references() - set(model.inputs)
        assert not undeclared, f"{model.path} reads {sorted(undeclared)} without declaring them in `-- inputs:`"
        unused = set(model.inputs) - model.references()
        assert not unused, f"{model.path} declares {sorted(unused)} but does not read them"


def test_every_input_is_a_model_or_a_source():
    known = set(models.models()) | models.sources()
    for name, model in models.models().items():
        unknown = set(model.inputs) - known
        assert not unknown, (f"{model.path}: {sorted(unknown)} is neither a model nor a table of sql/schema/ "
                             "nor a runtime input (models.RUNTIME_INPUTS)")


def test_the_graph_has_no_cycle_and_builds_in_dependency_order():
    order = models.build_order()
    assert set(order) == set(models.models())
    position = {name: i for i, name in enumerate(order)}
    for name, reads in models.graph().items():
        for upstream in reads:
            assert position[upstream] < position[name], f"{name} is built before {upstream}"


def test_a_cycle_is_refused(monkeypatch):
    fake = {
        "a": models.Model("a", "features", ("b",), (), "table", "SELECT * FROM b"),
        "b": models.Model("b", "features", ("a",), (), "table", "SELECT * FROM a"),
    }
    monkeypatch.setattr(models, "models", lambda: fake)
    with pytest.raises(models.ModelError, match="cycle"):
        models.build_order()


def test_every_model_is_used():
    read_by_models = {i for m in models.models().values() for i in m.inputs}
    rules = {cls.sql_file.removeprefix("rules/").removesuffix(".sql")
             for cls in REGISTRY.values() if hasattr(cls, "sql_file")}
    for name in models.models():
        assert name in read_by_models or name in models.CONSUMERS or name in rules, \
            f"model {name} is read by no model, detector or step (models.CONSUMERS)"


def test_every_rule_model_belongs_to_a_registered_detector():
    rules = {cls.sql_file for cls in REGISTRY.values() if hasattr(cls, "sql_file")}
    assert {m.path for m in models.models().values() if m.folder == "rules"} == rules


def test_a_model_is_one_select_with_a_header(tmp_path, monkeypatch):
    with pytest.raises(models.ModelError, match="no `-- inputs:` header"):
        models._parse("features", "x", "SELECT 1")
    with pytest.raises(models.ModelError, match="one SELECT"):
        models._parse("features", "x", "-- inputs: jobs\nCREATE TABLE x AS SELECT * FROM jobs")
    with pytest.raises(models.ModelError, match="one SELECT"):
        models._parse("features", "x", "-- inputs: jobs\nSELECT * FROM jobs; SELECT 2")


def test_models_command_prints_the_graph(capsys):
    from bountyguard.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "features/stints.sql" in out and "table" in out
    assert out.index("staging/asof_hires.sql") < out.index("features/stints.sql") < out.index("rules/early_exit.sql")
