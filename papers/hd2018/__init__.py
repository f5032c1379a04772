"""[H] "Online Learning Rate Adaptation with Hypergradient Descent" (Baydin, Cornish, Martínez Rubio, Schmidt,
Wood, ICLR 2018), read through the authors' code, run.sh, result CSVs and poster, and [HR] its COMP6248
reproduction (2019): the claims of ../shared/papers/hd2018/CLAIMS.md (``family_b``, ``family_c``, and ``undecided``
for those no study here can speak to), the studies they read (``studies``), the published numbers (``published``,
``reference/``) and the report's words (``report``); ``PAPER`` is what the main job drives.

SGD-HD is our height-1 ``sgd / sgd`` and Adam-HD our ``adam_alpha / sgd``: the same update order as [H] (alpha
first, then the weights with the new alpha; tests/hyper/test_hypergradient_descent.py checks it step by step).
"""

from papers.hd2018.catalogue import CATALOGUE, FAMILIES, missing_hint
from papers.hd2018.fidelity import section
from papers.hd2018.report import TITLE, about
from papers.hd2018.studies import STUDIES
from papers.paper import Paper

PAPER = Paper("hd2018", TITLE, tuple(CATALOGUE), FAMILIES, STUDIES, about, missing_hint, section)
