"""Watch-category tagging (issue 4): taxonomy data in, categories, entities and facts out.

Importing this package imports no spaCy; ``signals.tagging.pipeline`` does, when a
``Pipeline`` is built.
"""
