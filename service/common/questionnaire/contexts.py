"""Choice labels that need their own translation in one question.

One English label can need two translations: "Someone else" *detained* the person
(nominative) and the person complained *to* someone else (dative, or a direction), and
"Prosecutor's office" likewise. The questionnaire keeps its labels (they are part of its
hashed definition); a page translates a choice label with the question's key as message
context (``pgettext("complaints.to", "Someone else")``) where the catalog has such an
entry, and the plain translation otherwise. The calls below only put those entries into
the catalog template (``make messages``); nothing calls this module at run time.
"""

from __future__ import annotations


def pgettext(context: str, message: str) -> tuple[str, str]:
    """A marker pybabel extracts as a message with a context."""
    return context, message


CONTEXTUAL = (
    pgettext("complaints.to", "Prosecutor's office"),
    pgettext("complaints.to", "Someone else"),
)
