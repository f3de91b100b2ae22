"""Calls into native code that must not keep Ctrl-C from the caller."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

__all__ = ["in_background", "interruptible"]

T = TypeVar("T")


def interruptible(call: Callable[[], T]) -> T:
    """`call()`, run on a thread of its own when called on the main thread, which waits for it
    where Ctrl-C reaches it.

    The ADBC driver manager replaces Python's SIGINT handler with its own while a statement runs
    on the main thread and asks the driver to cancel; SQLite's driver cannot, and the signal is
    lost: a report went on to its end after Ctrl-C. Off the main thread the driver leaves the
    handler alone. After Ctrl-C the call runs on to its end on its daemon thread, which nothing
    waits for."""
    if threading.current_thread() is not threading.main_thread():
        return call()
    (outcome,) = in_background(call)
    return outcome.result()


def in_background(*calls: Callable[[], T]) -> list[Future[T]]:
    """The calls run one after the other on a daemon thread, each outcome a future: unlike a
    thread pool's, which the interpreter waits for at exit, a read still running when Ctrl-C
    stops the caller does not hold the process up."""
    outcomes: list[Future[T]] = [Future() for _ in calls]

    def run() -> None:
        for call, outcome in zip(calls, outcomes, strict=True):
            outcome.set_running_or_notify_cancel()
            try:
                outcome.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - the caller's result() raises it
                outcome.set_exception(exc)

    threading.Thread(target=run, name="in-background", daemon=True).start()
    return outcomes
