"""The study contract (``base``): named cells (model, stack, epochs) over seeds, sized per profile.

Each paper defines its own studies in its package (``papers/<name>/``); ``training.sweep.run_study``
trains any of them.
"""
