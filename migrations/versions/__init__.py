"""The Alembic revisions, ``0001`` onwards.

Modules:

- ``0001_initial.py``         initial schema: cases, items, item chunks
- ``0002_courier.py``         courier round trip: challenges, bundles, replies, applied outboxes
- ``0003_signed_answers.py``  signed answers: the desk's signature kept with each status and
                              reply
- ``0004_keep_imported.py``   keep imported items until a desk backup holds them:
                              items.imported_week
- ``0005_urgent_lane.py``     urgent lane: urgent records sealed to a duty key, the duty
                              officer's acknowledgement
- ``0006_case_kdf.py``        record which token-KDF parameters made each case's lookup key:
                              cases.kdf
"""
