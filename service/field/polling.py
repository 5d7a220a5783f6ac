"""How often the duty watch asks the staff onion for urgent records (``aryz duty watch``).

Kept apart from ``service.field.duty`` so the ``aryz`` parser can show the default without
loading the HTTP client (the desk's commands share that parser on the offline laptop).
"""

from __future__ import annotations

# Why a minute: torture happens in the first hours of custody, so an alert within two
# minutes of sending is what matters; one small signed request a minute through Tor costs
# the onion nothing measurable, and polling more often would not reach a lawyer sooner.
DEFAULT_INTERVAL = 60.0
MIN_INTERVAL = 5.0
