"""Errors of the event codec, the schema-compatibility check and the record conversions.

Messages name the event, the field path, the fingerprint or the schema id at fault,
never a value: values may be a victim's name or a body field.
"""

from __future__ import annotations

from corridor.exceptions import CorridorError


class CodecError(CorridorError):
    """Root of the codec's errors."""


class CodecConfigError(CodecError):
    """The codec was configured with schemas or registry ids that cannot work together."""


class EncodeError(CodecError):
    """A record does not match its event schema; the message names the field path."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class DecodeError(CodecError):
    """Bytes that are not a well-formed, canonical, size-capped event of ours."""


class UnknownSchemaError(DecodeError):
    """The framing names a writer schema this codec does not know.

    ``fingerprint`` (single-object framing) or ``schema_id`` (Confluent framing) says
    which; a newer producer than this reader is the usual cause.
    """

    def __init__(
        self, message: str, *, fingerprint: bytes | None = None, schema_id: int | None = None
    ) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint
        self.schema_id = schema_id


class UnexpectedEventError(DecodeError):
    """Well-formed bytes of another event than the caller asked for."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class IncompatibleSchemaError(CodecError):
    """A reader schema cannot read what a writer schema wrote; ``problems`` says why."""

    def __init__(self, message: str, *, problems: tuple[str, ...]) -> None:
        super().__init__(message)
        self.problems = problems


class RecordError(CodecError):
    """An Avro record cannot become a domain object, or the reverse; names the field."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path
