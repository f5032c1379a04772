"""[P] "Gradient Descent: The Ultimate Optimizer" (Chandra, Xie, Ragan-Kelley, Meijer, NeurIPS 2022) and
[R] its reproduction (Sanati, Edgar, Powell, 2023): the claims of CLAIMS.md family by family
(``family_a``..``family_f``, listed in ``catalogue``), their shared history entries (``preregistration``)
and the published tables they compare with (``published``, ``reference/``)."""
