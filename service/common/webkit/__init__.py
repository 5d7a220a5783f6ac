"""HTTP plumbing both web apps use (the intake and the desk's local app): security middleware,
strict form readers, the Jinja2 set-up.

Modules:

- ``forms.py``     Read small ``application/x-www-form-urlencoded`` bodies strictly
- ``head.py``      HEAD answered as GET without its body (attack review F12: every page answered
                   405)
- ``render.py``    The one Jinja2 set-up both sites share (the intake and the desk's local web
                   app): autoescaping everywhere (strings too), strict undefined, trimmed
                   blocks, and the language's catalog installed new-style (``_("%(num)s files",
                   num=n)`` substitutes and escapes placeholders)
- ``security.py``  ASGI middleware that every response passes through: headers, Host and origin
                   checks
"""
