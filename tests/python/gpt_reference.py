"""PyTorch reference for the C++ cross-check test (tests/model/torch_crosscheck_test.cc).

Usage: gpt_reference.py IN OUT. IN (written by the test, little-endian):
  8 bytes magic b"SSGPTREF", int32 L, C, n_head, d_ff, n_ctx, vocab, B, T, steps,
  float32 beta1, beta2, eps, weight_decay, clip, float32 lr[steps],
  float32 params[N] (model/gpt.h layout, tp = 1), int32 inputs[B*T], int32 targets[B*T].
OUT: float64 loss at step 0, float64 grads[N] of step 0 (before clipping),
  float64 losses[steps] (each step's loss before its AdamW update).
The model runs in float64, so it is the more accurate side of the comparison.
Exit code 3 when torch cannot be imported (the test then skips, visibly).
"""
import struct
import sys

import numpy as np

try:
    import torch
except ImportError as e:  # the C++ test turns this into a visible skip
    print(f"torch not importable: {e}", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import gpt_torch  # noqa: E402


def main(path_in, path_out):
    raw = open(path_in, "rb").read()
    if raw[:8] != b"SSGPTREF":
        raise SystemExit(f"{path_in}: bad magic")
    off = 8
    L, C, NH, F_, T_ctx, V, B, T, steps = struct.unpack_from("<9i", raw, off)
    off += 36
    beta1, beta2, eps, wd, clip = struct.unpack_from("<5f", raw, off)
    off += 20
    lrs = np.frombuffer(raw, "<f4", steps, off).astype(np.float64)
    off += 4 * steps
    n = sum(int(np.prod(s)) for s in gpt_torch.shapes(L, C, F_, T_ctx, V).values())
    flat = torch.from_numpy(np.frombuffer(raw, "<f4", n, off).astype(np.float64))
    off += 4 * n
    idx = torch.from_numpy(np.frombuffer(raw, "<i4", B * T, off).astype(np.int64)).view(B, T)
    off += 4 * B * T
    tgt = torch.from_numpy(np.frombuffer(raw, "<i4", B * T, off).astype(np.int64)).view(B, T)
    off += 4 * B * T
    assert off == len(raw), (off, len(raw))

    p = gpt_torch.params_from_flat(flat, L, C, F_, T_ctx, V, torch.float64)
    opt = gpt_torch.make_optimizer(p, float(lrs[0]), float(wd), float(beta1), float(beta2),
                                   float(eps))
    all_params = [p[name] for name in gpt_torch.NAMES]
    losses, grads0 = [], None
    for step in range(steps):
        opt.zero_grad(set_to_none=False)
        loss = gpt_torch.forward(p, idx, tgt, NH)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            grads0 = torch.cat([t.grad.reshape(-1) for t in all_params]).numpy()
        torch.nn.utils.clip_grad_norm_(all_params, float(clip))
        for g in opt.param_groups:
            g["lr"] = float(lrs[step])
        opt.step()
    with open(path_out, "wb") as f:
        f.write(np.array([losses[0]], "<f8").tobytes())
        f.write(grads0.astype("<f8").tobytes())
        f.write(np.array(losses, "<f8").tobytes())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
