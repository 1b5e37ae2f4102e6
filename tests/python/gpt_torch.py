"""The GPT of model/gpt.h written independently in PyTorch (explicit attention:
torch 1.13 has no scaled_dot_product_attention), for the cross-check
(gpt_reference.py) and the side-by-side benchmark (bench/model/torch_bench.py).

Invariant: the parameter layout (names, order, shapes) is derived here from the
config and the documented layout in model/gpt.h, not read from our code, so a
layout bug on either side shows up as a mismatch.
"""
import math

import torch
import torch.nn.functional as F

# Buffer order of model/gpt.h (tp = 1) and the tensors that get weight decay.
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
DECAY = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}


def shapes(L, C, F_, T, V):
    return {
        "wte": (V, C), "wpe": (T, C), "ln1w": (L, C), "ln1b": (L, C),
        "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C), "attprojw": (L, C, C), "attprojb": (L, C),
        "ln2w": (L, C), "ln2b": (L, C), "fcw": (L, F_, C), "fcb": (L, F_),
        "fcprojw": (L, C, F_), "fcprojb": (L, C), "lnfw": (C,), "lnfb": (C,),
    }


def params_from_flat(flat, L, C, F_, T, V, dtype):
    """Leaf tensors (requires_grad) cut from a flat 1-D tensor in NAMES order."""
    out, off = {}, 0
    for name in NAMES:
        shp = shapes(L, C, F_, T, V)[name]
        n = math.prod(shp)
        out[name] = flat[off:off + n].reshape(shp).to(dtype).clone().requires_grad_(True)
        off += n
    assert off == flat.numel(), (off, flat.numel())
    return out


def init_params(L, C, F_, T, V, dtype, seed=0):
    """GPT-2 init (std 0.02, residual projections 0.02/sqrt(2L)) for the benchmark."""
    g = torch.Generator().manual_seed(seed)
    p = {}
    for name, shp in shapes(L, C, F_, T, V).items():
        if name in ("ln1w", "ln2w", "lnfw"):
            t = torch.ones(shp, dtype=dtype)
        elif name in ("attprojw", "fcprojw"):
            t = torch.randn(shp, generator=g, dtype=dtype) * (0.02 / math.sqrt(2 * L))
        elif name in DECAY:
            t = torch.randn(shp, generator=g, dtype=dtype) * 0.02
        else:
            t = torch.zeros(shp, dtype=dtype)
        p[name] = t.requires_grad_(True)
    return p


def forward(p, idx, tgt, n_head):
    """Mean cross-entropy of targets tgt (B, T) given inputs idx (B, T)."""
    B, T = idx.shape
    V, C = p["wte"].shape
    L = p["ln1w"].shape[0]
    hs = C // n_head
    x = p["wte"][idx] + p["wpe"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        h = F.layer_norm(x, (C,), p["ln1w"][l], p["ln1b"][l], eps=1e-5)
        qkv = h @ p["qkvw"][l].T + p["qkvb"][l]
        q, k, v = qkv.split(C, dim=-1)
        q = q.view(B, T, n_head, hs).transpose(1, 2)
        k = k.view(B, T, n_head, hs).transpose(1, 2)
        v = v.view(B, T, n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p["attprojw"][l].T + p["attprojb"][l]
        h = F.layer_norm(x, (C,), p["ln2w"][l], p["ln2b"][l], eps=1e-5)
        h = F.gelu(h @ p["fcw"][l].T + p["fcb"][l], approximate="tanh")
        x = x + h @ p["fcprojw"][l].T + p["fcprojb"][l]
    x = F.layer_norm(x, (C,), p["lnfw"], p["lnfb"], eps=1e-5)
    logits = x @ p["wte"].T
    return F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))


def make_optimizer(p, lr, weight_decay, beta1=0.9, beta2=0.95, eps=1e-8):
    decay = [p[n] for n in NAMES if n in DECAY]
    no_decay = [p[n] for n in NAMES if n not in DECAY]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=(beta1, beta2), eps=eps)
