"""The ways to run a compiled law version (:class:`engine.LawVersion`).

Two backends walk the same typed IR:

* ``rete``: one case at a time on a durable-rules Rete network, with the full trace that explanations,
  ``compare`` and receipts need. It is the reference.
* ``columnar``: whole populations at once, each derived value, requirement, computation and the decision
  compiled into a vectorized plan over an Arrow-backed table of facts (the layout in :mod:`._layout`). A
  differential test proves it equal to the Rete kernel, row by row, on every bundled law version.
"""
