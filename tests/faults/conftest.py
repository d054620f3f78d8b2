from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--fault-profile",
        choices=("quick", "full"),
        default="quick",
        help="quick: every AWS call of each operation fails once, the kind of fault "
        "rotating; full: every call with every kind of fault",
    )
