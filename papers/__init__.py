"""The papers on trial, one package each: its claims, the studies they read, its published tables and words.

The claims engine (``claims``) knows no paper; a paper's package declares its claims with the engine's types
and reads the runs its studies (over ``training.studies.base``'s contract) produce.
"""
