"""What every machine speaks: the shared contract. Imports no other room
(tests/test_import_rules.py).

Modules:

- ``cli.py``          What every command-line entry point shares (``aryz``, ``aryz-desk``,
                      ``aryz-field``): plain output, a failure said in one escaped line, and one
                      way to run a parsed command so that an error prints its fixed message and
                      never a traceback with values in it
- ``clock.py``        Coarse time
- ``contract/``       What travels between the server and a coalition's air-gapped desk, by USB
                      stick
- ``crypto/``         Aryz cryptography: the only package that imports ``nacl``
- ``errors.py``       Every failure Aryz reports, as one small class each
- ``files.py``        The one durable private-file writer: every room writes its files through
                      here
- ``i18n/``           Languages and gettext catalogs
- ``passphrase.py``   The desk passphrase: how it is normalised, judged and suggested
- ``questionnaire/``  Data-driven questionnaires: questions, choices and conditions, independent
                      of HTML
- ``text.py``         The one policy for untrusted text: what a submitter wrote, what a server
                      sends, what a file name or a tag says
- ``webkit/``         HTTP plumbing both web apps use (the intake and the desk's local app):
                      security middleware, strict form readers, the Jinja2 set-up
"""
