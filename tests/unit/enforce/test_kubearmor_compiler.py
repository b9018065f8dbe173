"""KubeArmorPolicy: executables and files as an allow-list; directories recursive,
read-only unless the intent lists them under write."""
from __future__ import annotations

from enforce_intents import policy
from weft.enforce.compilers.kubearmor import KubeArmorCompiler


def test_kubearmor_table():
    out = KubeArmorCompiler().compile(policy(executables=["/usr/bin/python3", "/app/bin/"],
                                             files={"read": ["/etc/hosts", "/app/"], "write": ["/tmp/"]}))
    assert out.documents[0]["spec"] == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "bot"}},
        "process": {"matchPaths": [{"path": "/usr/bin/python3"}],
                    "matchDirectories": [{"dir": "/app/bin/", "recursive": True}]},
        "file": {"matchPaths": [{"path": "/etc/hosts", "readOnly": True}],
                 "matchDirectories": [{"dir": "/app/", "recursive": True, "readOnly": True},
                                      {"dir": "/tmp/", "recursive": True, "readOnly": False}]},
        "action": "Allow"}
    assert out.documents[0]["apiVersion"] == "security.kubearmor.com/v1" and out.gaps == []


def test_kubearmor_audit_mode_is_the_namespace_posture():
    out = KubeArmorCompiler().compile(policy(mode="audit", executables=["/bin/sh"]))
    assert "file" not in out.documents[0]["spec"]
    assert [g.origin for g in out.gaps] == ["spec.mode"] and "kubearmor-file-posture=audit" in out.gaps[0].reason
