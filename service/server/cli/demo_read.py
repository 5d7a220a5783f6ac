"""``aryz demo-read``: open a demo instance's items with its demo desk keys.

This is the stand-in for the coalition desk during a demo: it proves that what the site
stored is ciphertext that only the coalition's private key opens, and opens to exactly what
was sent. Files are summarised by name, size and SHA-256, never written out.

Answer sets are printed as the desk shows them: by section, with the question and choice
labels of the questionnaire they were given to (``service.common.questionnaire.reading``);
``--raw`` prints the JSON that was sealed instead.

It reads items exactly as the desk's importer does (``service.common.contract.sealed_item``):
an item the desk would quarantine is shown as refused, with the desk's reason, and the
command goes on with the next one, then exits 1 (envelope review D1–D3).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from service.common.contract.sealed_item import WRONG_CASE, BodySink, ItemRefused, read_answers
from service.common.contract.sealed_item import open_item as open_sealed
from service.common.crypto.keys import BoxKeyPair
from service.common.questionnaire.reading import Reading
from service.common.questionnaire.reading import read_answers as read_by_section
from service.server.models import COMPLETE, Case, Item
from service.server.storage.db import make_engine, make_sessionmaker
from service.server.storage.items import iter_ciphertext


def demo_keys(data_dir: Path) -> dict[str, BoxKeyPair]:
    keys = {}
    for path in sorted((data_dir / "desk-keys").glob("*.json")):
        data = json.loads(path.read_text())
        keys[data["coalition"]] = BoxKeyPair(
            bytes.fromhex(data["box_public"]), bytes.fromhex(data["box_secret"])
        )
    return keys


class _Collect(BodySink):
    """The whole body, for a demo's small items (and the tests' helpers)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = bytearray()

    def add(self, data: bytes) -> None:
        super().add(data)
        self.body += data


def open_item(factory: object, item_id: int, key: BoxKeyPair) -> tuple[dict[str, object], bytes]:
    """Open one stored item on the desk's reading path (service.common.contract.sealed_item):
    the same envelope, payload and metadata rules, the same fixed reasons. Raises
    :class:`ItemRefused` for an item the desk would quarantine."""
    sink = _Collect()
    pieces = iter_ciphertext(factory, item_id)  # type: ignore[arg-type]
    meta = open_sealed([key], pieces, sink)
    if meta["type"] == "answers":
        read_answers(bytes(sink.kept))  # the desk's limits and shapes, checked the same way
    return dict(meta), bytes(sink.body)


def reading_lines(reading: Reading) -> Iterator[str]:
    """An answer set by section, as text: labels are the questionnaire's (English) words,
    values as the person gave them; free text keeps its lines, indented."""
    if not reading.exact:
        yield "(answers to a questionnaire version this code does not have exactly:"
        yield " the labels may differ from what the person saw)"
    for part in reading.sections:
        yield f"[{part.title.text}" + (f" {part.number}]" if part.number else "]")
        for row in part.rows:
            values = [value.text for value in row.values]
            label = row.label.text.rstrip(":")
            label = label if label.endswith((".", "?")) else f"{label}:"
            if row.typed:
                yield f"  {label}"
                for line in "\n".join(values).splitlines():
                    yield f"    {line}"
            else:
                yield f"  {label} {', '.join(values)}"


def read_all(data_dir: Path, *, raw: bool = False) -> Iterator[str]:
    """One block of lines per item. An item the desk would refuse is shown as
    ``item refused (…)`` with the desk's reason, and the items after it still show (D2);
    an item whose sealed case key is not its case's is refused as on the desk (D3)."""
    keys = demo_keys(data_dir)
    engine = make_engine(f"sqlite:///{data_dir / 'aryz.sqlite3'}")
    factory = make_sessionmaker(engine)
    with factory() as session:
        rows = session.execute(
            select(Item.id, Case.id, Case.coalition_id, Case.status, Case.reply_public_key)
            .join(Case, Case.id == Item.case_id)
            .where(Item.state == COMPLETE)
            .order_by(Case.id, Item.id)
        ).all()
    for item_id, case_id, coalition_id, status, reply_key in rows:
        head = f"--- case {case_id} ({coalition_id}, {status}), item {item_id}"
        try:
            meta, body = open_item(factory, item_id, keys[coalition_id])
            claimed = meta.get("case_public_key")
            if claimed is not None and claimed != bytes(reply_key).hex():
                raise ItemRefused(WRONG_CASE)
        except ItemRefused as refused:
            yield head
            yield f"item refused ({refused.reason})"
            continue
        yield f"{head}: {meta.get('type')}"
        if meta.get("type") == "file":
            digest = hashlib.sha256(body).hexdigest()
            yield f"file {meta.get('name')!s}: {len(body)} bytes, sha256 {digest}"
        elif meta.get("type") == "answers" and not raw:
            answers = json.loads(body)["answers"]  # checked by open_item (the desk's rules)
            reference = meta.get("questionnaire")
            yield from reading_lines(
                read_by_section(reference if isinstance(reference, dict) else None, answers)
            )
        else:
            yield body.decode("utf-8", errors="replace")
    engine.dispose()
