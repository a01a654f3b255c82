"""Linkage tokens: how two agencies find out they report the same person without
telling anyone who the person is.

A producer normalises identity attributes so that the same person written in different
scripts, orders or date formats comes out identical, then hashes pairs of them with
HMAC-SHA256 under the network linkage key, which the processors never hold. Equal
tokens mean a likely match; a token reveals nothing without the key.

Tokens are built from pairs of attributes (name with date of birth, name with birth
year, name with nationality, document number with issuing country), never from one
common attribute alone, which would link everyone of the same nationality. Each pair
kind and the key's epoch are part of the hashed bytes, so tokens of different kinds or
epochs never collide. During a key rotation producers pass both the current and the
previous key, so alerts made on either side of the switch still link.

Normalisation (see ``normalise_text`` and ``normalise_name``) folds case, removes
diacritics, romanises Cyrillic and Greek, folds spelling variants that romanisations
disagree on (c/k, y/i, j/i, w/v, ph/f, th/t, x/ks, shch/sht, ae/a, oe/o, ue/u, doubled
letters), collapses punctuation and sorts name parts. Names also get tokens of their
key under the first folds, without shch/sht and the vowels, when it differs
(``name_keys``, decision 22). It is a pragmatic match key, not a transliteration
standard: it trades a few false matches, which the date of birth or document then
separates, for catching the same person spelled by different agencies.
"""

# The transliteration tables are made of look-alike letters on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import hmac
import re
import secrets
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum

from corridor.countries import COUNTRY_CODES
from corridor.domain import LinkageToken
from corridor.exceptions import CorridorError

__all__ = [
    "BirthDate",
    "Identity",
    "LinkageError",
    "LinkageKey",
    "TokenKind",
    "name_keys",
    "normalise_date_of_birth",
    "normalise_document_number",
    "normalise_name",
    "normalise_nationality",
    "normalise_text",
    "shares_token",
    "tokens_for",
]

DOMAIN = b"corridor/linkage-token/v1\x00"
KEY_BYTES = 32


class LinkageError(CorridorError):
    """An identity attribute or a linkage key is unusable (the message never shows values)."""


class TokenKind(StrEnum):
    NAME_DOB = "name+date-of-birth"
    NAME_BIRTH_YEAR = "name+birth-year"
    NAME_NATIONALITY = "name+nationality"
    DOCUMENT = "document-number+issuing-country"


_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "ђ": "d", "ѓ": "gj",
    "е": "e", "ё": "e", "є": "ie", "ж": "zh", "з": "z", "ѕ": "dz", "и": "i", "і": "i",
    "ї": "i", "й": "i", "ј": "j", "к": "k", "ќ": "kj", "л": "l", "љ": "lj", "м": "m",
    "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c",
    "у": "u", "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "џ": "dz", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
    "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
    "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",
    "ω": "o",
}  # fmt: skip
_GREEK_DIGRAPHS = {"ου": "ou", "αυ": "av", "ευ": "ev", "γγ": "ng"}
_SPECIAL = {
    "ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ı": "i", "þ": "th",
    "ð": "d", "ħ": "h", "ŧ": "t", "ŀ": "l", "ŋ": "n", "ſ": "s",
}  # fmt: skip
_TRANSLITERATION = str.maketrans(_CYRILLIC | _GREEK | _SPECIAL)
_GREEK_DIGRAPH = re.compile("|".join(_GREEK_DIGRAPHS))
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Folds:
    """Spelling folds, and one pattern that finds where any of them would apply.

    Checking that pattern first saves running every fold once more only to find that
    nothing changes: a name costs a search per word instead of a pass of all folds.
    """

    rules: tuple[tuple[re.Pattern[str], str], ...]
    pending: re.Pattern[str]


