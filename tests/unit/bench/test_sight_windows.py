"""agent_sight's window arithmetic: rates without the detach call, the sensor's figures
over the whole window, the order of the modes, and the verdict's wording."""

from __future__ import annotations

import pytest

from bench._windows import A, B, K, Mark, Reading, Window, order, ratios, verdict


def test_a_window_leaves_the_detach_call_out_of_its_rate_but_not_out_of_the_sensors_figures():
    start = Reading(at=10.0, requests=1000, cpu=2.0, records=500, seen=400)
    pause = (Mark(at=11.0, requests=4000), Mark(at=11.3, requests=4900))
    end = Reading(at=11.35, requests=5050, cpu=2.2025, records=8600, seen=4450)
    w = Window.between(A, start, end, pause)
    assert w.seconds == pytest.approx(1.05)
    assert w.requests == 3150          # 3000 before the detach + 150 in the catch-up
    assert w.rate == pytest.approx(3000)
    assert w.paused == pytest.approx(0.3)
    assert (w.span, w.probed) == (4050, 3000)
    assert w.cpu_us_per_request == pytest.approx(50)   # 0.2025 s over 4050 requests
    assert w.records_per_request == pytest.approx(2)
    assert w.missed == 0


def test_a_b_window_is_its_whole_span():
    w = Window.between(B, Reading(0.0, 0, 1.0, 7, 3, client_cpu=5.0), Reading(2.0, 6000, 1.003, 8, 3, client_cpu=6.2))
    assert (w.seconds, w.requests, w.span, w.probed, w.paused) == (2.0, 6000, 6000, 0, 0.0)
    assert (w.rate, w.seen, w.missed) == (3000, 0, 0)
    assert w.client_us_per_request == pytest.approx(200)   # 1.2 s of the client's CPU over 6000 requests


@pytest.mark.parametrize(("probed", "seen", "missed"), [
    (100, 100, 0),
    (100, 99, 0),    # the request the window opened in the middle of
    (100, 97, 2),
    (100, 130, 0),   # requests of the detach's time seen too
])
def test_missed_allows_one_request_written_before_the_attach(probed, seen, missed):
    start = Reading(0.0, 0, 0.0, 0, 0)
    w = Window.between(A, start, Reading(1.2, probed + 20, 0.0, 0, seen), (Mark(1.0, probed), Mark(1.1, probed + 10)))
    assert w.missed == missed


def test_the_modes_run_a_b_k_k_b_a_so_drift_favours_none():
    assert [m for i in range(4) for m in order(i)] == [A, B, K, K, B, A, A, B, K, K, B, A]


def test_ratios_are_a_mode_over_b_per_round():
    def window(mode, requests):
        return Window.between(mode, Reading(0.0, 0, 0.0, 0, 0), Reading(1.0, requests, 0.0, 0, 0))
    rounds = [{A: window(A, 900), B: window(B, 1000), K: window(K, 950)},
              {B: window(B, 500), A: window(A, 600), K: window(K, 400)}]
    assert ratios(rounds) == pytest.approx([0.9, 1.2])
    assert ratios(rounds, K) == pytest.approx([0.95, 0.8])


@pytest.mark.parametrize(("pair_ratios", "expected"), [
    ([0.95, 0.96, 0.97, 0.98, 0.99], "MET"),
    ([0.70, 0.75, 0.80, 0.82, 0.85], "NOT MET"),
    ([0.70, 0.85, 0.92, 0.98, 1.10],
     "MET on the median, but its interquartile range straddles the target"),
    ([0.60, 0.80, 0.88, 0.95, 1.00],
     "NOT MET on the median, but its interquartile range straddles the target"),
])
def test_verdict_on_the_median_slowdown_and_its_interquartile_range(pair_ratios, expected):
    assert verdict(pair_ratios, 0.10) == expected
