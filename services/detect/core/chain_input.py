"""Identity chains as correlation needs them: per logical agent, the identities it runs as
in each cloud, each link only a provider and a principal (with any other names of it).

Posture resolves the chains (`weft.posture.core.chains`) and publishes them on
`weft.identity.v1` as `chain_to_dict` gives them; `from_published` reads that JSON and
`from_posture` reads posture's typed chain, so detect depends on neither's internals.

    chains = [from_published(msg) for msg in identity_messages]
    book = ChainBook(chains)
    book.agents_for("arn:aws:sts::111122223333:assumed-role/support-bot/botocore-1")
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from weft.detect.core.principal_keys import principal_keys

KUBERNETES, AWS, AZURE, GCP = "KUBERNETES", "AWS", "AZURE", "GCP"
PROVIDERS = (KUBERNETES, AWS, AZURE, GCP)
_CLOUD_NAMES = {"kubernetes": KUBERNETES, "aws": AWS, "azure": AZURE, "gcp": GCP}


@dataclass(frozen=True, order=True)
class IdentityLink:
    provider: str                       # KUBERNETES, AWS, AZURE or GCP
    principal: str                      # the service account's sub, a role ARN, a client id, a principal
    cluster: str = ""                   # the Kubernetes link's cluster, when known
    aliases: tuple[str, ...] = ()       # other names of the same identity (object id, session ARNs, ...)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.principal, *self.aliases)


@dataclass(frozen=True, order=True)
class IdentityChain:
    agent: str                          # logical agent name; "" for a service account no agent runs as
    links: tuple[IdentityLink, ...]


def provider_name(cloud: Any) -> str:
    """KUBERNETES, AWS, AZURE or GCP from posture's Cloud ("aws") or any spelling of it."""
    word = str(getattr(cloud, "value", cloud)).strip().lower()
    return _CLOUD_NAMES.get(word, word.upper())


def from_published(data: dict) -> IdentityChain:
    """The chain a `weft.identity.v1` message (posture's chain_to_dict) describes."""
    subject = data.get("subject") or {}
    first = IdentityLink(KUBERNETES, _sub(subject), str(subject.get("cluster") or ""))
    links = [IdentityLink(provider_name(x.get("cloud")), str(x.get("identity", "")),
                          aliases=tuple(sorted({str(a.get("value")) for a in x.get("aliases", ()) if a.get("value")})))
             for x in data.get("links", ())]
    return IdentityChain(str(data.get("agent") or ""), (first, *[x for x in links if x.principal]))


def from_posture(chain: Any) -> IdentityChain:
    """Posture's typed IdentityChain (agent, subject, links[cloud, identity, aliases]), read by
    attribute so that detect does not import posture."""
    subject = chain.subject
    first = IdentityLink(KUBERNETES, subject.sub, getattr(subject, "cluster", "") or "")
    links = [IdentityLink(provider_name(link.cloud), link.identity,
                          aliases=tuple(sorted({value for _, value in getattr(link, "aliases", ())})))
             for link in chain.links]
    return IdentityChain(chain.agent or "", (first, *links))


def _sub(subject: dict) -> str:
    if subject.get("sub"):
        return str(subject["sub"])
    return f"system:serviceaccount:{subject.get('namespace', '')}:{subject.get('serviceAccount', '')}"


class ChainBook:
    """Every chain, and which agents answer to a principal in any of its spellings."""

    def __init__(self, chains: Iterable[IdentityChain] = ()):
        self.chains: tuple[IdentityChain, ...] = ()
        self._agents: dict[str, set[str]] = {}
        self.replace(chains)

    def replace(self, chains: Iterable[IdentityChain]) -> set[str]:
        """Use these chains from now on; returns the principal keys whose answer may differ."""
        before = set(self._agents)
        self.chains = tuple(sorted(set(chains)))
        self._agents = {}
        self._by_agent: dict[str, list[IdentityChain]] = {}
        for chain in self.chains:
            self._by_agent.setdefault(chain.agent, []).append(chain)
            for link in chain.links:
                for name in link.names:
                    for key in principal_keys(name):
                        self._agents.setdefault(key, set()).add(chain.agent)
        return before | set(self._agents)

    def agents_for(self, principal: str) -> set[str]:
        found: set[str] = set()
        for key in principal_keys(principal):
            found |= self._agents.get(key, set())
        return {a for a in found if a}

    def of_agent(self, agent: str) -> tuple[IdentityChain, ...]:
        return tuple(self._by_agent.get(agent, ()))

    def to_state(self) -> list[dict]:
        return [{"agent": c.agent, "links": [{"provider": x.provider, "principal": x.principal,
                                               "cluster": x.cluster, "aliases": list(x.aliases)} for x in c.links]}
                for c in self.chains]

    @staticmethod
    def chains_from_state(data: list[dict]) -> list[IdentityChain]:
        return [IdentityChain(c["agent"], tuple(IdentityLink(x["provider"], x["principal"], x.get("cluster", ""),
                                                             tuple(x.get("aliases", ()))) for x in c["links"]))
                for c in data]
