"""Gateway protocol versions: what this gateway serves and how it says no."""
PROTOCOL_VERSION = 1
SUPPORTED = frozenset({1})
HELLO_TIMEOUT_S = 10.0


def refusal(version: int) -> str | None:
    if version in SUPPORTED:
        return None
    return (f"sensor speaks gateway protocol {version}; this gateway serves "
            f"{', '.join(map(str, sorted(SUPPORTED)))}: upgrade the "
            f"{'sensor' if version < min(SUPPORTED) else 'gateway'}")
