"""``istanbul`` v1 and v2: the intake questionnaire aligned to the Istanbul Protocol (2022).

It follows the Protocol's order for documenting a case — who reports and with what
consent, who the person is, the account in their own words, then arrest, places of
detention, each episode of ill-treatment, perpetrators, witnesses, physical and
psychological effects (as felt, no diagnosis), medical care and records, complaints and
reprisals, and what the person needs now. The free account comes early: a person who
can say no more stops there and sends; the detail questions after it are for those who can.

Every single-choice question has "Don't know / prefer not to say" (``unknown``): without
JavaScript a chosen radio button cannot be cleared, so that is also how to take an answer
back. Answer keys and codes are read by the desk's statistics: the codes of
``filer.role``, ``consent.statistics``, ``victim.*``, ``arrest.region``, ``detention``
(``type``, ``region``), ``episodes`` (``methods``, ``forced_confession``) and
``perpetrators.agency`` must not change within a version.

Changing any question, choice or condition means a new version: answer sets name the
version and the hash of the definition they were given to.

Version 2 adds one consent question, ``consent.transfer``: may the organisation pass the
report to another organisation of the network if it belongs there (another country)?
The desk passes a case on only with "yes" (``service.desk.casework.transfer``). Every
other question, code and key is version 1's.
"""

from __future__ import annotations

from dataclasses import replace

from service.common.i18n.markers import N_
from service.common.questionnaire import Choice, Condition, Question, Questionnaire, Section

UNKNOWN = Choice("unknown", N_("Don't know / prefer not to say"))
YES = Choice("yes", N_("Yes"))
NO = Choice("no", N_("No"))
YES_NO = (YES, NO, UNKNOWN)
# "Yes, but only later" matters legally: access in the first hours is a safeguard.
YES_LATE_NO = (YES, Choice("late", N_("Yes, but only later")), NO, UNKNOWN)
ASK_FIRST = Choice("ask", N_("Ask me first"))

AGENCIES = (
    Choice("police", N_("Police")),
    Choice("national_security", N_("National security service")),
    Choice("prison_service", N_("Prison or detention staff")),
    Choice("military", N_("Army or other military")),
    Choice("prosecutor", N_("Prosecutor's office or investigator")),
    Choice("other", N_("Someone else")),
)
# How the desk's case list reads "still detained?" from this questionnaire's answers.
SITUATION_AS_DETAINED = {"detained": "yes", "released": "no", "deceased": "deceased"}

FILER = Section(
    id="filer",
    title=N_("About you"),
    intro=N_("You do not need to give your name anywhere in this form."),
    questions=(
        Question(
            id="role",
            kind="choice",
            label=N_("Who is filing this report?"),
            choices=(
                Choice("victim", N_("It happened to me")),
                Choice("relative", N_("A relative or friend of the person")),
                Choice("lawyer", N_("A lawyer or human rights defender")),
                Choice("witness", N_("A witness")),
                UNKNOWN,
            ),
        ),
        Question(
            id="relation",
            kind="choice",
            label=N_("If you are a relative or friend: who are you to the person?"),
            choices=(
                Choice("parent", N_("Mother or father")),
                Choice("spouse", N_("Wife or husband")),
                Choice("child", N_("Daughter or son")),
                Choice("sibling", N_("Sister or brother")),
                Choice("other_relative", N_("Another relative")),
                Choice("friend", N_("Friend or neighbour")),
                UNKNOWN,
            ),
        ),
    ),
)

VICTIM = Section(
    id="victim",
    title=N_("The person this happened to"),
    intro=N_("If it happened to you, answer about yourself. A made-up name is fine."),
    questions=(
        Question(
            id="pseudonym",
            kind="text",
            label=N_("A name or nickname for the person (it can be made up)"),
            max_length=200,
        ),
        Question(
            id="sex",
            kind="choice",
            label=N_("Sex"),
            choices=(
                Choice("female", N_("Female")),
                Choice("male", N_("Male")),
                Choice("other", N_("Other")),
                UNKNOWN,
            ),
        ),
        Question(
            id="age_band",
            kind="choice",
            label=N_("Age now"),
            choices=(
                Choice("under_14", N_("Under 14")),
                Choice("14_17", N_("14 to 17")),
                Choice("18_29", N_("18 to 29")),
                Choice("30_44", N_("30 to 44")),
                Choice("45_59", N_("45 to 59")),
                Choice("60_plus", N_("60 or older")),
                UNKNOWN,
            ),
        ),
        Question(
            id="minor",
            kind="choice",
            label=N_("Was the person under 18 when it happened?"),
            choices=YES_NO,
        ),
        Question(
            id="situation",
            kind="choice",
            label=N_("Where is the person now?"),
            choices=(
                Choice("detained", N_("Still detained")),
                Choice("released", N_("Released")),
                Choice("deceased", N_("The person has died")),
                UNKNOWN,
            ),
        ),
        Question(
            id="situation_details",
            kind="text",
            label=N_("If you know: where is the person held, or how did they die?"),
            max_length=1000,
        ),
    ),
)

