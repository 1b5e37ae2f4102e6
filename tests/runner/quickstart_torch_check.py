# Manual check (not run by ctest; ~20 s per point on 1 core): trains quickstart-shaped byte GPTs
# in PyTorch on the vim docs (any ~9 MB English text works) with the quickstart schedule and
# prints the val loss. Usage: /usr/bin/python3 tests/runner/quickstart_torch_check.py L D [LR] [SEQS]
import glob, math, torch, torch.nn as nn, torch.nn.functional as F, sys
torch.manual_seed(1); torch.set_num_threads(1)
data = b"".join(open(f, "rb").read() for f in sorted(glob.glob("/usr/share/vim/vim90/doc/*.txt")))
t = torch.tensor(list(data), dtype=torch.long); n = int(len(t) * 0.95)
train, val = t[:n], t[n:]
L, d, H, T, V = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[2]) // 16, 64, 256
N = L * 12 * d * d
lr_max = float(sys.argv[3]) if len(sys.argv) > 3 else 0.003239 - 0.0001395 * math.log(N)
D = round(9e10 / (6 * N)); B = int(sys.argv[4]) if len(sys.argv) > 4 else 64; steps = math.ceil(D / (B * T)); warm = round(0.05 * steps)
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.l1 = nn.LayerNorm(d); s.qkv = nn.Linear(d, 3 * d); s.p = nn.Linear(d, d)
        s.l2 = nn.LayerNorm(d); s.fc = nn.Linear(d, 4 * d); s.fp = nn.Linear(4 * d, d)
    def forward(s, x):
        q, k, v = s.qkv(s.l1(x)).split(d, -1)
        sh = lambda z: z.view(z.shape[0], T, H, d // H).transpose(1, 2)
        a = (sh(q) @ sh(k).transpose(-1, -2)) / math.sqrt(d // H)
        a = a.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        x = x + s.p((a @ sh(v)).transpose(1, 2).reshape(x.shape))
        return x + s.fp(F.gelu(s.fc(s.l2(x)), approximate="tanh"))
class GPT(nn.Module):
    def __init__(s):
        super().__init__(); s.wte = nn.Embedding(V, d); s.wpe = nn.Embedding(T, d)
        s.blocks = nn.ModuleList(Block() for _ in range(L)); s.ln = nn.LayerNorm(d)
    def forward(s, idx):
        x = s.wte(idx) + s.wpe(torch.arange(T))
        for b in s.blocks: x = b(x)
        return s.ln(x) @ s.wte.weight.T
m = GPT()
for name, p in m.named_parameters():
    if p.dim() >= 2: nn.init.normal_(p, std=0.02)
    elif "bias" in name: nn.init.zeros_(p)
print("params", sum(p.numel() for p in m.parameters()), "N", N, "D", D, "steps", steps, "lr", lr_max)
opt = torch.optim.AdamW(m.parameters(), lr=lr_max, weight_decay=0.1, betas=(0.9, 0.95))
def batch(src):
    ix = torch.randint(len(src) - T - 1, (B,)); return torch.stack([src[i:i+T] for i in ix]), torch.stack([src[i+1:i+T+1] for i in ix])
for step in range(steps):
    lr = lr_max * (step + 1) / warm if step < warm else lr_max * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm))))
    for g in opt.param_groups: g["lr"] = lr
    x, y = batch(train); loss = F.cross_entropy(m(x).view(-1, V), y.view(-1))
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
    if step % 50 == 0 or step == steps - 1:
        with torch.no_grad():
            vl = sum(F.cross_entropy(m(x).view(-1, V), y.view(-1)).item() for x, y in (batch(val) for _ in range(8))) / 8
        print(step, round(loss.item(), 3), "val", round(vl, 3), flush=True)
