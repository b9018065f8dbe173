"""An AWS role link judged: the actions its permission policies allow (wildcards and
NotAction expanded over every AWS action), the ones its sessions used, the resources
each Allow statement reaches, and the least-privilege policy."""
from __future__ import annotations

from weft.posture.core.chain.model import Link, LinkFacts
from weft.posture.core.chain.trust import like
from weft.posture.core.declarations.model import Effect, PolicyStatement
from weft.posture.core.findings.iam_actions import access_level, allowed_actions, spelling, statement_actions
from weft.posture.core.findings.judgement import Judgement, Permission, Reach
from weft.posture.core.findings.leastprivilege_aws import least_privilege_policy, role_statements
from weft.posture.core.findings.model import Fix
from weft.posture.core.findings.usage import Usage, usage


def judge_aws(link: Link, facts: LinkFacts) -> Judgement:
    labelled = role_statements(facts.grants)
    statements = list(labelled)
    granted = allowed_actions(statements)
    actions = {s: statement_actions(s) for s in statements if s.effect is Effect.ALLOW}
    where: dict[str, list[str]] = {}
    for s, found in actions.items():
        for a in found & granted:
            where.setdefault(a, []).append(labelled[s])
    declared = tuple(sorted((Permission(spelling(a), access_level(a), ", ".join(where[a])) for a in granted),
                            key=lambda p: p.name.lower()))
    use = usage(facts.calls)
    used = tuple(sorted({spelling(a) for a in use.permissions if a in granted}, key=str.lower))
    policy, notes = least_privilege_policy(statements, use.resources)
    reach = tuple(r for s, label in labelled.items() if s.effect is Effect.ALLOW
                  for r in _reach(s, label, actions[s], use))
    return Judgement(link, declared, used, reach, _fix(link, policy, len(declared), len(used)),
                     tuple(notes) + facts.missing)


def _fix(link: Link, policy: dict | None, declared: int, used: int) -> Fix | None:
    if not declared or used == declared:
        return None
    if policy is None:
        return Fix(f"Remove the permission policies of {link.identity}: none of its {declared} actions was used")
    return Fix(f"Replace the permission policies of {link.identity} with this policy: {used} of {declared} "
               "actions, on the resources they were used on", "aws_iam_policy", (policy,))


def _reach(s: PolicyStatement, label: str, actions: frozenset[str], use: Usage) -> list[Reach]:
    levels = tuple(sorted({access_level(a) for a in actions}))
    if s.not_resources:
        return [Reach(f"everything but {', '.join(s.not_resources)}", levels, label,
                      any(a in actions for a in use.resources))]
    return [Reach(p, levels, label, _used(p, actions, use)) for p in s.resources]


def _used(pattern: str, actions: frozenset[str], use: Usage) -> bool:
    """Some action of the statement was used on a resource of the pattern (or on no
    resource the logs name)."""
    return any(a in actions and (not rs or any(like(pattern, r) for r in rs)) for a, rs in use.resources.items())
