"""The circuit breaker on its own: a clock the test moves, no I/O."""

from __future__ import annotations

import threading

import pytest

from chalicelib.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    CircuitBreaker,
    CircuitOpen,
    guard_methods,
    retry_after_header,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Down(ConnectionError):
    """What a client raises when its service does not answer."""


class Refused(ValueError):
    """An answer the service gave (a 4xx, a lock wait): it is there."""


def counts(exc: BaseException) -> bool:
    return isinstance(exc, Down)


def fail(circuit: CircuitBreaker, exc: BaseException) -> None:
    with pytest.raises(type(exc)), circuit.call(counts):
        raise exc


def ok(circuit: CircuitBreaker) -> None:
    with circuit.call(counts):
        pass


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def circuit(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("database", failures=3, cooldown=10.0, clock=clock)


def test_it_opens_after_consecutive_failures_and_then_fails_at_once(
    circuit: CircuitBreaker, clock: Clock
) -> None:
    fail(circuit, Down())
    fail(circuit, Down())
    assert circuit.state == CLOSED

    fail(circuit, Down())
    clock.now += 4

    assert circuit.state == OPEN
    with pytest.raises(CircuitOpen) as raised:
        circuit.before()
    assert raised.value.retry_after == 6.0
    assert raised.value.service == "database"
    assert isinstance(raised.value, ConnectionError)  # is_unavailable: a 503


def test_a_success_or_an_answer_resets_the_count(circuit: CircuitBreaker) -> None:
    fail(circuit, Down())
    fail(circuit, Down())
    ok(circuit)
    fail(circuit, Down())
    fail(circuit, Down())
    fail(circuit, Refused())  # the service answered: not a failure of the connection
    fail(circuit, Down())
    fail(circuit, Down())

    assert circuit.state == CLOSED


def test_after_the_cooldown_one_trial_call_closes_it(circuit: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        fail(circuit, Down())
    clock.now += 10

    assert circuit.state == HALF_OPEN
    circuit.before()  # the trial
    with pytest.raises(CircuitOpen):
        circuit.before()  # everyone else still fails at once while it runs
    circuit.succeeded()

    assert circuit.state == CLOSED
    ok(circuit)


def test_a_failed_trial_opens_it_for_another_cooldown(
    circuit: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        fail(circuit, Down())
    clock.now += 12

    fail(circuit, Down())  # one failure is enough in half-open

    assert circuit.state == OPEN
    assert circuit.retry_after() == 10.0
    clock.now += 10
    assert circuit.state == HALF_OPEN


def test_a_trial_that_never_reports_is_given_to_another_caller_after_a_cooldown(
    circuit: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        fail(circuit, Down())
    clock.now += 10
    circuit.before()  # a trial whose caller never reaches the service

    clock.now += 9.9
    with pytest.raises(CircuitOpen):
        circuit.before()
    clock.now += 0.1
    circuit.before()  # the next trial
    circuit.succeeded()

    assert circuit.state == CLOSED


def test_retry_after_is_the_seconds_left_rounded_up() -> None:
    assert retry_after_header(CircuitOpen("redis", 2.2), 5) == "3"
    assert retry_after_header(CircuitOpen("redis", 0.01), 5) == "1"
    try:
        raise Down("storage down") from CircuitOpen("storage", 7.5)
    except Down as exc:
        assert retry_after_header(exc, 5) == "8"
    assert retry_after_header(Down(), 5) == "5"


class Client:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down = False

    def query(self, name: str) -> str:
        self.calls.append(name)
        if self.down:
            raise Down(name)
        return name.upper()

    def close(self, name: str) -> str:
        return "closed " + self.query(name)  # a guarded method calling another

    def local(self) -> str:
        return "no I/O"


def test_guarded_methods_fail_at_once_with_the_clients_own_error(clock: Clock) -> None:
    circuit = CircuitBreaker("alipay", failures=2, cooldown=5.0, clock=clock)
    client = guard_methods(Client(), circuit, ("query", "close"), counts, unavailable=Down)
    client.down = True
    for _ in range(2):
        with pytest.raises(Down):
            client.query("a")

    with pytest.raises(Down) as raised:
        client.close("b")

    assert isinstance(raised.value.__cause__, CircuitOpen)
    assert client.calls == ["a", "a"]  # the third call never reached the service
    assert client.local() == "no I/O"


def test_a_guarded_call_within_a_guarded_call_is_one_call(clock: Clock) -> None:
    circuit = CircuitBreaker("alipay", failures=1, cooldown=5.0, clock=clock)
    client = guard_methods(Client(), circuit, ("query", "close"), counts, unavailable=Down)
    client.down = True
    with pytest.raises(Down):
        client.query("a")
    clock.now += 5
    client.down = False

    assert client.close("b") == "closed B"  # the trial, including its inner query
    assert circuit.state == CLOSED


def test_only_one_of_many_threads_gets_the_trial(circuit: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        fail(circuit, Down())
    clock.now += 10
    let_through: list[int] = []
    barrier = threading.Barrier(8)

    def caller(n: int) -> None:
        barrier.wait()
        try:
            circuit.before()
        except CircuitOpen:
            return
        let_through.append(n)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(let_through) == 1
