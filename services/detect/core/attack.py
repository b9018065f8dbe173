"""MITRE ATT&CK references as OCSF `attack` objects. Providers name tactics in their own
spelling ("CredentialAccess", "COMMAND_AND_CONTROL", "mitre_credential_access"); they are
matched on letters alone. Techniques are taken when they carry an id (T1059, T1059.004)."""
from __future__ import annotations

import re

TACTICS = {  # Enterprise ATT&CK tactics: id and name
    "reconnaissance": ("TA0043", "Reconnaissance"),
    "resourcedevelopment": ("TA0042", "Resource Development"),
    "initialaccess": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"),
    "privilegeescalation": ("TA0004", "Privilege Escalation"),
    "defenseevasion": ("TA0005", "Defense Evasion"),
    "credentialaccess": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"),
    "lateralmovement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"),
    "commandandcontrol": ("TA0011", "Command and Control"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "impact": ("TA0040", "Impact"),
}
_TACTIC_IDS = {uid: name for uid, name in TACTICS.values()}
_TECHNIQUE = re.compile(r"^(T\d{4}(?:\.\d{3})?)\b\s*[-:]?\s*(.*)$")
_NOT_LETTERS = re.compile(r"[^a-z]")


def tactic(name: str) -> dict | None:
    """An OCSF tactic for a tactic name or TA id in any spelling, or None."""
    word = name.strip()
    if word.upper() in _TACTIC_IDS:
        return {"uid": word.upper(), "name": _TACTIC_IDS[word.upper()]}
    key = _NOT_LETTERS.sub("", word.lower())
    if key.startswith("mitre"):
        key = key[len("mitre"):]
    found = TACTICS.get(key)
    return {"uid": found[0], "name": found[1]} if found else None


def technique(value: str) -> dict | None:
    """An OCSF technique from "T1059", "T1059.004" or "T1530 - Data from Cloud Storage"."""
    m = _TECHNIQUE.match(value.strip())
    if m is None:
        return None
    uid, name = m.groups()
    return {"uid": uid, "name": name} if name else {"uid": uid}


def attacks(tactics: list[str] = (), techniques: list[str] = ()) -> list[dict]:
    """One attack object per known tactic, then one per technique with an id."""
    out: list[dict] = []
    seen: set[str] = set()
    for name in tactics:
        found = tactic(name) if isinstance(name, str) else None
        if found and found["uid"] not in seen:
            seen.add(found["uid"])
            out.append({"tactic": found})
    for value in techniques:
        found = technique(value) if isinstance(value, str) else None
        if found and found["uid"] not in seen:
            seen.add(found["uid"])
            out.append({"technique": found})
    return out
