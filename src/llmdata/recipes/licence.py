"""Licence roll-up: may the mixture be used commercially, and whom must we credit?

Each input contributes its catalog licence and ``commercial`` flag. The
mixture's verdict is ``false`` if any input with rows is false, ``unknown`` if
any is unknown (and none false), ``true`` only when all are true. The
attribution list names every input with its licence, homepage and paper.
"""

from __future__ import annotations

from ..catalog.model import Entry

NO_ATTRIBUTION = {"cc0-1.0", "unlicense"}


def roll_up(entries: list[Entry], rows: dict[str, int]) -> dict:
    inputs, verdicts = [], []
    for e in entries:
        verdict = "true" if e.commercial is True else "false" if e.commercial is False else "unknown"
        if rows.get(e.id, 0):
            verdicts.append(verdict)
        inputs.append({"id": e.id, "name": e.name, "license": e.license, "commercial": verdict,
                       "rows": rows.get(e.id, 0), "homepage": e.card.get("homepage"), "paper": e.card.get("paper"),
                       "license_note": e.card.get("license_note"),
                       "attribution_required": e.license not in NO_ATTRIBUTION})
    commercial = "false" if "false" in verdicts else "unknown" if "unknown" in verdicts or not verdicts else "true"
    why = [i["id"] for i in inputs if i["rows"] and i["commercial"] == commercial] if commercial != "true" else []
    return {"commercial": commercial, "because": why, "inputs": inputs,
            "attribution": [i for i in inputs if i["rows"] and i["attribution_required"]]}