CONSENT = Section(
    id="consent",
    title=N_("Your consent"),
    intro=N_(
        "You decide what the organisation may do with your report. You can change your "
        "mind later: write to them with your case token."
    ),
    questions=(
        Question(
            id="contact",
            kind="choice",
            label=N_("May the organisation contact you?"),
            help=N_("Only if it is safe for you. If yes, write below how to reach you safely."),
            choices=(YES, Choice("no", N_("No, I will check with my case token")), UNKNOWN),
        ),
        Question(
            id="contact_how",
            kind="text",
            label=N_("How can they reach you safely? (optional)"),
            help=N_("For example a Signal number. Leave empty if unsure."),
            max_length=500,
        ),
        Question(
            id="legal",
            kind="choice",
            label=N_(
                "May the organisation use this report in a legal case (a complaint, a court)?"
            ),
            choices=(YES, ASK_FIRST, NO, UNKNOWN),
        ),
        Question(
            id="un",
            kind="choice",
            label=N_(
                "May they send it to United Nations bodies that deal with torture "
                "(for example the UN Committee against Torture)?"
            ),
            choices=(YES, ASK_FIRST, NO, UNKNOWN),
        ),
        Question(
            id="statistics",
            kind="choice",
            label=N_("May it be counted, without names, in statistics on torture?"),
            choices=YES_NO,
        ),
        # Not asked of someone reporting about themselves, nor of a relative whose
        # person has died: there is no one left to ask.
        Question(
            id="victim",
            kind="choice",
            label=N_("Does the person this happened to agree to this report?"),
            choices=(
                YES,
                NO,
                Choice("not_asked", N_("I could not ask them (for example, they are detained)")),
                UNKNOWN,
            ),
            show_if=(
                Condition("filer.role", none_of=("victim",)),
                Condition("victim.situation", none_of=("deceased",)),
            ),
        ),
    ),
)

NARRATIVE = Section(
    id="narrative",
    title=N_("What happened"),
    intro=N_(
        "After this page come questions about details. Answer those you can, or go "
        "straight to checking and sending your report."
    ),
    questions=(
        Question(
            id="text",
            kind="textarea",
            label=N_("What happened? Tell it in your own words."),
            help=N_(
                "Write what you remember: what was done, by whom, what they wanted. "
                "Names of officers and places help. You can skip anything."
            ),
            max_length=50_000,
        ),
    ),
)

ARREST = Section(
    id="arrest",
    title=N_("The arrest"),
    questions=(
        Question(
            id="date",
            kind="text",
            label=N_("When was the person detained? An approximate date is fine."),
            max_length=200,
        ),
        Question(id="region", kind="region", label=N_("In which region?")),
        Question(
            id="place",
            kind="text",
            label=N_("Town, street or place (if you want to say)"),
            max_length=500,
        ),
        Question(
            id="agency",
            kind="choice",
            label=N_("Who detained the person?"),
            choices=(*AGENCIES, UNKNOWN),
        ),
        Question(
            id="reason",
            kind="text",
            label=N_("What reason did they give, if any?"),
            max_length=1000,
        ),
        Question(
            id="registered",
            kind="choice",
            label=N_("Was the detention officially written down (a detention record)?"),
            choices=(
                YES,
                Choice("late", N_("Yes, but later than it really happened")),
                NO,
                UNKNOWN,
            ),
        ),
    ),
)

DETENTION = Section(
    id="detention",
    title=N_("Places where the person was held"),
    intro=N_("Add each place separately, in order, as far as you remember."),
    repeatable=True,
    max_entries=8,
    entry_title=N_("Place %(number)s"),
    questions=(
        Question(
            id="type",
            kind="choice",
            label=N_("What kind of place?"),
            choices=(
                Choice("police", N_("Police station")),
                Choice("ivs", N_("Temporary detention facility (IVS)")),
                Choice("sizo", N_("Pre-trial detention centre (SIZO)")),
                Choice("prison", N_("Prison or colony")),
                Choice("military", N_("Army or military unit")),
                Choice("psychiatric", N_("Psychiatric hospital")),
                Choice("unofficial", N_("An unofficial place (a flat, a basement, a car)")),
                Choice("other", N_("Somewhere else")),
                UNKNOWN,
            ),
        ),
        Question(id="region", kind="region", label=N_("In which region?")),
        Question(
            id="name",
            kind="text",
            label=N_("Name or address of the place, if you know"),
            max_length=500,
        ),
        Question(
            id="dates",
            kind="text",
            label=N_("From when to when? Approximate dates are fine."),
            max_length=200,
        ),
        Question(
            id="lawyer",
            kind="choice",
            label=N_("Could the person see a lawyer there?"),
            choices=YES_LATE_NO,
        ),
        Question(
            id="family",
            kind="choice",
            label=N_("Was the family told where the person was?"),
            choices=YES_LATE_NO,
        ),
        Question(
            id="doctor",
            kind="choice",
            label=N_("Did a doctor examine the person there?"),
            choices=YES_LATE_NO,
        ),
    ),
)

