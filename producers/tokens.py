"""Linkage tokens of a body's person, made under the network linkage keys.

Each name variant (full name and every alias) is paired with the birth date and each
nationality, and each document with its issuing country, so an alert links with
another agency's report of the same person whichever of these that agency knew. The
tokens are keyed hashes: the processors compare them without learning who the person
is, and never hold the keys. The number of tokens per alert is capped so a person with
many aliases cannot blow up the clear metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from corridor.domain import LinkageToken
from corridor.linkage import Identity, LinkageKey, tokens_for

__all__ = ["MAX_TOKENS", "linkage_tokens"]

MAX_TOKENS = 32


def linkage_tokens(
    identities: Iterable[Identity], keys: Sequence[LinkageKey]
) -> tuple[LinkageToken, ...]:
    """Distinct tokens of ``identities`` under ``keys`` (newest epoch first), in a fixed
    order, at most :data:`MAX_TOKENS`. No keys, no tokens.

    Raises :class:`LinkageError` (whose message names the attribute, not its value)
    when an attribute cannot be normalised.
    """
    if not keys:
        return ()
    found: dict[LinkageToken, None] = {}
    for identity in identities:
        for token in tokens_for(identity, keys):
            found.setdefault(token, None)
            if len(found) >= MAX_TOKENS:
                return tuple(found)
    return tuple(found)
