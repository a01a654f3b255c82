"""Fetch Apache Kafka's jars from Maven Central into a git-ignored cache, once.

The broker is the real Apache Kafka: ``infra/kafka/pom.xml`` pins its version and
Maven copies it with its dependencies. A marker file makes the step idempotent, so a
half-finished fetch is redone rather than trusted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from corridor.infra.errors import FetchError, ToolMissingError

COMPLETE_MARKER = ".complete"


@dataclass(frozen=True, slots=True)
class FetchResult:
    libs: Path
    fetched: bool
    seconds: float


def kafka_version(pom: Path) -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom.read_text(encoding="utf-8"))
    if match is None:
        raise FetchError(f"{pom} does not pin <kafka.version>")
    return match.group(1).strip()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        hint = {"java": "install a Java 17+ JDK", "mvn": "install Apache Maven"}.get(name, "")
        raise ToolMissingError(f"'{name}' was not found on PATH: {hint}".rstrip(": "))
    return path


def ensure_kafka_jars(pom: Path, cache_dir: Path, *, timeout: float = 900.0) -> FetchResult:
    """Copy the pinned Kafka and its dependencies into ``cache_dir/kafka-<version>/libs``."""
    version = kafka_version(pom)
    libs = cache_dir / f"kafka-{version}" / "libs"
    if (libs / COMPLETE_MARKER).exists():
        return FetchResult(libs=libs, fetched=False, seconds=0.0)
    mvn = require_tool("mvn")
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FetchError(
            f"fetching Kafka {version} through Maven took over {timeout:.0f}s"
        ) from exc
    if proc.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise FetchError(
            f"Maven could not fetch Kafka {version} (exit {proc.returncode}): " + " | ".join(last)
        )
    (libs / COMPLETE_MARKER).write_text(version + "\n", encoding="utf-8")
    return FetchResult(libs=libs, fetched=True, seconds=time.monotonic() - started)
