"""Behaviour profiles per logical agent: learnt on event time, one profile across every
cluster, deterministic merges; once ready, new behaviour is reported, not learnt, until a
user accepts it."""
import json
import random

import pytest
from observe_events import Actor, langchain_agent

from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.profiles import (Behaviour, Deviation, LearningWindow, Profile, accept, from_dict, merge,
                                          to_dict)

WINDOW = LearningWindow(duration=600)
CATALOGUE = Catalogue(load_catalogue())
NAME = "agents/support-bot"


def learn(*streams, window=WINDOW) -> tuple[Observer, list[Deviation]]:
    observer = Observer(CATALOGUE, window)
    found = [d for events in streams for d in observer.observe(events)]
    return observer, found


def profile(*streams, window=WINDOW) -> Profile:
    return learn(*streams, window=window)[0].profiles()[NAME]


def test_one_agent_in_two_clusters_yields_one_profile_spanning_both():
    eks = langchain_agent("eks")
    aks = langchain_agent("aks", t=20) + [Actor("aks", "agents", "support-bot").connect(25, "vault.sec.svc", 8200)]
    observer, _ = learn(eks + aks)
    assert list(observer.profiles()) == [NAME]
    p = observer.profiles()[NAME]
    assert p.clusters == ["aks", "eks"]
    assert set(p.items["egress"]) == {("api.openai.com", 443, "TCP"), ("vault.sec.svc", 8200, "TCP")}
    assert p.items["model"] == {("openai", "api.openai.com", "gpt-4o"): 1_750_000_003}   # first seen, in EKS
    assert p.items["mcp"] == {("http://records-mcp.tools.svc.aks.lab:8080/mcp", "read_records"): 1_750_000_004}


def test_merging_per_cluster_profiles_equals_learning_from_both_and_is_order_free():
    eks, aks = langchain_agent("eks"), langchain_agent("aks", t=-30)
    a, b = profile(eks), profile(aks)
    ab, news_ab = merge(a, b)
    ba, news_ba = merge(b, a)
    assert ab == ba == profile(eks + aks) and news_ab == news_ba == []
    assert merge(merge(a, b)[0], a)[0] == ab                                    # idempotent
    assert to_dict(ab) == to_dict(ba)


def test_replaying_the_same_events_in_any_batching_gives_the_same_profile():
    events = langchain_agent("eks") + langchain_agent("gke", t=700) + langchain_agent("aks", t=900)
    once = profile(events)
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    assert profile(shuffled) == once
    assert profile(*(events[i:i + 3] for i in range(0, len(events), 3))) == once
    assert to_dict(profile(events)) == to_dict(once)


def ready_agent() -> tuple[Observer, Actor]:
    bot = Actor("eks", "agents", "support-bot")
    observer, found = learn(langchain_agent("eks"), [bot.connect(500, "api.openai.com", 443, ip="162.159.140.245")])
    assert found == [] and observer.profiles()[NAME].status == "learning"
    return observer, bot


def test_behaviour_seen_again_earlier_keeps_its_earliest_time():
    """Out-of-order delivery (a node's batch arriving late) lowers first-seen times."""
    bot = Actor("eks", "agents", "support-bot")
    late = [bot.dns(9, "api.openai.com"), bot.exec(9, "python3", "bot.py"), bot.accept(9, 8080),
            bot.http(9, "api.openai.com"), bot.connect(9, "api.openai.com", 443), bot.open(9, "/app/x.py"),
            bot.llm(9, "api.openai.com"), bot.mcp(9, "records", "read")]
    early = [bot.dns(4, "api.openai.com"), bot.exec(4, "python3", "bot.py"), bot.accept(4, 8080),
             bot.http(4, "api.openai.com"), bot.connect(4, "api.openai.com", 443), bot.open(4, "/app/x.py"),
             bot.llm(4, "api.openai.com"), bot.mcp(4, "records", "read")]
    observer, _ = learn(late, early)
    p = observer.profiles()[NAME]
    assert {t for times in p.items.values() for t in times.values()} == {1_750_000_004}
    assert p.first_seen == 1_750_000_004 and p == profile(early + late)
    [found] = observer.inventory()
    assert {e.first_seen for e in found.classification.evidence} == {1_750_000_004}


def test_a_ready_profile_reports_new_behaviour_instead_of_growing():
    observer, bot = ready_agent()
    before = observer.profiles()[NAME].baseline()
    found = observer.observe([bot.connect(700, "api.openai.com", 443), bot.exec(701, "/bin/sh", "-c", "curl x"),
                              bot.connect(702, "paste.example.net", 443, ip="198.51.100.9"),
                              bot.connect(703, "paste.example.net", 443, ip="198.51.100.9")])
    p = observer.profiles()[NAME]
    assert p.status == "ready" and p.ready_at() == 1_750_000_600
    assert [(d.at, str(d.behaviour), d.where) for d in found] == [
        (1_750_000_701, "exec /bin/sh /bin/sh -c curl x", "eks/agents/support-bot"),
        (1_750_000_702, "egress paste.example.net:443/TCP", "eks/agents/support-bot")]
    assert p.baseline() == before                                # it did not grow
    assert [d.behaviour for d in p.deviations()] == [d.behaviour for d in found]


