"""The first intake questionnaire (``intake-basic`` v1): short, every question skippable.

Replaced on the form by ``istanbul`` v1 (:mod:`.istanbul`); answers to this one stay
readable on the desk because each answer set names its questionnaire and version.
"""

from __future__ import annotations

from service.common.i18n.markers import N_
from service.common.questionnaire import Choice, Question, Questionnaire, Section

UNKNOWN = Choice("unknown", N_("Don't know / prefer not to say"))

BASIC = Questionnaire(
    id="intake-basic",
    version=1,
    questions=(
        Question(
            id="filer",
            kind="choice",
            label=N_("Who is filing this report?"),
            choices=(
                Choice("victim", N_("I am the person this happened to")),
                Choice("relative", N_("A relative or friend")),
                Choice("lawyer", N_("A lawyer or human rights defender")),
                Choice("witness", N_("A witness")),
                UNKNOWN,
            ),
        ),
        Question(
            id="narrative",
            kind="textarea",
            label=N_("What happened? Tell it in your own words."),
            help=N_(
                "Write what you remember: what was done, by whom, what they wanted. "
                "Names of officers and places help. You can skip anything."
            ),
            max_length=50_000,
        ),
        Question(
            id="place",
            kind="choice",
            label=N_("Where did it happen?"),
            choices=(
                Choice("police", N_("Police station")),
                Choice("ivs", N_("Temporary detention facility (IVS)")),
                Choice("sizo", N_("Pre-trial detention centre (SIZO)")),
                Choice("prison", N_("Prison or colony")),
                Choice("protest", N_("During a protest or its dispersal")),
                Choice("military", N_("Army or military unit")),
                Choice("other", N_("Somewhere else")),
                UNKNOWN,
            ),
        ),
        Question(
            id="place_details",
            kind="text",
            label=N_("Town, region or the name of the place (if you want to say)"),
            max_length=500,
        ),
        Question(
            id="when",
            kind="text",
            label=N_("When did it happen? An approximate date is fine."),
            max_length=200,
        ),
        Question(
            id="detained",
            kind="choice",
            label=N_("Is the person still detained?"),
            choices=(
                Choice("yes", N_("Yes, still detained")),
                Choice("no", N_("No, released")),
                Choice("deceased", N_("The person died")),
                UNKNOWN,
            ),
        ),
        Question(
            id="consent_contact",
            kind="choice",
            label=N_("May the organisation contact you?"),
            help=N_("Only if it is safe for you. If yes, write below how to reach you safely."),
            choices=(
                Choice("yes", N_("Yes")),
                Choice("no", N_("No, I will check with my case token")),
            ),
        ),
        Question(
            id="contact",
            kind="text",
            label=N_("How can they reach you safely? (optional)"),
            help=N_("For example a Signal number. Leave empty if unsure."),
            max_length=500,
        ),
        Question(
            id="consent_legal",
            kind="choice",
            label=N_("May the organisation use this report for legal action?"),
            choices=(
                Choice("yes", N_("Yes")),
                Choice("ask", N_("Ask me first")),
                Choice("no", N_("No")),
            ),
        ),
        Question(
            id="consent_statistics",
            kind="choice",
            label=N_("May it be counted, without names, in statistics on torture?"),
            choices=(Choice("yes", N_("Yes")), Choice("no", N_("No"))),
        ),
    ),
)

# How the desk groups intake-basic answers under headings. Not part of the definition
# (its hash stays what v1 answer sets recorded): only a way of reading them.
_BY_ID = {q.id: q for q in BASIC.questions}
READING: tuple[Section, ...] = tuple(
    Section(id="", title=title, questions=tuple(_BY_ID[i] for i in ids))
    for title, ids in (
        (N_("Who is filing"), ("filer",)),
        (N_("What happened"), ("narrative", "place", "place_details", "when")),
        (N_("The person now"), ("detained",)),
        (
            N_("Consent and contact"),
            ("consent_contact", "contact", "consent_legal", "consent_statistics"),
        ),
    )
)
