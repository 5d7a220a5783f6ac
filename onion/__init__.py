"""Everything in Aryz that talks to tor, through ``stem``. Only this package imports stem."""
