"""Metric children looked up once per label set: ``labels()`` costs microseconds per call.

Label sets are bounded (corridors, agencies, agreements, reason codes), so the cache is
as bounded as the metric itself.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Children"]


class Children:
    """``children(*labels)`` is ``metric.labels(*labels)``, remembered."""

    __slots__ = ("_cache", "_metric")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self._cache.get(labels)
        if child is None:
            child = self._cache[labels] = self._metric.labels(*labels)
        return child
