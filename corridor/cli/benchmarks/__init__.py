"""``corridor bench``: the secure pipeline measured against its cryptographic limit.

Part of the CLI (the composition root), because it drives every component on one
broker: the bound (:mod:`.bound`), plain Kafka (:mod:`.baseline`), an empty faust
agent (:mod:`.faust_probe`), the publisher (:mod:`.publishing`), processor workers
(:mod:`.processing`), the consumer (:mod:`.consuming`) and end-to-end latency
(:mod:`.latency`), run in order by :mod:`.suite`. docs/performance.md reads the results.
"""

from __future__ import annotations

from corridor.cli.benchmarks.suite import FULL, QUICK, Scale, run_suite
from corridor.cli.benchmarks.table import render

__all__ = ["FULL", "QUICK", "Scale", "render", "run_suite"]
