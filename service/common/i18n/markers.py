"""``N_`` marks a string for translation where it is defined; it is translated when shown."""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message
