"""[P]'s towers: SGD stacked on SGD at heights 0..3, with [P] 3.4's step size for every level above the base."""

from __future__ import annotations

from papers.ultimate_optimizer.studies import labels
from training.hyper.stackspec import format_number
from training.studies.base import Cell

TOWER_HEIGHTS = (0, 1, 2, 3)  # [P] Fig. 4: towers of height 0..3 on every benchmark


def paper_kappas(alpha: float, levels: int) -> list[float]:
    """[P] 3.4's step sizes for the levels above a base alpha, extended past three levels.

    alpha <= 1e-4: [alpha*1e2, alpha, alpha*1e-2], continued by factors of 1e-2;
    alpha >= 1e-3: [alpha*1e-3, alpha*1e-4, 1e-8], continued at 1e-8.
    """
    if alpha <= 1e-4:
        return [alpha * 1e2 * 1e-2**i for i in range(levels)]
    pattern = [alpha * 1e-3, alpha * 1e-4]
    return (pattern + [1e-8] * max(levels - 2, 0))[:levels]


def tower_cells(alphas: tuple[float, ...], heights: tuple[int, ...], epochs: int, model: str = "mlp") -> tuple[Cell, ...]:
    """[P] Fig. 4's SGD towers: every base alpha at every height, [P]'s kappa per level."""
    cells = []
    for alpha in alphas:
        for height in heights:
            levels = [f"sgd(alpha={format_number(alpha)})"] + [f"sgd(alpha={format_number(k)})" for k in paper_kappas(alpha, height)]
            cells.append(Cell(labels.tower(height, alpha), " / ".join(levels), epochs, model=model))
    return tuple(cells)
