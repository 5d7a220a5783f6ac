"""Is a case whole? What the items' signed positions say about the server's handling.

Every item a submitter seals carries its position in the case, signed with a key derived
from the case token (service/common/crypto/itemseal.py, ENVELOPE-v3.md §3). The importer stores,
for each item, what its seal says (:func:`seal_record`); this module compares the items
of a case, in the order they arrived on this desk, and names what a server (seized or
adversary-run) did to them:

- ``injected``: an item that is not signed by the case's key (no seal, a bad signature,
  or another key) in a case whose items are signed. The server knows the coalition's
  keys and the case's reply key, so it can seal anything; only a token holder can sign.
- ``duplicated``: the same envelope stored more than once (same position, same header).
- ``conflict``: two different items, both signed, claim one position (a submitter's two
  windows sending at once, or someone holding the token).
- ``missing``: a position below the highest one received never arrived (dropped by the
  server, or an upload the person started and never finished).
- ``reordered``: items arrived in another order than their positions.

The case's key is the one that signs the first signed item the desk imported, as the
reply key is pinned by the first bundle. What this cannot see: items dropped after the
last one received (nothing later names them; the next item the person sends will show
the gap), and a server that held the token (the no-JavaScript form path seals on the
server, which sees the token during that request).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.common.crypto.envelope import MAX_RECIPIENTS, header_length, parse_header
from service.common.crypto.itemseal import read_seal
from service.common.errors import EnvelopeError

INJECTED = "injected"
DUPLICATED = "duplicated"
CONFLICT = "conflict"
MISSING = "missing"
REORDERED = "reordered"

COMPLETE = "complete"  # every position from 1 to the highest, once, in order
PROBLEMS = "problems"
UNCHECKED = "unchecked"  # no item carries a seal (sealed before seals existed)

# Fixed English texts for the terminal; the desk web has the same, translated.
TEXTS = {
    INJECTED: "not signed by the case's key: added by someone without the token",
    DUPLICATED: "stored more than once: the same sealed item repeated",
    CONFLICT: "two different signed items claim the same position",
    MISSING: "never received: dropped by the server, or an upload that did not finish",
    REORDERED: "arrived in another order than the person sent them",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    positions: tuple[int, ...]  # the positions concerned (none for an unsigned item)
    items: tuple[str, ...]  # item references concerned (none for missing positions)

    @property
    def text(self) -> str:
        return TEXTS[self.kind]


@dataclass(frozen=True)
class Completeness:
    state: str  # COMPLETE, PROBLEMS or UNCHECKED
    highest: int  # the highest position received from the case's key (0 if none)
    findings: tuple[Finding, ...] = ()
    # A case begun before items were signed: positions below this one were its items
    # then, imported by a desk that did not know seals, and are not checked. 1 otherwise.
    first: int = 1


# How much of an envelope's start :func:`seal_record` needs (its header, at the longest).
HEADER_PREFIX = header_length(MAX_RECIPIENTS)


def seal_record(meta: dict[str, Any], envelope: bytes) -> dict[str, Any] | None:
    """What an opened item's seal says, to store with the item (None: it has none).

    ``envelope`` may be just the envelope's first :data:`HEADER_PREFIX` bytes."""
    try:
        header, _length = parse_header(envelope[: header_length(MAX_RECIPIENTS)])
    except EnvelopeError:
        return None  # unreachable for an item that opened; nothing to record
    digest = header.associated_data
    moved = meta.get("transferred")
    if isinstance(moved, dict) and isinstance(moved.get("header"), str):
        # Passed on by another coalition's desk, which re-sealed it: the person signed
        # the original envelope's header, whose digest that desk put here
        # (service/desk/casework/transfer.py).
        try:
            original = bytes.fromhex(moved["header"])
        except ValueError:
            original = b""
        if len(original) == 32:
            digest = original
    seal = read_seal(meta, digest)
    return None if seal is None else seal.as_record(digest)


def check_case(
    items: Sequence[tuple[str, dict[str, Any] | None]], *, legacy: int = 0
) -> Completeness:
    """Judge a case from its items as (reference, stored seal record), in arrival order.

    ``legacy`` counts the case's items this desk imported before it knew about seals (their
    records have no seal entry at all): a case filed earlier and followed up since. They
    held positions 1 to ``legacy`` on the server and are not judged; only this desk's
    own past can vouch for them, so a server cannot pass a new item off as one.
    """
    if all(seal is None for _ref, seal in items):
        return Completeness(UNCHECKED, 0, (), legacy + 1)
    case_key = next(
        (seal["signer"] for _ref, seal in items if seal is not None and seal["valid"]), None
    )

    def ours(seal: dict[str, Any] | None) -> bool:
        return seal is not None and bool(seal["valid"]) and seal["signer"] == case_key

    signed = [
        (ref, int(seal["position"]), str(seal["digest"]))
        for ref, seal in items
        if seal is not None and ours(seal)
    ]
    findings: list[Finding] = []
    injected = [ref for ref, seal in items if not ours(seal)]
    if injected:
        findings.append(Finding(INJECTED, (), tuple(injected)))
    by_position: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for ref, position, digest in signed:
        by_position[position].append((ref, digest))
    for position in sorted(by_position):
        entries = by_position[position]
        if len(entries) < 2:
            continue
        digests = {digest for _ref, digest in entries}
        kind = DUPLICATED if len(digests) == 1 else CONFLICT
        findings.append(Finding(kind, (position,), tuple(ref for ref, _d in entries)))
    highest = max(by_position, default=0)
    first = legacy + 1
    missing = tuple(p for p in range(first, highest + 1) if p not in by_position)
    if missing:
        findings.append(Finding(MISSING, missing, ()))
    out_of_order = _out_of_order(signed)
    if out_of_order:
        findings.append(
            Finding(
                REORDERED,
                tuple(sorted({p for _r, p in out_of_order})),
                tuple(r for r, _p in out_of_order),
            )
        )
    return Completeness(PROBLEMS if findings else COMPLETE, highest, tuple(findings), first)


def _out_of_order(signed: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    """Items that arrived after an item with a higher position (repeats aside)."""
    late: list[tuple[str, int]] = []
    highest = 0
    for ref, position, _digest in signed:
        if position < highest:
            late.append((ref, position))
        highest = max(highest, position)
    return late


def summary_lines(result: Completeness) -> list[str]:
    """Plain lines for the terminal (references and numbers only: nothing untrusted)."""
    if result.state == UNCHECKED:
        return ["cannot be checked: no item carries a signed position (sealed before v3)"]
    if result.state == COMPLETE and result.first > 1:
        return [
            f"complete from position {result.first} to {result.highest}, each once, in order;"
            " the items before were imported before seals existed and are not checked"
        ]
    if result.state == COMPLETE:
        return [f"complete: positions 1 to {result.highest}, each once, in order"]
    lines = ["NOT AS SENT: the server's copy of this case differs from what the person sent"]
    for finding in result.findings:
        where = []
        if finding.positions:
            where.append("position " + ", ".join(str(p) for p in finding.positions))
        if finding.items:
            where.append("item " + ", ".join(ref[:8] for ref in finding.items))
        lines.append(f"  {finding.kind}: {'; '.join(where)}: {finding.text}")
    return lines
