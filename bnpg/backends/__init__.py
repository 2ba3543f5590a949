"""The compiled kernels (numba) of the exact gradient and the dynamics, and the choice
between them and the numpy reference.
"""
