r"""Torch's CPU standard-normal draws, replayed in numpy: the starting parameters of Chen and Zhang's run.

Their run seeds torch (``torch.manual_seed(seed)``) and fills each parameter tensor with
``normal_(0, 1)`` in float32 on the CPU. :func:`torch_normal` returns the same numbers bit for bit
(checked on every tensor of their 49 seeds for n = 2, 3, 5, 151 704 numbers, against torch 2.14.1
on an x86-64 CPU with AVX2), so that :mod:`bnpg.experiments.studies.predecessor` starts where they started,
without torch. What torch computes:

* **Engine.** MT19937 seeded by the 32-bit seed (numpy's ``MT19937`` legacy seeding gives the same
  stream). A float uniform is :math:`(u \,\&\, (2^{24}-1))\,2^{-24}` from one 32-bit output ``u``;
  a double uniform is :math:`(((h \ll 32) | l) \,\&\, (2^{53}-1))\,2^{-53}` from two, ``h`` first.
* **Tensors of at least 16 numbers.** All uniforms are drawn first; each block of 16 is then turned
  into normals by Box-Muller, :math:`z_j = \sqrt{-2\log(1-u_j)}\cos(2\pi u_{j+8})` and
  :math:`z_{j+8} = \sqrt{-2\log(1-u_j)}\sin(2\pi u_{j+8})` for :math:`j < 8`, in float32 with
  the Cephes polynomials of the AVX2 kernel (``log256_ps``, ``sincos256_ps``) and its fused
  multiply-adds; when the size is not a multiple of 16, the last 16 slots are drawn and
  transformed again.
* **Smaller tensors.** One double Box-Muller pair per two numbers,
  :math:`r = \sqrt{-2\,\mathrm{log1p}(-u_2)}`, :math:`\vartheta = 2\pi u_1`, returning
  :math:`r\cos\vartheta` and keeping :math:`r\sin\vartheta` for the next scalar draw, rounded
  to float32.

Every operation is IEEE float32 or float64 arithmetic (a fused multiply-add is emulated exactly in
float64), so the result does not depend on the CPU running this module. On a CPU without AVX2, torch
itself takes another route (libm's ``log``, ``cos`` and ``sin``) and its draws differ in the last
bits; their run was made on a GPU server, whose CPU draws the start.
"""

from __future__ import annotations

import math

import numpy as np

from bnpg._validation import integer

__all__ = ["torch_normal"]

f32 = np.float32
_INF32 = np.float32(np.inf)


class _Engine:
    """MT19937 stream + torch's cached double normal sample."""

    def __init__(self, seed):
        self.bg = np.random.MT19937()
        self.bg._legacy_seeding(int(seed))
        self.next_double_normal = None

    def u32(self, n):
        return self.bg.random_raw(n).astype(np.uint32)

    def uniform_float(self, n):
        r = self.u32(n)
        return (r & np.uint32(0xFFFFFF)).astype(np.float32) * f32(2.0 ** -24)

    def uniform_double(self):
        hi, lo = (int(v) for v in self.bg.random_raw(2))
        return float(((hi << 32) | lo) & ((1 << 53) - 1)) * 2.0 ** -53


# ---------------------------------------------------------------- float32 FMA
def _fma32(a, b, c):
    """Correctly rounded float32 fma(a, b, c), computed via float64."""
    a = np.asarray(a, np.float32).astype(np.float64)
    b = np.asarray(b, np.float32).astype(np.float64)
    c = np.asarray(c, np.float32).astype(np.float64)
    p = a * b                      # exact (48-bit product)
    s = p + c
    bb = s - p
    e = (p - (s - bb)) + (c - bb)  # TwoSum: p + c == s + e exactly
    f = s.astype(np.float32)
    fd = f.astype(np.float64)
    up = np.nextafter(f, _INF32)
    dn = np.nextafter(f, -_INF32)
    # s lies exactly halfway between two float32: the tie was broken to even,
    # but the exact value s+e decides the direction.
    mid_hi = (s > fd) & ((s - fd) * 2 == (up.astype(np.float64) - fd))
    mid_lo = (s < fd) & ((fd - s) * 2 == (fd - dn.astype(np.float64)))
    f = np.where(mid_hi & (e > 0), up, f)
    f = np.where(mid_lo & (e < 0), dn, f)
    return f.astype(np.float32)


# ------------------------------------------------ avx_mathfun.h, FMA-contracted
_LOG_P = [f32(v) for v in (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1,
                           -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
                           2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1)]


