"""Jepsen's set checker over recorded client histories: each kind of anomaly, and none."""

from lab.observe.writes import Op, check


def add(value: str, result: str, t: float = 0.0) -> Op:
    return Op(t=t, t_end=t + 0.01, client=value.split("-")[0], op="add", value=value, result=result)


def incr(result: str, t: float = 0.0) -> Op:
    return Op(t=t, t_end=t + 0.01, client="c2", op="incr", value=None, result=result)


def test_a_clean_history_is_valid():
    history = [add("c1-1", "ok"), add("c1-3", "ok"), add("c1-5", "failed"), incr("ok"), incr("ok")]
    c = check(history, ["c1-1", "c1-3"], 2)
    assert c.valid and (c.attempted, c.acknowledged, c.failed, c.unknown) == (3, 2, 1, 0)
    assert not (c.lost or c.unexpected or c.recovered or c.duplicated)
    assert c.increments == {"attempted": 2, "acknowledged": 2, "final": 2, "lost": 0}


def test_an_acknowledged_add_missing_from_the_disk_is_lost_and_the_history_invalid():
    c = check([add("c1-1", "ok"), add("c1-3", "ok")], ["c1-3"], 0)
    assert c.lost == ["c1-1"] and not c.valid


def test_a_value_nobody_sent_is_unexpected_and_the_history_invalid():
    # two nodes appending at the same offset can leave a torn line behind
    c = check([add("c1-1", "ok")], ["c1-1", "c1-1c2"], 0)
    assert c.unexpected == ["c1-1c2"] and not c.valid


def test_an_unacknowledged_add_that_landed_is_recovered_not_an_error():
    c = check([add("c1-1", "unknown"), add("c1-3", "failed"), add("c1-5", "unknown")], ["c1-1"], 0)
    assert c.recovered == ["c1-1"] and c.valid and c.unknown == 2


def test_a_value_written_twice_is_duplicated():
    c = check([add("c1-1", "ok")], ["c1-1", "c1-1"], 0)
    assert c.duplicated == ["c1-1"] and c.valid


def test_acknowledged_increments_the_counter_does_not_show_are_lost_updates():
    c = check([incr("ok"), incr("ok"), incr("ok"), incr("unknown")], [], 2)
    assert c.increments == {"attempted": 4, "acknowledged": 3, "final": 2, "lost": 1}
    # an unknown increment that landed is not a loss
    assert check([incr("ok"), incr("unknown")], [], 2).increments["lost"] == 0


def test_values_are_listed_in_client_then_sequence_order():
    c = check([add(v, "ok") for v in ("c1-10", "c1-9", "c2-1")], [], 0)
    assert c.lost == ["c1-9", "c1-10", "c2-1"]
