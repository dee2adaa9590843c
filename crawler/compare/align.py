"""Paragraph alignment of a seed copy with the live article, for flags and the report.

The copy's article lines and the live main-text paragraphs are aligned on their word
keys (difflib); inside a replaced stretch, pairs that share most words are the same
paragraph edited (`changed`), the rest are `removed` (copy only) or `added` (live only).
Every other line of the copy keeps its place with its role, so the report can show the
whole copy beside the live text. No settings are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from crawler.compare.lines import LineRole
from crawler.compare.seed_copy import SeedCopy
from crawler.compare.text import key, similarity

CHANGED_AT = 0.5  # word-sequence similarity from which two paragraphs are one, edited


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view."""

    status: str  # same, changed, removed, added, or the seed line's role
    seed_line: int | None = None
    seed_text: str | None = None
    live_index: int | None = None
    live_text: str | None = None
    note: str | None = None


def _pair_block(seed: list[tuple[int, str]], live: list[tuple[int, str]]) -> list[Row]:
    rows: list[Row] = []
    j = 0
    for line, text in seed:
        best = None
        for jj in range(j, len(live)):
            score = similarity(text, live[jj][1])
            if score >= CHANGED_AT and (best is None or score > best[0]):
                best = (score, jj)
        if best is None:
            rows.append(Row("removed", line, text))
            continue
        for idx, ltext in live[j:best[1]]:
            rows.append(Row("added", live_index=idx, live_text=ltext))
        idx, ltext = live[best[1]]
        rows.append(Row("changed", line, text, idx, ltext, f"{best[0]:.0%} of words shared"))
        j = best[1] + 1
    rows.extend(Row("added", live_index=idx, live_text=t) for idx, t in live[j:])
    return rows


def align(copy: SeedCopy, roles: Mapping[int, LineRole], paragraphs: Sequence[str] | None
          ) -> list[Row]:
    """Rows in the copy's order; live-only paragraphs sit after the row before them."""
    seed = [(n, copy.line(n).clean) for n in sorted(roles) if roles[n].role == "article"]
    pairs: list[Row] = []
    if paragraphs is not None:
        live = list(enumerate(paragraphs))
        matcher = SequenceMatcher(None, [key(t) for _, t in seed], [key(t) for _, t in live],
                                  autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                pairs += [Row("same", seed[i1 + k][0], seed[i1 + k][1], live[j1 + k][0],
                              live[j1 + k][1]) for k in range(i2 - i1)]
            elif op == "delete":
                pairs += [Row("removed", n, t) for n, t in seed[i1:i2]]
            elif op == "insert":
                pairs += [Row("added", live_index=i, live_text=t) for i, t in live[j1:j2]]
            else:
                pairs += _pair_block(seed[i1:i2], live[j1:j2])
    else:
        pairs = [Row("article", n, t) for n, t in seed]
    positioned: list[tuple[tuple[int, int], Row]] = []
    last_line = 0
    for seq, row in enumerate(pairs, start=1):
        if row.seed_line is not None:
            last_line = row.seed_line
        positioned.append(((last_line, seq if row.seed_line is None else 0), row))
    for n in sorted(roles):
        role = roles[n]
        if role.role != "article":
            positioned.append(((n, 0), Row(role.role, n, copy.line(n).clean, note=role.where)))
    positioned.sort(key=lambda item: item[0])
    return [row for _, row in positioned]
