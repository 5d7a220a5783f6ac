"""The web layer: HTTP plumbing shared by the public and staff sites.

Modules:

- ``assets.py``       The scripts the intake site serves, and their Subresource Integrity values
- ``connections.py``  The HTTP connections themselves: a deadline and a size cap for every
                      request head, and a bound on how many connections the process holds
                      (attack review F2, F6, F10)
- ``errors.py``       One place that turns every failure into a fixed, translated, non-echoing
                      response
- ``multipart.py``    A streaming multipart/form-data reader that never writes a byte to disk
- ``render.py``       Server-side rendering: Jinja2 templates with gettext
"""
