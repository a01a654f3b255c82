"""Changelog records as the workers write them: keys spelled as they always were,
values that faust's reader (orjson when installed) gives back unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from faust.utils import json as faust_json
from hypothesis import given
from hypothesis import strategies as st

from processors.tables import changelog_bytes, changelog_key

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_values)
def test_values_come_back_as_they_went(value: Any) -> None:
    assert faust_json.loads(changelog_bytes(value).decode()) == value  # as faust's codec does


@pytest.mark.parametrize("key", ["1:ab12", "3f0c-uuid", "Ωmega-ñ"])
def test_keys_keep_the_spelling_faust_always_wrote(key: str) -> None:
    """Compaction compares key bytes: a key must be written the same way forever."""
    assert changelog_key(key) == json.dumps(key).encode()
    assert changelog_key(key).isascii()
