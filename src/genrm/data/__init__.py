"""Layer 5, data: the rows that flow between stages.

Owns sampling and labelling candidate solutions (`candidates`), turning labelled candidates into each
verifier's training rows (`verifier_data`: ORM, GenRM, GenRM-CoT rationales, DPO pairs, unified rows),
teacher-written rationales (`teacher`) and imports of released verifier datasets (`released`).
Imports: core, tasks, models, engines.
"""
