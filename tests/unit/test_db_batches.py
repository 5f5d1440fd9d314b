"""Batch statements whose SQL text depends only on the padded batch size."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway.db.batches import cases, padded_size, slot_params, slots

_ROWS = sa.Table(
    "rows", sa.MetaData(), sa.Column("id", sa.String, primary_key=True), sa.Column("v", sa.Integer)
)


@pytest.mark.parametrize(
    ("count", "size"), [(0, 8), (1, 8), (8, 8), (9, 16), (16, 16), (17, 32), (1000, 1024)]
)
def test_the_padded_size_is_a_power_of_two_of_at_least_eight(count: int, size: int) -> None:
    """Batches of 1 to 8 rows share one size; beyond that the next power of two."""
    assert padded_size(count) == size


def test_unused_slots_get_a_key_no_row_has_and_null_values() -> None:
    """Keys fill ``id0…``, per-row values ``<name>0…``; the rest are the filler and None."""
    assert slot_params(4, ["a", "b"], {"v": [1, 2]}) == {
        "id0": "a",
        "id1": "b",
        "id2": "",
        "id3": "",
        "v0": 1,
        "v1": 2,
        "v2": None,
        "v3": None,
    }


def test_batches_of_different_sizes_within_one_padded_size_run_the_same_statement_text() -> None:
    """Three rows and five rows compile to one text, so the database plans it once; the padded slots
    change nothing."""
    statement = (
        sa.update(_ROWS)
        .where(_ROWS.c.id.in_(slots(_ROWS.c.id, 8)))
        .values(v=cases(_ROWS.c.id, _ROWS.c.v, 8, "v"))
        .returning(_ROWS.c.id)
    )
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        _ROWS.metadata.create_all(conn)
        conn.execute(sa.insert(_ROWS), [{"id": key, "v": 0} for key in "abcdefg"])
        three = conn.execute(statement, slot_params(8, ["a", "b", "c"], {"v": [1, 2, 3]})).scalars().all()
        five = conn.execute(statement, slot_params(8, list("cdefg"), {"v": [4, 5, 6, 7, 8]})).scalars().all()
        stored = {row.id: row.v for row in conn.execute(sa.select(_ROWS.c.id, _ROWS.c.v))}
    assert sorted(three) == ["a", "b", "c"] and sorted(five) == list("cdefg")
    assert stored == {"a": 1, "b": 2, "c": 4, "d": 5, "e": 6, "f": 7, "g": 8}
    assert str(statement.compile()).count(":id") == 16
