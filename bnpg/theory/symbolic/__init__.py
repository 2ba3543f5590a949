"""The symbolic part of the theory layer: the iteration bounds re-derived with sympy
(:mod:`~bnpg.theory.symbolic.bounds`) and the line-by-line audit of the paper's algebra
(:mod:`~bnpg.theory.symbolic.audit`). Every name here is a sympy expression or a function returning
one; the numeric constants are in :mod:`bnpg.theory.constants` and :mod:`bnpg.theory.sharpened`, and
a symbolic function that has a numeric counterpart ends in ``_expression``.
"""
