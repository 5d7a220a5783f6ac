"""The fixed workflow a case moves through; the submitter sees these labels."""

from __future__ import annotations

from service.common.i18n.markers import N_

STATUS_LABELS: dict[str, str] = {
    "received": N_("Received"),
    "under_review": N_("Under review"),
    "will_contact": N_("We will contact you"),
    "need_info": N_("We need more information"),
    "referred": N_("Referred to a lawyer"),
    "closed": N_("Closed"),
}
