"""First-level subdivisions of the five countries, as ISO 3166-2 codes with English names.

The codes are what the answers store (``arrest.region``, ``detention[].region``) and what
the desk's statistics count, so they must be the standard's, not our own. Kazakhstan's
codes are the numeric ones ISO 3166-2:KZ has used since its 2020s revision (``KZ-75``
Almaty city, not the older ``KZ-ALA``), including the three regions formed in 2022
(Abai, Jetisu, Ulytau). Names are English msgids, translated where shown.

``unknown`` (don't know / prefer not to say) is not a region: the questionnaire adds it.
"""

from __future__ import annotations

from service.common.i18n.markers import N_

REGIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "KZ": (
        ("KZ-71", N_("Astana (city)")),
        ("KZ-75", N_("Almaty (city)")),
        ("KZ-79", N_("Shymkent (city)")),
        ("KZ-10", N_("Abai Region")),
        ("KZ-11", N_("Akmola Region")),
        ("KZ-15", N_("Aktobe Region")),
        ("KZ-19", N_("Almaty Region")),
        ("KZ-23", N_("Atyrau Region")),
        ("KZ-63", N_("East Kazakhstan Region")),
        ("KZ-31", N_("Jambyl Region")),
        ("KZ-33", N_("Jetisu Region")),
        ("KZ-35", N_("Karaganda Region")),
        ("KZ-39", N_("Kostanay Region")),
        ("KZ-43", N_("Kyzylorda Region")),
        ("KZ-47", N_("Mangystau Region")),
        ("KZ-59", N_("North Kazakhstan Region")),
        ("KZ-55", N_("Pavlodar Region")),
        ("KZ-61", N_("Turkistan Region")),
        ("KZ-62", N_("Ulytau Region")),
        ("KZ-27", N_("West Kazakhstan Region")),
    ),
    "KG": (
        ("KG-GB", N_("Bishkek (city)")),
        ("KG-GO", N_("Osh (city)")),
        ("KG-B", N_("Batken Region")),
        ("KG-C", N_("Chüy Region")),
        ("KG-J", N_("Jalal-Abad Region")),
        ("KG-N", N_("Naryn Region")),
        ("KG-O", N_("Osh Region")),
        ("KG-T", N_("Talas Region")),
        ("KG-Y", N_("Issyk-Kul Region")),
    ),
    "TJ": (
        ("TJ-DU", N_("Dushanbe (city)")),
        ("TJ-GB", N_("Gorno-Badakhshan Autonomous Region")),
        ("TJ-KT", N_("Khatlon Region")),
        ("TJ-SU", N_("Sughd Region")),
        ("TJ-RA", N_("Districts of Republican Subordination")),
    ),
    "UZ": (
        ("UZ-TK", N_("Tashkent (city)")),
        ("UZ-QR", N_("Republic of Karakalpakstan")),
        ("UZ-AN", N_("Andijan Region")),
        ("UZ-BU", N_("Bukhara Region")),
        ("UZ-FA", N_("Fergana Region")),
        ("UZ-JI", N_("Jizzakh Region")),
        ("UZ-XO", N_("Khorezm Region")),
        ("UZ-NG", N_("Namangan Region")),
        ("UZ-NW", N_("Navoiy Region")),
        ("UZ-QA", N_("Kashkadarya Region")),
        ("UZ-SA", N_("Samarkand Region")),
        ("UZ-SI", N_("Syrdarya Region")),
        ("UZ-SU", N_("Surkhandarya Region")),
        ("UZ-TO", N_("Tashkent Region")),
    ),
    "TM": (
        ("TM-S", N_("Ashgabat (city)")),
        ("TM-A", N_("Ahal Region")),
        ("TM-B", N_("Balkan Region")),
        ("TM-D", N_("Dashoguz Region")),
        ("TM-L", N_("Lebap Region")),
        ("TM-M", N_("Mary Region")),
    ),
}


def region_name(code: str) -> str | None:
    """The English name (msgid) of a region code, or None if it is not one of ours."""
    country = REGIONS.get(code.split("-", 1)[0], ())
    return next((name for c, name in country if c == code), None)
