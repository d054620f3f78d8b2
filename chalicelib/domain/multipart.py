"""The `vnd-wharf-s3multipart-presigned-v1` mechanism's arithmetic (docs/multipart.md)."""

from __future__ import annotations

MECHANISM = "vnd-wharf-s3multipart-presigned-v1"
MiB = 1024 * 1024
MIN_PART = 5 * MiB  # S3's floor for every part but the last
MAX_PART = 5 * 1024 * MiB
MAX_PARTS = 10_000
DEFAULT_PART = 16 * MiB


def choose_part_size(size: int, hint: object = None, default: int = DEFAULT_PART) -> int:
    """The part size for a file: the client's hint (or the default), within S3's bounds and
    large enough that the file fits in 10,000 parts."""
    floor = max(MIN_PART, -(-size // MAX_PARTS))
    wanted = hint if isinstance(hint, int) and not isinstance(hint, bool) else default
    return min(max(wanted, floor), MAX_PART)


def part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def expected_size(number: int, size: int, part_size: int) -> int:
    count = part_count(size, part_size)
    return part_size if number < count else size - part_size * (count - 1)


def part_problems(parts: list[tuple[int, int, str]], size: int, part_size: int) -> list[str]:
    """What is wrong with the parts S3 holds for a file of ``size``: gaps, extras, sizes."""
    count = part_count(size, part_size)
    held = {number: part_size_ for number, part_size_, _ in parts}
    problems = []
    missing = [n for n in range(1, count + 1) if n not in held]
    extra = sorted(n for n in held if n > count)
    if missing:
        problems.append(f"parts missing: {_ranges(missing)}")
    if extra:
        problems.append(f"parts beyond the last ({count}): {_ranges(extra)}")
    wrong = [
        n for n in range(1, count + 1) if n in held and held[n] != expected_size(n, size, part_size)
    ]
    if wrong:
        problems.append(f"parts of the wrong size: {_ranges(wrong)}")
    return problems


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1-3, 7"``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
