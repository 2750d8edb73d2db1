from lab.probe import Sample, outage


def samples(spec: str, step: float = 0.1) -> list[Sample]:
    """'11..22' -> ha1, ha1, failed, failed, ha2, ha2 at t = 0, 0.1, ..."""
    return [Sample(round(i * step, 3), None if c == "." else f"ha{c}") for i, c in enumerate(spec)]


def test_outage_is_first_good_after_the_fault_minus_last_good_before():
    assert abs(outage(samples("111...22"), since=0.25) - 0.4) < 1e-9


def test_answers_just_after_the_fault_do_not_hide_the_outage():
    # the old node still answers for a moment after the fault was injected
    assert abs(outage(samples("1111....2"), since=0.05) - 0.5) < 1e-9


def test_no_failed_request_is_no_outage_and_no_return_is_none():
    assert outage(samples("111222"), since=0.2) == 0.0
    assert outage(samples("111...."), since=0.2) is None
