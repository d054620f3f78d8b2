"""The FilenameRegistry contract, on the fake and on DynamoDB."""

from __future__ import annotations

import threading

from tests.adapters.conftest import NOW

WHEEL = "acme_tools-1.0-py3-none-any.whl"
SAME = "acme_tools-1.0.0-py3-none-any.whl"  # one file to an installer


def test_one_claim_per_file_whatever_the_spelling(backend):
    names = backend.stores.filenames
    assert names.reserve_one(WHEEL, "legacy:x", "acme-tools", "1.0", "x", NOW) is None
    found = names.reserve_one(SAME, "legacy:y", "acme-tools", "1.0.0", "y", NOW)
    assert found is not None and found.holder == "legacy:x" and found.sha256 == "x"
    assert names.taken(SAME) and names.holders([WHEEL, "other.whl"]) == {
        WHEEL: "legacy:x",
        "other.whl": None,
    }


def test_only_the_holder_releases_and_never_a_published_claim(backend):
    names = backend.stores.filenames
    names.reserve_one(WHEEL, "legacy:x", "acme-tools", "1.0", "x", NOW)
    names.release("legacy:someone-else", [WHEEL])
    assert names.taken(WHEEL)
    names.mark_published("legacy:someone-else", [WHEEL], NOW)
    assert not names.claim(WHEEL).published
    names.mark_published("legacy:x", [WHEEL], NOW)
    names.release("legacy:x", [WHEEL])
    assert names.claim(WHEEL).published
    names.reserve_one("acme_tools-2.0.tar.gz", "legacy:z", "acme-tools", "2.0", "z", NOW)
    names.release("legacy:z", ["acme_tools-2.0.tar.gz"])
    assert not names.taken("acme_tools-2.0.tar.gz")


def test_racing_claims_have_one_winner(backend):
    names = backend.stores.filenames
    won = []
    barrier = threading.Barrier(6)

    def claim(n: int) -> None:
        barrier.wait()
        if names.reserve_one(WHEEL, f"legacy:{n}", "acme-tools", "1.0", str(n), NOW) is None:
            won.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and names.claim(WHEEL).holder == f"legacy:{won[0]}"
