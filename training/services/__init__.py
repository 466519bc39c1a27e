"""The learning loop's services: policy, cycle (start and run), schedule, promotion.

Modules: policy (when a project is due), lease (who runs a run), steps (export, train,
evaluate, register, decide), cycle (start_cycle, run_cycle), weights (what a run starts
from), schedule (the beat row), promotion (promote, roll back), curves (charts' data).
"""
