"""bench.instructions: how the callgrind dumps of a server are read."""

from __future__ import annotations

from pathlib import Path

from bench.instructions import count_instructions


def test_instructions_are_read_from_every_dump_beside_the_output(tmp_path: Path) -> None:
    """The count is the totals line of the dump written on request (``out.1``); the empty dump
    callgrind writes at exit (``out`` itself) and other files are ignored."""
    out = tmp_path / "gateway.out"
    out.write_text("events: Ir\nsummary: 0\n")
    (tmp_path / "gateway.out.1").write_text("events: Ir\nfn=main\n0 12\ntotals: 2189839029\n")
    (tmp_path / "baseline.out.1").write_text("totals: 5\n")

    assert count_instructions(out) == 2189839029


def test_no_dump_counts_nothing(tmp_path: Path) -> None:
    """Without a dump (instrumentation never switched on) the count is zero."""
    assert count_instructions(tmp_path / "gateway.out") == 0
