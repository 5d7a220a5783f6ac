"""The intake web site for victims and relatives: server-rendered, works without JavaScript.

Modules:

- ``logic.py``   Form-path work: turn what a person typed or uploaded into sealed items
- ``routes.py``  Intake pages
- ``steps.py``   The questionnaire as a multi-step form without JavaScript
"""
