"""Statistics and the legal path: coded facts per questionnaire version, tables with small-cell
suppression, charts, published reports.

Modules:

- ``casework.py``  A case's legal-path events and statistical facts, read from and written to
                   the store
- ``charts.py``    Bar charts as SVG text: no JavaScript, no fonts or images to fetch, printable
- ``facts.py``     What statistics may know about a case: a few coded facts derived from its
                   answers
- ``outcomes.py``  The legal path of a case: dated events from complaint to verdict and
                   compensation
- ``report.py``    Statistics as files to publish: JSON and CSV (``REPORT-v1.md`` documents
                   both)
- ``suppress.py``  Small-cell suppression: publish a table so that no small count can be worked
                   out
- ``tables.py``    The desk's publishable statistics: counts by country and one dimension each,
                   the path from complaint to conviction, and the time between stages
"""
