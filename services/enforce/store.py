"""The tables enforce owns: every input it has handled (so a redelivery is counted once),
and the policies with every revision of each (what `rollback` goes back to)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from weft.common.received import ReceivedBase


class Received(ReceivedBase, table=True):
    __tablename__ = "enforce_received"


class PolicyRevision(SQLModel, table=True):
    __tablename__ = "enforce_policy_revisions"
    policy: str = Field(primary_key=True)
    number: int = Field(primary_key=True)
    mode: str
    intent: str
    reason: str
    created_at: datetime


class Policy(SQLModel, table=True):
    __tablename__ = "enforce_policies"
    name: str = Field(primary_key=True)
    current: int
    deleted: bool = False


def add_revision(engine: Engine, name: str, mode: str, intent: str, reason: str) -> PolicyRevision:
    """A new revision of `name`, made current."""
    with Session(engine) as s:
        latest = s.exec(select(PolicyRevision.number).where(PolicyRevision.policy == name)
                        .order_by(PolicyRevision.number.desc())).first() or 0
        rev = PolicyRevision(policy=name, number=latest + 1, mode=mode, intent=intent, reason=reason,
                             created_at=datetime.now(timezone.utc))
        s.add(rev)
        policy = s.get(Policy, name) or Policy(name=name, current=rev.number)
        policy.current, policy.deleted = rev.number, False
        s.add(policy)
        s.commit()
        s.refresh(rev)
        return rev


def current(engine: Engine, name: str) -> PolicyRevision | None:
    with Session(engine) as s:
        policy = s.get(Policy, name)
        if policy is None or policy.deleted:
            return None
        return s.get(PolicyRevision, (name, policy.current))


def revisions(engine: Engine, name: str) -> list[PolicyRevision]:
    with Session(engine) as s:
        return list(s.exec(select(PolicyRevision).where(PolicyRevision.policy == name)
                           .order_by(PolicyRevision.number)).all())


def policies(engine: Engine) -> list[PolicyRevision]:
    with Session(engine) as s:
        live = s.exec(select(Policy).where(Policy.deleted == False)).all()  # noqa: E712
        return [s.get(PolicyRevision, (p.name, p.current)) for p in sorted(live, key=lambda p: p.name)]


def mark_deleted(engine: Engine, name: str) -> bool:
    with Session(engine) as s:
        policy = s.get(Policy, name)
        if policy is None or policy.deleted:
            return False
        policy.deleted = True
        s.add(policy)
        s.commit()
        return True
