"""The coalition's air-gapped desk: key ceremony, import, triage, signed answers.

It must run on an offline laptop without the server's settings or web stack config:
``tests/desk`` asserts what it does not import.
"""
