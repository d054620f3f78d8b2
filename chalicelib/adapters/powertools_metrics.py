"""The ``Metrics`` port on Powertools: one CloudWatch EMF line per data point."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from ..observability import logger


class PowertoolsMetrics:
    """Each data point is written at once as its own EMF document (``single_metric``)
    rather than batched by ``Metrics.log_metrics``: most carry their own dimensions (a rule
    code, a route), and the local stack serves requests on threads, where a shared batch
    flushed by one request would carry another's points."""

    def __init__(self, namespace: str, service: str = "wharf") -> None:
        self._namespace = namespace
        self._defaults = {"service": service}

    def emit(
        self,
        name: str,
        value: float = 1,
        *,
        unit: str = "Count",
        dimensions: Mapping[str, str] | None = None,
    ) -> None:
        try:
            with single_metric(
                name=name,
                unit=MetricUnit(unit),
                value=value,
                namespace=self._namespace,
                default_dimensions=self._defaults,
            ) as metric:
                for key, dimension in (dimensions or {}).items():
                    metric.add_dimension(name=key, value=dimension)
        except Exception:
            logger.exception("could not emit a metric", extra={"metric": name})