#: The spelling folds that names were matched with first; alerts made then carry
#: tokens of names folded this way only.
_FIRST_FOLDS = _Folds(
    rules=(
        (re.compile(r"ph"), "f"),
        (re.compile(r"th"), "t"),
        (re.compile(r"c(?!h)"), "k"),
        (re.compile(r"q"), "k"),
        (re.compile(r"x"), "ks"),
        (re.compile(r"w"), "v"),
        (re.compile(r"[yj]"), "i"),
        (re.compile(r"(.)\1+"), r"\1"),
    ),
    pending=re.compile(r"ph|th|c(?!h)|q|x|w|[yj]|(.)\1"),
)
#: The folds of today (decision 22), applied to what the first folds give: also "shch"
#: (Russian and Ukrainian щ) with "sht" (Bulgarian щ), and the German and Nordic "ae",
#: "oe", "ue" (ä, ö, ü written without the dots) with the bare vowel their
#: accent-stripped spellings already give.
_FOLDS = _Folds(
    rules=(
        (re.compile(r"shch"), "sht"),
        (re.compile(r"([aou])e"), r"\1"),
        *_FIRST_FOLDS.rules,
    ),
    pending=re.compile(r"shch|[aou]e|ph|th|c(?!h)|q|x|w|[yj]|(.)\1"),
)

_DATE_FORMATS = (
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(\d{4})(\d{2})(\d{2})"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), ("d", "m", "y")),
    (re.compile(r"(\d{4})-(\d{1,2})"), ("y", "m")),
    (re.compile(r"(\d{4})"), ("y",)),
)
_MIN_YEAR = 1900


def normalise_text(value: str) -> str:
    """Lower case, Latin letters and digits only, words separated by single spaces."""
    text = value.casefold()
    if not text.isascii():  # plain ASCII has no accents, other scripts or special letters
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = _GREEK_DIGRAPH.sub(lambda m: _GREEK_DIGRAPHS[m.group()], text)
        text = text.translate(_TRANSLITERATION)
    return _NOT_ALNUM.sub(" ", text).strip()


def _fold_word(word: str, folds: _Folds) -> str:
    """Apply the variant folds until none applies, so a folded word folds to itself."""
    while folds.pending.search(word) is not None:
        for pattern, replacement in folds.rules:
            word = pattern.sub(replacement, word)
    return word


def _word_keys(word: str) -> tuple[str, str]:
    """A word under the first folds, and under today's (a search when they add nothing)."""
    first = _fold_word(word, _FIRST_FOLDS)
    return first, _fold_word(first, _FOLDS)


def normalise_name(value: str) -> str:
    """A full name as a match key: normalised, spelling variants folded, parts sorted,
    so that "Popescu, Maria", "MARIA POPESCU" and "Мария Попеску" agree."""
    return name_keys(value)[0]


def name_keys(value: str) -> tuple[str, ...]:
    """The name's match key of today, then, if it differs, the one of the first folds.

    Tokens of both let an alert link with reports made before the folds changed, as
    well as with those made since (decision 22).
    """
    keys = [_word_keys(w) for w in normalise_text(value).split()]
    current = " ".join(sorted(now for _, now in keys))
    first = " ".join(sorted(before for before, _ in keys))
    return (current,) if first == current else (current, first)


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A date of birth known to the year, the month or the day."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def iso(self) -> str:
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    @property
    def complete(self) -> bool:
        return self.day is not None


def normalise_date_of_birth(value: str | date, *, today: date | None = None) -> BirthDate:
    """``YYYY-MM-DD``, ``YYYYMMDD``, ``DD.MM.YYYY``, ``DD/MM/YYYY``, ``DD-MM-YYYY``
    (day first, the European order), ``YYYY-MM`` or ``YYYY``."""
    latest = (today or date.today()).year
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return BirthDate(value.year, value.month, value.day)
    text = value.strip()
    for pattern, order in _DATE_FORMATS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
        year, month, day = parts["y"], parts.get("m"), parts.get("d")
        if not _MIN_YEAR <= year <= latest:
            break
        try:
            date(year, month or 1, day or 1)
        except ValueError:
            break
        return BirthDate(year, month, day)
    raise LinkageError("date_of_birth: not a recognised or plausible date")


