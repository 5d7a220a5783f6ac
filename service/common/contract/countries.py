"""The countries Aryz routes. Names are translated when shown."""

from __future__ import annotations

from service.common.i18n.markers import N_

# ISO 3166-1 alpha-2 → display name. Karakalpakstan is part of Uzbekistan's routing.
COUNTRIES: dict[str, str] = {
    "KZ": N_("Kazakhstan"),
    "KG": N_("Kyrgyzstan"),
    "TJ": N_("Tajikistan"),
    "UZ": N_("Uzbekistan (including Karakalpakstan)"),
    "TM": N_("Turkmenistan"),
}
