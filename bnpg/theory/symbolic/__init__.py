"""The symbolic part of the theory layer: the iteration bounds re-derived with sympy
(:mod:`~bnpg.theory.symbolic.bounds`) and the line-by-line audit of the paper's algebra
(:mod:`~bnpg.theory.symbolic.audit`). Every name here is a sympy expression or a function returning
one; the numeric constants of the same names are in :mod:`bnpg.theory.constants`.
"""
