"""The adapter table: names users type, duplicates refused, and the same names discovery
gives these formats, so a record discovery publishes as `guardduty` is read by the
guardduty adapter."""
import json

import pytest
from detect_ocsf_checks import FIXTURES

from weft.detect.adapters import ADAPTERS, Adapter, named, owners, register
from weft.detect.adapters.envelopes import open_all
from weft.discovery.core.recognise import recognise


def test_the_five_adapters_are_registered_under_their_names():
    assert sorted(ADAPTERS) == ["defender", "falco", "guardduty", "scc", "tetragon"]
    assert {a.source for a in ADAPTERS.values()} == {"GUARDDUTY", "DEFENDER", "SCC", "FALCO", "TETRAGON"}
    assert named("scc") is ADAPTERS["scc"]


def test_a_duplicate_name_fails_loudly():
    with pytest.raises(ValueError, match="adapter 'falco' is registered twice"):
        @register("falco")
        class AnotherFalco(Adapter):
            pass
    assert type(ADAPTERS["falco"]).__name__ == "FalcoAdapter"


def test_a_name_users_cannot_type_is_refused():
    with pytest.raises(ValueError, match="not snake_case"):
        register("Guard-Duty")


def _sample_records():
    for path in sorted(p for d in ("provider-findings", "runtime-exports") for p in (FIXTURES / d).rglob("*")
                       if p.is_file()):
        text = path.read_text()
        try:
            values = [json.loads(text)]
        except ValueError:
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
        for value in values:
            for _, record in open_all(value):
                yield path.name, record


def test_each_sample_record_has_exactly_one_owner():
    for name, record in _sample_records():
        assert len(owners(record)) == 1, (name, sorted(record)[:8])


def test_discovery_routes_each_sample_to_the_adapter_of_the_same_name():
    """discovery publishes a record under its format name; detect reads it with the adapter
    of that name. Records discovery does not recognise are left to discovery's own tests."""
    for name, record in _sample_records():
        found = recognise(json.dumps(record).encode(), name).records
        if found:
            assert [r.format for r in found] == [owners(record)[0].name], name
