"""A circuit breaker per backing service, per process (one Lambda container).

A service that accepts connections and never answers costs every call its whole
timeout. After `failures` consecutive connection failures or timeouts the breaker
opens: for `cooldown` seconds calls fail at once with CircuitOpen (a ConnectionError:
the API answers 503 with Retry-After = the seconds left). Then the next call is let
through as a trial (half-open) while every other call still fails at once; its outcome
closes the breaker or opens it for another cool-down. A trial that reports nothing
within a cool-down (its caller never reached the service) is given to the next caller.

What counts is the caller's to say (`counts(exc)`): a refused or timed-out connection
does, an answer the service gave (a lock wait timeout, a business error, a 4xx) does
not, and resets the count like a success: the service is there.

One way for every service: `with breaker.call(counts): ...` around one call to it, or
`guard_methods(client, breaker, names, counts, unavailable)` on a client's instance.
Breakers live in a process-wide registry (`for_service`, by service and address); the
clock is injectable for tests.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import config

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitOpen(ConnectionError):
    """The service failed repeatedly just now; calls fail at once until `retry_after`."""

    def __init__(self, service: str, retry_after: float) -> None:
        self.service = service
        self.retry_after = retry_after
        super().__init__(f"{service} is unavailable (circuit open, retry in {retry_after:.1f}s)")


class CircuitBreaker:
    def __init__(
        self,
        service: str,
        *,
        failures: int = 3,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert failures >= 1 and cooldown > 0
        self.service = service
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None  # set while open or half-open
        self._trial_since: float | None = None  # a trial call is under way since
        self.inside = threading.local()  # guard_methods: a call within a call passes through

    @property
    def state(self) -> str:
        with self._lock:
            return self._state(self._clock())

    def _state(self, now: float) -> str:
        if self._opened_at is None:
            return CLOSED
        if now - self._opened_at < self.cooldown:
            return OPEN
        return HALF_OPEN

    def retry_after(self) -> float:
        """Seconds until a trial call will be let through (0 when closed)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(self._opened_at + self.cooldown - self._clock(), 0.0)

    def before(self) -> None:
        """Let a call through, or raise CircuitOpen. A call let through must report back
        with `succeeded()` or `failed()`."""
        with self._lock:
            now = self._clock()
            state = self._state(now)
            if state == CLOSED:
                return
            assert self._opened_at is not None
            if state == HALF_OPEN and (
                self._trial_since is None or now - self._trial_since >= self.cooldown
            ):
                self._trial_since = now  # this call is the trial
                return
            left = self._opened_at + self.cooldown - now
            raise CircuitOpen(self.service, left if left > 0 else self.cooldown)

    def succeeded(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = self._trial_since = None

    def failed(self) -> None:
        with self._lock:
            now = self._clock()
            self._consecutive += 1
            if self._trial_since is not None or self._consecutive >= self.failures:
                self._opened_at = now  # (re)open for a whole cool-down
                self._trial_since = None

    @contextmanager
    def call(self, counts: Callable[[BaseException], bool]) -> Iterator[None]:
        """`with breaker.call(counts):` around one call to the service."""
        self.before()
        try:
            yield
        except BaseException as exc:
            if counts(exc):
                self.failed()
            else:
                self.succeeded()
            raise
        self.succeeded()

    def reset(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = self._trial_since = None


def retry_after_header(exc: BaseException, default: int) -> str:
    """Retry-After for a 503: an open breaker's seconds left (rounded up), else default."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, CircuitOpen):
            return str(max(1, math.ceil(seen.retry_after)))
        seen = seen.__cause__
    return str(default)


def guard_methods(
    client: Any,
    breaker: CircuitBreaker,
    methods: tuple[str, ...],
    counts: Callable[[BaseException], bool],
    unavailable: Callable[[str], BaseException],
) -> Any:
    """Put each named method of `client` (on the instance) behind the breaker. While it is
    open a call raises `unavailable(message)` (the client's own "service down" error, which
    its callers already handle) from the CircuitOpen."""
    for name in methods:
        # An instance attribute (another wrapper, e.g. tracing's) is kept; a class method is
        # looked up at each call, so a later patch of the class (tracing's) still applies.
        wrapped = vars(client).get(name)

        def guarded(*args: Any, _name: str = name, _wrapped: Any = wrapped, **kwargs: Any) -> Any:
            original = _wrapped or getattr(type(client), _name).__get__(client)
            if getattr(breaker.inside, "call", False):  # e.g. close_trade asking query_trade
                return original(*args, **kwargs)
            try:
                breaker.before()
            except CircuitOpen as exc:
                raise unavailable(str(exc)) from exc
            breaker.inside.call = True
            try:
                result = original(*args, **kwargs)
            except BaseException as exc:
                if counts(exc):
                    breaker.failed()
                else:
                    breaker.succeeded()
                raise
            finally:
                breaker.inside.call = False
            breaker.succeeded()
            return result

        setattr(client, name, functools.wraps(getattr(client, name))(guarded))
    return client


# --- the process's breakers ------------------------------------------------------------

_breakers: dict[tuple[str, str], CircuitBreaker] = {}
_registry_lock = threading.Lock()


def for_service(service: str, target: str) -> CircuitBreaker:
    """The process's breaker for `service` at `target` (its address: two databases are two
    services), made on first use. BREAKER_FAILURES and BREAKER_COOLDOWN_SECONDS are read
    at each use; a change (tests) replaces the breaker."""
    limits = config.limits()
    failures, cooldown = limits.breaker_failures, limits.breaker_cooldown
    key = (service, target)
    found = _breakers.get(key)
    if found is not None and (found.failures, found.cooldown) == (failures, cooldown):
        return found
    with _registry_lock:
        found = _breakers.get(key)
        if found is None or (found.failures, found.cooldown) != (failures, cooldown):
            found = _breakers[key] = CircuitBreaker(service, failures=failures, cooldown=cooldown)
        return found


def reset_all() -> None:
    """Close every breaker (tests start each from a clean state). Clients keep theirs."""
    with _registry_lock:
        for circuit in _breakers.values():
            circuit.reset()


def existing(service: str, target: str) -> CircuitBreaker | None:
    """The breaker for `service` at `target` if this process has made it."""
    return _breakers.get((service, target))
