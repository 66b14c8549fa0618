"""The per-connection token bucket: the verdicts a client's messages get, on a clock the test moves."""

from gallery.websocket_guards.limits import MessageRate, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def verdicts(rate: MessageRate, clock: Clock, *, count: int, every: float) -> list[Verdict]:
    judged = []
    for _ in range(count):
        judged.append(rate.judge())
        clock.now += every
    return judged


def test_a_burst_is_admitted_and_the_first_message_over_it_is_a_warning():
    clock = Clock()
    rate = MessageRate(per_second=50, burst=100, patience=100, clock=clock)

    judged = verdicts(rate, clock, count=102, every=0.0)

    assert judged[:100] == [Verdict.ADMIT] * 100
    assert judged[100:] == [Verdict.WARN, Verdict.DROP]


def test_a_flood_is_closed_although_the_refilling_bucket_admits_a_message_now_and_then():
    clock = Clock()
    rate = MessageRate(per_second=50, burst=100, patience=100, clock=clock)

    # 1,000 messages a second: a token comes back every 20 messages, which must not forgive the flood.
    judged = verdicts(rate, clock, count=400, every=0.001)

    assert Verdict.CLOSE in judged
    assert judged.index(Verdict.CLOSE) < 100 + 1 + 100 + 20
    assert judged.count(Verdict.WARN) == 1


def test_a_client_that_slows_down_until_its_burst_is_back_starts_over():
    clock = Clock()
    rate = MessageRate(per_second=50, burst=100, patience=100, clock=clock)
    verdicts(rate, clock, count=150, every=0.0)

    clock.now += 2.0
    judged = verdicts(rate, clock, count=150, every=0.0)

    assert judged[:100] == [Verdict.ADMIT] * 100
    assert judged[100] is Verdict.WARN
    assert Verdict.CLOSE not in judged