def test_accepting_deviations_adds_them_to_the_baseline():
    observer, bot = ready_agent()
    observer.observe([bot.connect(702, "paste.example.net", 443), bot.dns(703, "paste.example.net"),
                      bot.exec(704, "/usr/bin/git", "pull")])
    p = observer.profiles()[NAME]
    one = accept(p, ["egress paste.example.net:443/TCP"])
    assert [str(d.behaviour) for d in one.deviations()] == [
        "dns paste.example.net", "exec /usr/bin/git /usr/bin/git pull"]
    assert ("paste.example.net", 443, "TCP") in one.baseline()["egress"]
    assert len(p.deviations()) == 3                              # accept returns a copy
    assert [str(d.behaviour) for d in accept(p, ["exec"]).deviations()] == [
        "egress paste.example.net:443/TCP", "dns paste.example.net"]
    assert accept(p).deviations() == []
    with pytest.raises(ValueError, match="'egress nope:1/TCP' names no pending deviation of agents/support-bot; "
                                         "pending: egress paste"):
        accept(p, ["egress nope:1/TCP"])
    # the service loads the accepted profile back: accepted behaviour is quiet, other news is not
    assert observer.load(accept(p)) == []
    assert observer.observe([bot.exec(705, "/usr/bin/git", "pull")]) == []
    assert [str(d.behaviour) for d in observer.observe([bot.exec(706, "/usr/bin/nc", "-l")])] == [
        "exec /usr/bin/nc /usr/bin/nc -l"]


def test_merge_reports_what_became_a_deviation_once():
    observer, _ = ready_agent()
    stored = observer.profiles()[NAME]
    replica = Actor("gke", "agents", "support-bot")              # started late: still learning on its own
    late = profile([replica.exec(700, "python3", "/app/bot.py"), replica.connect(800, "evil.example", 443)])
    assert late.status == "learning"
    merged, news = merge(stored, late)
    assert [(d.at, str(d.behaviour)) for d in news] == [(1_750_000_800, "egress evil.example:443/TCP")]
    assert ("evil.example", 443, "TCP") not in merged.baseline()["egress"]
    assert merge(merged, late)[1] == []                          # already pending: not news again
    # a replica whose own profile was ready already reported it when it saw it
    early = profile([replica.exec(0, "python3", "/app/bot.py"), replica.connect(800, "evil.example", 443)])
    assert [str(d.behaviour) for d in early.deviations()] == ["egress evil.example:443/TCP"]
    assert merge(stored, early)[1] == [] and merge(stored, early)[0].deviations() == merged.deviations()


def test_a_quiet_period_makes_a_profile_ready_before_the_duration():
    bot = Actor("eks", "agents", "support-bot")
    quiet = LearningWindow(duration=3600, quiet=120)
    observer, _ = learn([bot.exec(0, "python3", "bot.py"), bot.connect(100, "api.openai.com", 443),
                         bot.connect(200, "api.openai.com", 443)], window=quiet)
    assert observer.profiles()[NAME].status == "learning"        # 100 s since the last new behaviour
    found = observer.observe([bot.connect(221, "api.anthropic.com", 443)])
    assert observer.profiles()[NAME].ready_at() == 1_750_000_220 and len(found) == 1


def test_readiness_follows_event_time_not_the_wall_clock():
    bot, other = Actor("eks", "agents", "support-bot"), Actor("eks", "apps", "web")
    observer, _ = learn([bot.exec(0, "python3", "bot.py")])
    assert observer.profiles()[NAME].status == "learning"
    observer.observe([other.exit(599)])
    assert observer.profiles()[NAME].status == "learning"
    observer.observe([other.exit(600)])                          # any event moves event time
    assert observer.profiles()[NAME].status == "ready"


def test_late_events_from_the_learning_window_are_baseline_not_deviations():
    observer, bot = ready_agent()
    observer.observe([bot.connect(700, "api.openai.com", 443)])
    assert observer.observe([bot.connect(300, "late.example", 443)]) == []
    assert observer.profiles()[NAME].deviations() == []


def test_profiles_round_trip_through_json():
    observer, bot = ready_agent()
    observer.observe([bot.open(650, "/proc/4242/status", "O_RDONLY"),
                      bot.connect(651, "x.example", 8443, ip="1.2.3.4")])
    p = accept(observer.profiles()[NAME], ["open"])
    data = json.loads(json.dumps(to_dict(p)))
    assert from_dict(data) == p and to_dict(from_dict(data)) == data
    assert (data["status"], data["id"], data["clusters"]) == ("ready", p.id, ["eks"])
    assert data["deviations"] == [{"kind": "egress", "name": "x.example", "port": 8443, "protocol": "TCP",
                                   "addresses": ["1.2.3.4"], "firstSeen": 1_750_000_651}]
    assert {"path": "/proc/\u22ef/status", "flags": ["O_RDONLY"], "firstSeen": 1_750_000_650} in data["opens"]
    with pytest.raises(ValueError, match="not a weft profile"):
        from_dict({"agent": NAME})


def test_profiles_learnt_with_different_windows_do_not_merge():
    with pytest.raises(ValueError, match="cannot merge"):
        merge(Profile(NAME, LearningWindow(600)), Profile(NAME, LearningWindow(60)))
    with pytest.raises(ValueError, match="cannot merge"):
        merge(Profile(NAME), Profile("other/agent"))


def test_behaviour_reads_as_users_type_it():
    assert str(Behaviour("model", ("openai", "api.openai.com", "gpt-4o"))) == "model openai/gpt-4o@api.openai.com"
    assert str(Behaviour("ingress", (8080, "TCP"))) == "ingress :8080/TCP"
    assert str(Behaviour("mcp", ("records", ""))) == "mcp records"
    with pytest.raises(ValueError):
        LearningWindow(duration=0)
