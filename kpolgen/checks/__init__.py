"""`kpolgen lint`: a catalogue of rules over the config, the fresh render and committed files.

Each rule is one module in ``rules/`` with ``ID``, ``NAME``, ``LEVEL``, ``SUMMARY``,
``EXPLANATION`` (the fix) and ``check(ctx)`` yielding findings. Reporters live in
``reporters.py``; nothing here prints.
"""