def _log256(x):
    x = np.asarray(x, np.float32)
    invalid = x <= 0
    x = np.maximum(x, np.uint32(0x00800000).view(np.float32))
    xi = x.view(np.uint32)
    e = ((xi >> np.uint32(23)).astype(np.int32) - 0x7f).astype(np.float32) + f32(1)
    x = ((xi & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(np.float32)
    mask = x < f32(0.707106781186547524)
    tmp = np.where(mask, x, f32(0))
    x = x - f32(1)
    e = e - np.where(mask, f32(1), f32(0))
    x = x + tmp
    z = x * x
    y = np.full_like(x, _LOG_P[0])
    for k in range(1, 9):
        y = _fma32(y, x, _LOG_P[k])             # y*x + p_k
    y = y * x
    y = _fma32(y, z, e * f32(-2.12194440e-4))  # y*z + e*q1
    y = _fma32(-z, f32(0.5), y)                # y - z*0.5
    x = _fma32(e, f32(0.693359375), x + y)     # (x+y) + e*q2
    return np.where(invalid, np.float32(np.nan), x).astype(np.float32)


def _sincos256(x):
    x = np.asarray(x, np.float32)
    sign_sin = x.view(np.uint32) & np.uint32(0x80000000)
    x = np.abs(x)
    y = x * f32(1.27323954473516)
    j = y.astype(np.int32)                 # cvttps (truncation)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    swap_sin = ((j & 4) << 29).astype(np.uint32)
    poly_mask = (j & 2) == 0
    x = _fma32(y, f32(-0.78515625), x)
    x = _fma32(y, f32(-2.4187564849853515625e-4), x)
    x = _fma32(y, f32(-3.77489497744594108e-8), x)
    sign_cos = ((~(j - 2) & 4) << 29).astype(np.uint32)
    sign_sin = sign_sin ^ swap_sin
    z = x * x
    yc = np.full_like(x, f32(2.443315711809948E-005))
    yc = _fma32(yc, z, f32(-1.388731625493765E-003))
    yc = _fma32(yc, z, f32(4.166664568298827E-002))
    yc = yc * z
    yc = _fma32(yc, z, -(z * f32(0.5)))    # (yc*z)*z - z*0.5, first product fused
    yc = yc + f32(1)
    ys = np.full_like(x, f32(-1.9515295891E-4))
    ys = _fma32(ys, z, f32(8.3321608736E-3))
    ys = _fma32(ys, z, f32(-1.6666654611E-1))
    ys = ys * z
    ys = _fma32(ys, x, x)
    ysin2 = np.where(poly_mask, ys, f32(0))
    ysin1 = np.where(poly_mask, f32(0), yc)
    ys = ys - ysin2
    yc = yc - ysin1
    s = ((ysin1 + ysin2).view(np.uint32) ^ sign_sin).view(np.float32)
    c = ((yc + ys).view(np.uint32) ^ sign_cos).view(np.float32)
    return s, c


_TWO_PI_F = f32(2.0 * math.pi)


def _normal_fill_16(d, mean, std):
    u1 = f32(1) - d[:8]
    u2 = d[8:16]
    radius = np.sqrt(f32(-2) * _log256(u1)).astype(np.float32)
    s, c = _sincos256(_TWO_PI_F * u2)
    n1 = radius * c
    n2 = radius * s
    return np.concatenate([_fma32(n1, std, mean), _fma32(n2, std, mean)])


def _normal_fill(eng, size, mean, std):
    data = eng.uniform_float(size)
    for i in range(0, size - 15, 16):
        data[i:i + 16] = _normal_fill_16(data[i:i + 16], mean, std)
    if size % 16 != 0:
        data[size - 16:] = _normal_fill_16(eng.uniform_float(16), mean, std)
    return data


def _normal_scalar(eng, size, mean, std):
    out = np.empty(size, np.float32)
    for k in range(size):
        if eng.next_double_normal is not None:
            ret = eng.next_double_normal
            eng.next_double_normal = None
        else:
            u1 = eng.uniform_double()
            u2 = eng.uniform_double()
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            eng.next_double_normal = r * math.sin(theta)
            ret = r * math.cos(theta)
        out[k] = np.float32(ret * std + mean)
    return out


def torch_normal(seed: int, shapes, mean: float = 0.0, std: float = 1.0) -> list[np.ndarray]:
    """``torch.manual_seed(seed)``, then ``torch.empty(shape).normal_(mean, std)`` for each shape, on the CPU.

    Parameters
    ----------
    seed : int
        ``0 <= seed < 2**32``.
    shapes : sequence of tuple of int
        The tensors' shapes, in the order they are drawn.
    mean, std : float
        Checked bit for bit against torch for ``mean=0, std=1``.

    Returns
    -------
    list of ndarray of float32

    Examples
    --------
    >>> [round(float(x), 4) for x in torch_normal(1, [(3,)])[0]]   # torch.manual_seed(1); torch.randn(3)
    [0.6614, 0.2669, 0.0617]
    """
    seed = integer("seed", seed, minimum=0)
    if seed >= 2**32:
        raise ValueError(f"seed must be below 2**32, got {seed}")
    shapes = [tuple(integer("shapes", k, minimum=0) for k in (s if np.iterable(s) else (s,))) for s in shapes]
    eng = _Engine(seed)
    outs = []
    for shape in shapes:
        size = int(np.prod(shape, dtype=np.int64))
        if size >= 16:
            flat = _normal_fill(eng, size, f32(mean), f32(std))
        else:
            flat = _normal_scalar(eng, size, float(mean), float(std))
        outs.append(flat.reshape(shape))
    return outs
