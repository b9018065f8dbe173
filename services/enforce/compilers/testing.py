"""A small compiler that exercises the base class in tests: it lists what the policy
allows as plain data, needs the selector's service account (declared as a parameter),
and cannot express wildcards. Not registered with the targets users pick from."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers.base import Compiler, Gap, Output


class OutlineCompiler(Compiler):
    description = "plain outline of the egress a policy allows (for tests)"
    file_format = "json"
    schema = ""
    aspects = ("hosts", "networks")
    parameters = {"type": "object", "required": ["selector"],
                  "properties": {"selector": {"type": "object", "required": ["serviceAccount"], "properties": {
                      "serviceAccount": {"description": "spec.selector.serviceAccount"}}}}}

    def compile(self, policy: ir.Policy) -> Output:
        exact = [h for h in policy.hosts if h.wildcard == "exact"]
        doc = {"agent": policy.selector.service_account,
               "hosts": [h.pattern for h in exact], "networks": [str(n.network) for n in policy.networks]}
        gaps = [Gap(h.origin, "wildcards are not outlined") for h in policy.hosts if h.wildcard != "exact"]
        return Output([doc], [h.origin for h in exact] + [n.origin for n in policy.networks], gaps)
