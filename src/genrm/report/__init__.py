"""Layer 8, report: what people read.

Owns the results table and plots of a run (`markdown`: results.md, best_of_n.png), the self-contained
report.html (`html`, with its inline charts `charts` and page assets `assets`) and the trained verifiers'
model cards (`card`). Imports: core, tasks, models, engines, data, verifiers, analysis; a report reads run
folders as files and is handed what it cannot read there (a card gets its base model from the pipeline).
"""

from .markdown import markdown_table, plot

__all__ = ["markdown_table", "plot"]
