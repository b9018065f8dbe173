"""OCSF `observables`: the indicators of a finding (addresses, ports, domains, names,
principals, hashes) listed once each with their type and where they are, so a reader
can index a finding without walking it."""
from __future__ import annotations

HOSTNAME, IP, USER_NAME, EMAIL, HASH, PROCESS_NAME, RESOURCE_UID, PORT, COMMAND_LINE = 1, 2, 4, 5, 8, 9, 10, 11, 13
CREDENTIAL_UID, USER_UID, FILE_PATH = 19, 31, 45
CAPTIONS = {HOSTNAME: "Hostname", IP: "IP Address", USER_NAME: "User Name", EMAIL: "Email Address",
            HASH: "Hash", PROCESS_NAME: "Process Name", RESOURCE_UID: "Resource UID", PORT: "Port",
            COMMAND_LINE: "Command Line", CREDENTIAL_UID: "User Credential ID", USER_UID: "User Object: uid",
            FILE_PATH: "File Path"}

_ENDPOINT = (("ip", IP), ("domain", HOSTNAME), ("hostname", HOSTNAME), ("port", PORT))
_USER = (("name", USER_NAME), ("uid", USER_UID), ("email_addr", EMAIL), ("credential_uid", CREDENTIAL_UID))
_PROCESS = (("name", PROCESS_NAME), ("cmd_line", COMMAND_LINE))


class _Collector:
    def __init__(self) -> None:
        self.out: list[dict] = []
        self.seen: set[tuple[int, str]] = set()

    def add(self, name: str, type_id: int, value: object) -> None:
        if value is None or value == "" or isinstance(value, (dict, list, bool)):
            return
        text = str(value)
        if (type_id, text) not in self.seen:
            self.seen.add((type_id, text))
            self.out.append({"name": name, "type_id": type_id, "type": CAPTIONS[type_id], "value": text})

    def fields(self, holder: object, prefix: str, table: tuple[tuple[str, int], ...]) -> None:
        if isinstance(holder, dict):
            for key, type_id in table:
                self.add(f"{prefix}.{key}", type_id, holder.get(key))

    def process(self, process: object, prefix: str) -> None:
        if isinstance(process, dict):
            self.fields(process, prefix, _PROCESS)
            path = (process.get("file") or {}).get("path")
            self.add(f"{prefix}.file.path", FILE_PATH, path)
            for h in (process.get("file") or {}).get("hashes", ()):
                self.add(f"{prefix}.file.hashes.value", HASH, h.get("value"))

    def actor(self, actor: object, prefix: str) -> None:
        if isinstance(actor, dict):
            self.fields(actor.get("user"), f"{prefix}.user", _USER)
            self.add(f"{prefix}.session.issuer", RESOURCE_UID, (actor.get("session") or {}).get("issuer"))
            self.process(actor.get("process"), f"{prefix}.process")


def observables(finding: dict) -> list[dict]:
    c = _Collector()
    c.actor(finding.get("actor"), "actor")
    for e in finding.get("evidences", ()):
        c.actor(e.get("actor"), "evidences.actor")
        c.fields(e.get("user"), "evidences.user", _USER)
        c.process(e.get("process"), "evidences.process")
        c.fields(e.get("src_endpoint"), "evidences.src_endpoint", _ENDPOINT)
        c.fields(e.get("dst_endpoint"), "evidences.dst_endpoint", _ENDPOINT)
        c.add("evidences.query.hostname", HOSTNAME, (e.get("query") or {}).get("hostname"))
        c.add("evidences.file.path", FILE_PATH, (e.get("file") or {}).get("path"))
    device = finding.get("device")
    if isinstance(device, dict):
        c.fields(device, "device", (("hostname", HOSTNAME), ("ip", IP)))
    for r in finding.get("resources", ()):
        c.add("resources.uid", RESOURCE_UID, r.get("uid"))
    return c.out
