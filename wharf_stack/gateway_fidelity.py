"""Close the gap between chalice's local gateway and API Gateway that wharf relies on.

API Gateway routes a request to the most specific resource and falls back to a
greedy ``{name+}`` resource (wharf's catch-all, ``/{proxy+}``) when nothing more
specific matches. chalice local treats ``{proxy+}`` as one ordinary path segment,
so a deep unknown path gets the gateway's own 403 (which echoes the request's
``Authorization`` header) instead of wharf's 404. Applied by the local stack and by
the test suite, like ``moto_fidelity``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse


def _is_greedy(route: str) -> bool:
    last = route.rsplit("/", 1)[-1]
    return last.startswith("{") and last.endswith("+}")


def greedy_route_matcher() -> type:
    from chalice.local import MatchResult, RouteMatcher

    class GreedyRouteMatcher(RouteMatcher):
        """Concrete and ``{param}`` routes first; then the greedy route with the longest
        prefix takes the rest of the path (one segment or more), as API Gateway does."""

        def __init__(self, route_urls: list[str]) -> None:
            super().__init__([r for r in route_urls if not _is_greedy(r)])
            self._greedy = sorted((r for r in route_urls if _is_greedy(r)), key=len, reverse=True)

        def match_route(self, url: str) -> Any:
            try:
                return super().match_route(url)
            except ValueError:
                parsed = urlparse(url)
                path = parsed.path
                for route in self._greedy:
                    prefix, last = route.rsplit("/", 1)
                    rest = path[len(prefix) + 1 :]
                    if path.startswith(prefix + "/") and rest.strip("/"):
                        query = parse_qs(parsed.query, keep_blank_values=True)
                        return MatchResult(route, {last[1:-2]: rest}, query)
                raise

    return GreedyRouteMatcher


def apply() -> None:
    """Install the greedy matcher for every local gateway created from now on (idempotent)."""
    import chalice.local

    if getattr(chalice.local.RouteMatcher, "_wharf_greedy", False):
        return
    matcher = greedy_route_matcher()
    matcher._wharf_greedy = True  # type: ignore[attr-defined]
    chalice.local.RouteMatcher = matcher  # type: ignore[misc]
