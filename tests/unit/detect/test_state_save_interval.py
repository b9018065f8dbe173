"""How often detect saves its correlation state."""
from weft.detect.app import SAVE_SHARE, STATE_INTERVAL_S, next_save_in


def test_a_quick_save_comes_round_every_interval():
    assert next_save_in(0.05) == STATE_INTERVAL_S


def test_a_slow_save_is_spaced_to_take_a_bounded_share_of_the_time():
    assert next_save_in(6.0) == 6.0 / SAVE_SHARE
    assert next_save_in(6.0) > STATE_INTERVAL_S