def normalise_nationality(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRY_CODES:
        raise LinkageError("nationality: not an ISO 3166-1 alpha-2 code")
    return code


def normalise_document_number(value: str) -> str:
    """Upper-case letters and digits only: "ab 12-345" and "AB12345" agree."""
    return re.sub(r"[^A-Z0-9]", "", normalise_text(value).upper())


@dataclass(frozen=True, slots=True, repr=False)
class Identity:
    """The attributes a producer knows about a person; any may be missing."""

    name: str | None = None
    date_of_birth: str | date | None = None
    nationality: str | None = None
    document_number: str | None = None
    document_country: str | None = None

    def __repr__(self) -> str:
        known = [f.name for f in fields(self) if getattr(self, f.name) is not None]
        return f"Identity(<redacted: {', '.join(known) or 'nothing'} known>)"


class LinkageKey:
    """The network's secret for one epoch. Make one with :meth:`generate`."""

    __slots__ = ("_secret", "epoch")

    def __init__(self, secret: bytes, epoch: int) -> None:
        if not isinstance(secret, bytes) or len(secret) != KEY_BYTES:
            raise LinkageError(f"a linkage key is exactly {KEY_BYTES} bytes")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise LinkageError("a linkage key epoch is a non-negative integer")
        self._secret = secret
        self.epoch = epoch

    @classmethod
    def generate(cls, epoch: int) -> LinkageKey:
        return cls(secrets.token_bytes(KEY_BYTES), epoch)

    def secret_bytes(self) -> bytes:
        """The raw secret, for storing it in the producers' key store."""
        return self._secret

    def token(self, kind: TokenKind, *values: str) -> LinkageToken:
        """The token of already-normalised ``values``; :func:`tokens_for` is the usual way."""
        message = [DOMAIN, _lp(kind.value), struct.pack(">Q", self.epoch)]
        message.extend(_lp(v) for v in values)
        digest = hmac.digest(self._secret, b"".join(message), "sha256")
        return LinkageToken(self.epoch, digest)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LinkageKey):
            return NotImplemented
        return self.epoch == other.epoch and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.epoch)

    def __repr__(self) -> str:
        return f"LinkageKey(epoch={self.epoch})"


def _lp(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


def _pairs(identity: Identity) -> list[tuple[TokenKind, tuple[str, ...]]]:
    names = name_keys(identity.name) if identity.name else ()
    born = (
        normalise_date_of_birth(identity.date_of_birth)
        if identity.date_of_birth not in (None, "")
        else None
    )
    nationality = normalise_nationality(identity.nationality) if identity.nationality else None
    document = normalise_document_number(identity.document_number or "")
    pairs: list[tuple[TokenKind, tuple[str, ...]]] = []
    for name in filter(None, names):
        if born is not None and born.complete:
            pairs.append((TokenKind.NAME_DOB, (name, born.iso)))
        if born is not None:
            pairs.append((TokenKind.NAME_BIRTH_YEAR, (name, f"{born.year:04d}")))
        if nationality:
            pairs.append((TokenKind.NAME_NATIONALITY, (name, nationality)))
    if document and identity.document_country:
        issuer = normalise_nationality(identity.document_country)
        pairs.append((TokenKind.DOCUMENT, (document, issuer)))
    return pairs


def tokens_for(
    identity: Identity, key: LinkageKey | Iterable[LinkageKey]
) -> tuple[LinkageToken, ...]:
    """Every token ``identity`` supports, under each key given (current and previous
    epoch during a rotation), in a fixed order: by key as given, then by kind."""
    keys = [key] if isinstance(key, LinkageKey) else list(key)
    if not keys:
        raise LinkageError("tokens_for needs at least one linkage key")
    epochs = [k.epoch for k in keys]
    if len(set(epochs)) != len(epochs):
        raise LinkageError("tokens_for got two linkage keys of the same epoch")
    pairs = _pairs(identity)
    return tuple(k.token(kind, *values) for k in keys for kind, values in pairs)


def shares_token(first: Iterable[LinkageToken], second: Iterable[LinkageToken]) -> bool:
    """Whether two alerts carry a common token (same epoch and value)."""
    return not set(first).isdisjoint(second)
