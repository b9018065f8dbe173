"""Identity chains: joining declarations and audit logs into, per service account, the
cloud identities it becomes (see `weft.posture.core.chains` for the entry points)."""
