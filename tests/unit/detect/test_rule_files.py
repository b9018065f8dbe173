"""Rule files are data: every shipped rule file loads, one rule per file named by its id,
each with ATT&CK or ATLAS techniques; user directories add and replace rules; a broken
file fails loudly, naming the file, the line and the field."""
import re
from pathlib import Path

import pytest

from weft.detect.core.alerts import attacks
from weft.detect.core.baseline import DIMENSIONS
from weft.detect.core.rulefile import SHIPPED, RuleFileError, RuleSet, load_rule

SHIPPED_FILES = sorted(SHIPPED.glob("*/*.yaml"))
GOOD = """\
id: bad_rule
title: A rule
description: Something happened.
severity: HIGH
tactic: Execution
techniques: ["T1059.004 - Unix Shell", "AML.T0053"]
kind: signature
events: [PROCESS_EXEC]
match:
  all:
    - {field: process.exe, prefix: /tmp/}
    - {field: process.uid, equals: 0}
"""


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=[f"{p.parent.name}/{p.stem}" for p in SHIPPED_FILES])
def test_every_shipped_rule_file_loads(path):
    rule = load_rule(path)
    assert (rule.id, rule.family) == (path.stem, path.parent.name)
    assert rule.techniques and all(re.match(r"^(AML\.)?T\d{4}", t) for t in rule.techniques)
    found = attacks(rule)
    assert found[0]["tactic"]["uid"].startswith("TA")
    assert {a["technique"]["uid"] for a in found[1:]} == {t.split(" ")[0] for t in rule.techniques}


def test_the_shipped_set_is_every_file_and_covers_every_dimension():
    rules = RuleSet.load()
    assert sorted(r.id for r in rules) == sorted(p.stem for p in SHIPPED_FILES)
    assert {r.dimension for r in rules if r.kind == "baseline"} == set(DIMENSIONS)
    assert {r.id for r in rules if r.after} == {"sensitive_read_after_model_response", "tool_call_reaches_new_data"}


BROKEN = [  # what is changed in GOOD, what the error must say (after the file name)
    (("id: bad_rule", "id: other_rule"), ":1: id: 'other_rule' must equal the file name 'bad_rule'"),
    (("severity: HIGH", "severty: HIGH"), ":4: severty: Additional properties are not allowed"),
    (("severity: HIGH", "severity: URGENT"), ":4: severity: 'URGENT' is not one of"),
    (("tactic: Execution", "tactic: Lunch"), ":5: tactic: 'Lunch' is not a MITRE ATT&CK tactic"),
    (('"AML.T0053"', '"X1234"'), ":6: techniques[1]: 'X1234' does not match"),
    (("process.exe, prefix", "process.exec, prefix"), ":11: match.all[0].field: unknown field 'process.exec'"),
    (("prefix: /tmp/}", "prefix: /tmp/, glob: /x}"), ":11: match.all[0]: process.exe takes exactly one of"),
    (("prefix: /tmp/}", "globb: /tmp/*}"), ":11: match.all[0].globb: unknown key 'globb'"),
    (("prefix: /tmp/}", "regex: '(unclosed'}"), ":11: match.all[0].regex: '(unclosed' is not a valid regex"),
    (("process.uid, equals: 0", "process.uid, equals: '0'"), ":12: match.all[1].equals: process.uid is a number"),
    (("process.uid, equals: 0", "process.uid, glob: '0*'"), ":12: match.all[1]: process.uid takes exactly one of"),
    (("process.exe, prefix: /tmp/", "file.path, prefix: /tmp/"),
     ":11: match.all[0].field: file.path is never set on PROCESS_EXEC events (it is on FILE_OPEN)"),
    (("process.uid, equals: 0", "network.protocol, equals: SCTP"),
     ":12: match.all[1].field: network.protocol is never set on PROCESS_EXEC"),
    (("  all:\n", "  every:\n"), ":10: match: a condition has exactly one of all, any, not, field"),
    (("kind: signature", "kind: baseline"), ":1: (top): a baseline rule needs `dimension`"),
    (("kind: signature", "kind: signature\ndimension: egress"), ":8: dimension: a signature rule has no `dimension`"),
    (("events: [PROCESS_EXEC]", "events: [PROCESS_START]"), ":8: events[0]: 'PROCESS_START' is not one of"),
    (("match:", "after: {events: [LLM_RESPONSE], within: 30, by: thread}\nmatch:"), ":9: after.by: 'thread'"),
    (("match:", "exceptions:\n  - match: {field: agent, is: x}\nmatch:"), ":10: exceptions[0].match.is: unknown key"),
    (("title: A rule", "title: [unclosed"), ":3: invalid YAML"),
]


@pytest.mark.parametrize("change,message", BROKEN, ids=[c[1][:40] for c in BROKEN])
def test_a_broken_rule_file_fails_loudly_naming_file_and_field(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    path = tmp_path / "family" / "bad_rule.yaml"
    path.parent.mkdir()
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(RuleFileError) as failure:
        RuleSet.load([tmp_path], shipped=False)
    assert str(failure.value).startswith(f"{path}{message}"), str(failure.value)


def test_the_good_rule_loads(tmp_path):
    (tmp_path / "family").mkdir()
    (tmp_path / "family" / "bad_rule.yaml").write_text(GOOD)
    (rule,) = RuleSet.load([tmp_path], shipped=False)
    assert (rule.id, rule.family, rule.severity, rule.kind) == ("bad_rule", "family", "HIGH", "signature")


def test_user_directories_add_and_replace_rules(tmp_path):
    shipped = Path(RuleSet.load().get("unexpected_egress").source).read_text()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "unexpected_egress.yaml").write_text(shipped.replace("severity: MEDIUM", "severity: LOW"))
    (tmp_path / "mine" / "bad_rule.yaml").write_text(GOOD)
    rules = RuleSet.load([tmp_path])
    assert len(rules) == len(SHIPPED_FILES) + 1
    assert rules.get("unexpected_egress").severity == "LOW"
    assert rules.get("unexpected_egress").source == str(tmp_path / "mine" / "unexpected_egress.yaml")
    flat = RuleSet.load([tmp_path / "mine"], shipped=False)   # one family's files directly
    assert {(r.id, r.family) for r in flat} == {("unexpected_egress", "mine"), ("bad_rule", "mine")}


def test_one_id_twice_in_a_directory_fails(tmp_path):
    for family in ("a", "b"):
        (tmp_path / family).mkdir()
        (tmp_path / family / "bad_rule.yaml").write_text(GOOD)
    with pytest.raises(RuleFileError, match=r"b/bad_rule.yaml: id: 'bad_rule' is already defined in .*a/bad_rule.yaml"):
        RuleSet.load([tmp_path], shipped=False)


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p], ids=["missing", "empty"])
def test_a_directory_without_rules_fails(tmp_path, make):
    with pytest.raises(RuleFileError, match=r"no such rule directory|no rule files"):
        RuleSet.load([make(tmp_path)])
