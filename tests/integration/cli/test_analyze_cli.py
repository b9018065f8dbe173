"""`weft analyze` over a mix of files, in one process: provider alerts as OCSF, posture
findings from declarations and audit logs, problems named by file and place."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LAB = Path(__file__).resolve().parents[2] / "unit" / "posture" / "data" / "lab"
GUARDDUTY = "provider-findings/aws-guardduty/panther-analysis/aws_guardduty_critical_sev_findings__critical-sev-finding.json"


def analyze(*args) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "weft.cli.main", "analyze", *map(str, args), "--json"],
                          capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


def test_alerts_findings_and_problems_from_one_run(fixtures_dir, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"kind": "PROCESS_EXEC", "time": "not a time"}\n{"truncated": \n')
    declarations = [p for p in LAB.glob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".yaml")]
    code, out = analyze(fixtures_dir / GUARDDUTY, broken, *declarations)
    assert code == 0
    assert [a["metadata"]["product"]["name"] for a in out["alerts"]] and out["alerts"][0]["class_uid"] == 2004
    kinds = {f["kind"] for f in out["findings"]}
    assert {"unused_permissions", "chain_reach"} <= kinds
    assert [p["location"].split(":")[0] for p in out["problems"]] == [str(broken), str(broken)]
    assert set(out) == {"inventory", "findings", "alerts", "stories", "problems"}
