"""Parallel work that stops at once when the user asks (Ctrl-C, or SIGTERM from a CI runner).

concurrent.futures is not used on purpose: it joins its worker threads when the
interpreter exits, so Ctrl-C would wait for every request in flight (a 64 MiB part on
a slow link takes minutes). These workers are daemon threads, dropped at exit; S3
discards a part whose PUT never finished, and the resume sends it again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Stopped(Exception):
    """The user asked to stop; raised in worker threads that notice it."""


class Stop:
    """Set once, by the main thread, when the user asks to stop; long loops check it."""

    def __init__(self) -> None:
        self._flag = threading.Event()  # used as a flag only, never waited on

    def set(self) -> None:
        self._flag.set()

    def is_set(self) -> bool:
        return self._flag.is_set()

    def check(self) -> None:
        if self._flag.is_set():
            raise Stopped()

    def sleep(self, seconds: float) -> None:
        """Sleep in short steps, raising ``Stopped`` soon after the flag is set."""
        deadline = time.monotonic() + seconds
        while True:
            self.check()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def run_all(fn: Callable[[T], R], items: Iterable[T], *, workers: int, stop: Stop) -> list[R]:
    """``fn(item)`` for every item on at most ``workers`` daemon threads; results in order.

    The first exception is raised here at once and no further item is started; calls
    already running end on their own. Waiting here is interruptible by Ctrl-C.
    """
    todo: queue.SimpleQueue[tuple[int, T]] = queue.SimpleQueue()
    count = 0
    for count, item in enumerate(items, start=1):
        todo.put((count - 1, item))
    done: queue.SimpleQueue[tuple[int, R] | _Failed] = queue.SimpleQueue()
    failed = threading.Event()  # a flag, never waited on

    def work() -> None:
        while not failed.is_set():
            if stop.is_set():
                done.put(_Failed(Stopped()))
                return
            try:
                index, item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((index, fn(item)))
            except BaseException as error:  # handed to the waiting thread, which raises it
                done.put(_Failed(error))
                return

    for _ in range(min(max(workers, 1), count)):
        threading.Thread(target=work, daemon=True).start()
    results: dict[int, R] = {}
    for _ in range(count):
        message = done.get()
        if isinstance(message, _Failed):
            failed.set()
            raise message.error
        index, value = message
        results[index] = value
    return [results[index] for index in range(count)]
