"""The desk's pages: triage in a browser, on the air-gapped laptop, on 127.0.0.1 only.

``aryz desk web --dir DIR [--port 8765]`` unlocks the desk once and serves it to a
browser on the same laptop. No login page: the passphrase at start-up is the lock, and
the listener is bound to loopback alone, so nothing else on a network can reach it.

- :mod:`service.desk.web.cli`     the ``web`` subcommand (imports nothing heavy at load)
- :mod:`service.desk.web.app`     ``create_desk_app(desk)`` and ``serve`` (uvicorn)
- :mod:`service.desk.web.routes`  thin HTTP: parse, call the desk, render or redirect
- :mod:`service.desk.web.logic`   what the pages show: filters, readable answers, paths
- :mod:`service.desk.web.render`  Jinja templates with gettext, the intake's settings
- :mod:`service.desk.web.errors`  the web app's own refusals

It uses only the desk's public API (:mod:`service.desk.casework.desk`) and the web layer's
security middleware; it never imports the server's settings, database or apps
(``tests/desk_web/test_desk_web_imports.py``).

Modules:

- ``app.py``           The desk's web app, wired once: routes, fixed error pages, Host and
                       origin checks
- ``cli.py``           ``aryz desk web --dir DIR [--port 8765]``: the desk's pages in a browser
                       on this laptop
- ``deps.py``          The one dependency the desk's routes share: the desk unlocked at start-up
- ``errors.py``        What the desk's web app refuses, one small class each
- ``guard.py``         The web desk's door: a per-launch secret, no other site, and a lock after
                       idle time
- ``logic.py``         What the desk's pages show, worked out from the desk's plain views
- ``render.py``        The desk's pages: Jinja2 with gettext, the same settings as the intake
                       site
- ``report.py``        Statistics for people: translated tables, SVG charts and the printable
                       HTML report
- ``routes.py``        The desk's pages
- ``settings.py``      Where and how long the desk's local web app listens: 127.0.0.1 only, a
                       port of its own, an idle lock
- ``stats_routes.py``  The desk's pages for a case's legal path and for statistics (routes of
                       issue 7)
"""
