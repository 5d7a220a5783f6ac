"""The ``aryz`` command line."""
