"""Encoding of records the processors build themselves, without per-record validation.

:meth:`corridor.codec.Codec.encode` checks every field of every record so a caller's
mistake gets a message naming the field; that check costs as much as the encoding.
The processors write one audit record per candidate recipient of every alert, from
values that were already decoded and checked, so for those the check is pure overhead.
:class:`TrustedEncoder` writes the same bytes as the codec (its framing, its schema),
and proves it on a sample record when it is built.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import fastavro

from corridor.codec import Codec
from processors.errors import ProcessorError

__all__ = ["TrustedEncoder"]


class TrustedEncoder:
    """Encodes one event exactly as ``codec`` does, trusting the record's shape."""

    def __init__(self, codec: Codec, name: str, sample: Mapping[str, Any]) -> None:
        self._name = name
        self._schema = codec.schema(name)
        expected = codec.encode(name, sample)
        body = self._body(sample)
        if not expected.endswith(body):
            raise ProcessorError(f"cannot encode {name} records like the codec does")
        self._header = expected[: len(expected) - len(body)]

    def _body(self, record: Mapping[str, Any]) -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self._schema, record)
        return out.getvalue()

    def encode(self, record: Mapping[str, Any]) -> bytes:
        return self._header + self._body(record)
