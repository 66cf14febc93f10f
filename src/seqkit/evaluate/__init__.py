"""Evaluation: the eval command kit (``kit``) and scoring a model over token streams
(``stream_scoring``).
"""