EPISODES = Section(
    id="episodes",
    title=N_("What was done"),
    intro=N_(
        "If it happened more than once, add each time separately. Stop whenever you need "
        "to: you can send what you have."
    ),
    repeatable=True,
    max_entries=8,
    entry_title=N_("Time %(number)s"),
    questions=(
        Question(
            id="when",
            kind="text",
            label=N_("When, and in which place?"),
            max_length=500,
        ),
        Question(
            id="methods",
            kind="multi",
            label=N_("What did they do? Tick all that apply."),
            choices=(
                Choice("beating", N_("Beating, kicking, blows with objects")),
                Choice("suffocation", N_("Suffocation (a bag, a gas mask, water)")),
                Choice("electric_shock", N_("Electric shocks")),
                Choice("stress_positions", N_("Painful positions, hanging, tying up")),
                Choice("sexual_violence", N_("Sexual violence or threats of it")),
                Choice("threats", N_("Threats against the person or their family")),
                Choice("sleep_deprivation", N_("Not allowed to sleep")),
                Choice("burns", N_("Burns")),
                Choice("water", N_("Cold water, or no water or food")),
                Choice("mock_execution", N_("Mock execution")),
                Choice("humiliation", N_("Humiliation, forced undressing")),
                Choice("denial_of_medical_care", N_("Refused medical help")),
                Choice("other", N_("Something else")),
            ),
        ),
        Question(
            id="details",
            kind="textarea",
            label=N_("Describe it, if you can"),
            max_length=20_000,
        ),
        Question(
            id="forced_confession",
            kind="choice",
            label=N_("Did they try to force the person to confess or to sign something?"),
            choices=YES_NO,
        ),
        Question(
            id="demanded",
            kind="text",
            label=N_("What did they demand? (a confession, testimony against someone, money…)"),
            max_length=1000,
        ),
    ),
)

PERPETRATORS = Section(
    id="perpetrators",
    title=N_("Who did it"),
    intro=N_("It is fine not to know."),
    questions=(
        Question(
            id="number",
            kind="choice",
            label=N_("How many people did it?"),
            choices=(
                Choice("one", N_("One")),
                Choice("two_to_three", N_("Two or three")),
                Choice("four_or_more", N_("Four or more")),
                UNKNOWN,
            ),
        ),
        Question(
            id="agency",
            kind="multi",
            label=N_("Where did they work? Tick all that apply."),
            choices=(*AGENCIES, UNKNOWN),
        ),
        Question(
            id="details",
            kind="textarea",
            label=N_("Ranks, units, names, or what they looked like, if you know"),
            max_length=5000,
        ),
    ),
)

WITNESSES = Section(
    id="witnesses",
    title=N_("Witnesses"),
    questions=(
        Question(
            id="any",
            kind="choice",
            label=N_("Did anyone see or hear it, or see the person soon after?"),
            choices=YES_NO,
        ),
        Question(
            id="who",
            kind="textarea",
            label=N_("Who were they? For example, a cellmate, or a relative who saw injuries."),
            help=N_("Do not write phone numbers or addresses here."),
            max_length=5000,
        ),
    ),
)

EFFECTS = Section(
    id="effects",
    title=N_("Effects on health"),
    intro=N_("Only what the person feels or has noticed. No doctor's diagnosis is needed."),
    questions=(
        Question(
            id="physical",
            kind="multi",
            label=N_("Effects on the body. Tick all that apply."),
            choices=(
                Choice("bruises", N_("Bruises or swelling")),
                Choice("wounds", N_("Wounds or cuts")),
                Choice("burns", N_("Burns")),
                Choice("fractures", N_("Broken bones or teeth")),
                Choice("head_injury", N_("Head injury, dizziness, headaches")),
                Choice("pain", N_("Pain that does not go away")),
                Choice("hearing_or_sight", N_("Worse hearing or sight")),
                Choice("other", N_("Something else")),
                UNKNOWN,
            ),
        ),
        Question(
            id="psychological",
            kind="multi",
            label=N_("Effects on the mind and feelings. Tick all that apply."),
            choices=(
                Choice("fear", N_("Fear, feeling unsafe")),
                Choice("sleep", N_("Trouble sleeping, nightmares")),
                Choice("memories", N_("Memories that come back against one's will")),
                Choice("sadness", N_("Deep sadness, losing interest in life")),
                Choice("concentration", N_("Trouble concentrating or remembering")),
                Choice("other", N_("Something else")),
                UNKNOWN,
            ),
        ),
        Question(
            id="details",
            kind="textarea",
            label=N_("Describe the marks, pain or feelings, if you want"),
            max_length=5000,
        ),
    ),
)

