"""The file's digests are computed on a thread of their own: the same digests as inline,
in order, with the bytes waiting for that thread bounded whatever the file's size."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

import pytest

from chalicelib.domain.hashes import BackgroundHasher, MultiHasher


def chunks_of(data: bytes, seed: int) -> list[bytes | memoryview | bytearray]:
    """``data`` cut as readers cut it: tiny reads, header-sized ones, whole windows, as
    bytes, bytearrays and memoryviews."""
    rng = random.Random(seed)
    out: list[bytes | memoryview | bytearray] = []
    position = 0
    while position < len(data):
        size = rng.choice([1, 30, 4096, 30_000, BackgroundHasher.BATCH, 3 * 1024 * 1024])
        piece = data[position : position + size]
        out.append(rng.choice([bytes, bytearray, memoryview])(piece))
        position += len(piece)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_digests_match_inline_hashing_of_the_same_bytes(seed: int) -> None:
    data = os.urandom(9 * 1024 * 1024 + 17)
    with BackgroundHasher(MultiHasher({"sha256", "blake2b"})) as hasher:
        for chunk in chunks_of(data, seed):
            hasher.update(chunk)
    assert hasher.size == len(data)
    assert hasher.hexdigests() == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake2b": hashlib.blake2b(data).hexdigest(),
    }
    assert hasher.mismatches({"sha256": hashlib.sha256(data).hexdigest()}) == []
    assert hasher.mismatches({"sha256": "0" * 64}) == ["sha256"]


def test_no_bytes_gives_the_digest_of_nothing() -> None:
    with BackgroundHasher(MultiHasher({"sha256"})) as hasher:
        pass
    assert hasher.size == 0
    assert hasher.hexdigests() == {"sha256": hashlib.sha256(b"").hexdigest()}


class SlowHasher(MultiHasher):
    """Hashes only when let, and records the most bytes ever handed over and not hashed."""

    def __init__(self, owner: list[BackgroundHasher]) -> None:
        super().__init__({"sha256"})
        self.go = threading.Semaphore(0)
        self.owner = owner
        self.most_waiting = 0

    def update(self, chunk: bytes | memoryview | bytearray) -> None:
        self.go.acquire()
        self.most_waiting = max(self.most_waiting, self.owner[0]._pending)
        super().update(chunk)


def test_the_caller_waits_rather_than_piling_up_bytes() -> None:
    """A producer faster than the digests blocks at ``PENDING`` bytes: memory stays flat."""
    owner: list[BackgroundHasher] = []
    slow = SlowHasher(owner)
    background = BackgroundHasher(slow)
    owner.append(background)
    chunk = os.urandom(BackgroundHasher.BATCH)
    count = 3 * BackgroundHasher.PENDING // len(chunk)
    fed = threading.Event()

    def produce() -> None:
        with background:
            for _ in range(count):
                background.update(chunk)
            fed.set()

    producer = threading.Thread(target=produce, daemon=True)  # never holds up the run
    producer.start()
    # Sleeps, not timed waits on the thread: those hang under libfaketime (the suite runs
    # on another date too).
    time.sleep(0.5)
    assert not fed.is_set()  # blocked: the hasher has taken nothing yet
    assert background._pending <= BackgroundHasher.PENDING
    for _ in range(count + 1):
        slow.go.release()
    deadline = time.monotonic() + 30
    while producer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fed.is_set()
    producer.join()
    assert slow.most_waiting <= BackgroundHasher.PENDING
    assert background.hexdigests()["sha256"] == hashlib.sha256(chunk * count).hexdigest()


def test_an_error_in_the_block_still_stops_the_thread() -> None:
    with pytest.raises(RuntimeError), BackgroundHasher(MultiHasher({"sha256"})) as hasher:
        hasher.update(b"x" * 10)
        raise RuntimeError("the inspection failed")
    assert not hasher._thread.is_alive()


def test_a_chunk_larger_than_the_bound_goes_through_alone() -> None:
    big = os.urandom(BackgroundHasher.PENDING + 1)
    with BackgroundHasher(MultiHasher({"sha256"})) as hasher:
        hasher.update(b"head")
        hasher.update(big)
        hasher.update(big)
    assert hasher.hexdigests()["sha256"] == hashlib.sha256(b"head" + big + big).hexdigest()


class FailingHasher(MultiHasher):
    """Fails on its second chunk, as a hasher out of memory would."""

    def __init__(self) -> None:
        super().__init__({"sha256"})
        self.chunks = 0

    def update(self, chunk: bytes | memoryview | bytearray) -> None:
        self.chunks += 1
        if self.chunks == 2:
            raise MemoryError("no room")
        super().update(chunk)


def test_a_failure_of_the_digests_is_raised_not_turned_into_a_mismatch() -> None:
    """Digests of part of a file would refuse it for good as a hash mismatch; the caller
    gets the failure instead (a validator retries it)."""
    chunk = os.urandom(BackgroundHasher.BATCH)
    failing = BackgroundHasher(FailingHasher())
    with pytest.raises(RuntimeError, match="digests failed") as raised, failing as hasher:
        hasher.update(chunk)
        hasher.update(chunk)
    assert isinstance(raised.value.__cause__, MemoryError)
    assert not hasher._thread.is_alive()


def test_a_failure_while_the_caller_waits_for_room_ends_the_wait() -> None:
    """More than ``PENDING`` bytes handed over after the thread failed: no hang."""
    chunk = os.urandom(BackgroundHasher.BATCH)
    failing = BackgroundHasher(FailingHasher())
    with pytest.raises(RuntimeError, match="digests failed"), failing as hasher:
        for _ in range(3 * BackgroundHasher.PENDING // len(chunk)):
            hasher.update(chunk)
    assert not hasher._thread.is_alive()
