"""The ``aryz`` command line.

Modules:

- ``demo.py``       ``aryz demo``: a complete local instance with demo keys, for trying Aryz end
                    to end
- ``demo_read.py``  ``aryz demo-read``: open a demo instance's items with its demo desk keys
- ``main.py``       The server's ``aryz`` subcommands: ``serve``, ``demo``, ``demo-read``,
                    ``db``, and the operator's ``onion`` and ``backup`` tools
- ``onions.py``     The glue between ``Settings`` and ``onion/``: which onions ``aryz serve``
                    publishes
- ``registry.py``   ``aryz registry …``: the operator's side of the coalitions' registry changes
- ``serve.py``      Run the intake app, and optionally the courier app, under uvicorn in one
                    process
"""