MEDICAL = Section(
    id="medical",
    title=N_("Medical care and records"),
    questions=(
        Question(
            id="care",
            kind="choice",
            label=N_("Did the person get medical help afterwards?"),
            choices=(
                YES,
                Choice("refused", N_("They asked, but were refused")),
                NO,
                UNKNOWN,
            ),
        ),
        Question(
            id="records",
            kind="choice",
            label=N_("Are there medical papers, an expert examination, or photos of injuries?"),
            help=N_("You can add photos and documents after sending, on the next page."),
            choices=YES_NO,
        ),
        Question(
            id="details",
            kind="textarea",
            label=N_("Where and when was the person examined, and by whom?"),
            max_length=5000,
        ),
    ),
)

COMPLAINTS = Section(
    id="complaints",
    title=N_("Complaints and reprisals"),
    questions=(
        Question(
            id="made",
            kind="choice",
            label=N_("Has anyone already complained about it?"),
            choices=YES_NO,
        ),
        Question(
            id="to",
            kind="multi",
            label=N_("To whom? Tick all that apply."),
            choices=(
                Choice("prosecutor", N_("Prosecutor's office")),
                Choice("court", N_("A court")),
                Choice("police", N_("Police or internal affairs")),
                Choice("ombudsman", N_("Ombudsman")),
                Choice("international", N_("An international body (for example the UN)")),
                Choice("other", N_("Someone else")),
            ),
        ),
        Question(
            id="outcome",
            kind="textarea",
            label=N_("What happened with the complaint?"),
            max_length=5000,
        ),
        Question(
            id="reprisals",
            kind="choice",
            label=N_(
                "Has the person or their family been threatened or punished for "
                "complaining or speaking out?"
            ),
            choices=YES_NO,
        ),
        Question(
            id="reprisals_details",
            kind="textarea",
            label=N_("What happened?"),
            max_length=5000,
        ),
    ),
)

NEEDS = Section(
    id="needs",
    title=N_("What you need now"),
    questions=(
        Question(
            id="help",
            kind="multi",
            label=N_("What help do you or the person need? Tick all that apply."),
            choices=(
                Choice("lawyer", N_("A lawyer")),
                Choice("medical", N_("A doctor")),
                Choice("psychological", N_("Psychological support")),
                Choice("safety", N_("Safety for the person or the family")),
                Choice("find_person", N_("Finding out where the person is")),
                Choice("other", N_("Something else")),
            ),
        ),
        Question(
            id="urgent",
            kind="textarea",
            label=N_("Is anything urgent? For example, the person is in danger now."),
            max_length=5000,
        ),
    ),
)

ISTANBUL = Questionnaire(
    id="istanbul",
    version=1,
    sections=(
        FILER,
        VICTIM,
        CONSENT,
        NARRATIVE,
        ARREST,
        DETENTION,
        EPISODES,
        PERPETRATORS,
        WITNESSES,
        EFFECTS,
        MEDICAL,
        COMPLAINTS,
        NEEDS,
    ),
)

# Version 2: the consent to pass the report on, asked with the other consents, after
# "United Nations" and before "statistics".
TRANSFER_CONSENT = Question(
    id="transfer",
    kind="choice",
    label=N_(
        "May the organisation pass your report to another organisation of this network if "
        "it belongs there (for example, it happened in another country)?"
    ),
    help=N_("It is passed on sealed, to that organisation only."),
    choices=(YES, ASK_FIRST, NO, UNKNOWN),
)


def _with_transfer(section: Section) -> Section:
    if section.id != "consent":
        return section
    questions = list(section.questions)
    at = next(i for i, q in enumerate(questions) if q.id == "un") + 1
    return replace(section, questions=(*questions[:at], TRANSFER_CONSENT, *questions[at:]))


ISTANBUL_V2 = Questionnaire(
    id="istanbul",
    version=2,
    sections=tuple(_with_transfer(section) for section in ISTANBUL.sections),
)
