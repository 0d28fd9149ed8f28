#!/usr/bin/env python3
"""PyTorch-eager reference for bench/train_step_bench: one SynthVQA training step of the same
LLaVA-1.5-shaped model (configs/models/synthvqa-tiny.json), written as a user would write it
(HF-transformers style: nn.Linear, eager attention, torch.autocast), same batch, sequence length,
dtype and threads. Prints ms per image for forward, backward and the AdamW step (best of --reps).

  python3 bench/train_step_reference.py --seq-len 676 --batch 8 --threads 2
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ClipLayer(nn.Module):
    def __init__(self, d, inter, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, inter), nn.Linear(inter, d)

    def forward(self, x):
        b, n, d = x.shape
        h = self.ln1(x)
        q, k, v = (p(h).view(b, n, self.heads, -1).transpose(1, 2) for p in (self.q, self.k, self.v))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), -1, dtype=torch.float32)
        x = x + self.o((a.to(v.dtype) @ v).transpose(1, 2).reshape(b, n, d))
        h = self.fc1(self.ln2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        xf = x.float()
        return self.w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat((-b, a), -1)


class LlamaLayer(nn.Module):
    def __init__(self, d, inter, heads):
        super().__init__()
        self.heads = heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, inter, bias=False), nn.Linear(d, inter, bias=False)
        self.down = nn.Linear(inter, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, n, d = x.shape
        h = self.n1(x)
        q, k, v = (p(h).view(b, n, self.heads, -1).transpose(1, 2) for p in (self.q, self.k, self.v))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads) + mask
        a = torch.softmax(s, -1, dtype=torch.float32).to(v.dtype)
        x = x + self.o((a @ v).transpose(1, 2).reshape(b, n, d))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class TinyLlava(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        v, t = cfg["vision_config"], cfg["text_config"]
        dv, dt = v["hidden_size"], t["hidden_size"]
        self.grid = v["image_size"] // v["patch_size"]
        self.patch = nn.Conv2d(3, dv, v["patch_size"], v["patch_size"], bias=False)
        self.cls = nn.Parameter(torch.zeros(dv))
        self.pos = nn.Embedding(self.grid * self.grid + 1, dv)
        self.pre = nn.LayerNorm(dv)
        # LLaVA reads the penultimate layer: the last one never runs.
        self.vlayers = nn.ModuleList(ClipLayer(dv, v["intermediate_size"], v["num_attention_heads"])
                                     for _ in range(v["num_hidden_layers"] - 1))
        self.proj = nn.Sequential(nn.Linear(dv, dt), nn.GELU(), nn.Linear(dt, dt))
        self.embed = nn.Embedding(t["vocab_size"], dt)
        self.layers = nn.ModuleList(LlamaLayer(dt, t["intermediate_size"], t["num_attention_heads"])
                                    for _ in range(t["num_hidden_layers"]))
        self.norm = RMSNorm(dt)
        self.head = nn.Linear(dt, t["vocab_size"], bias=False)
        self.head_dim = dt // t["num_attention_heads"]

    def forward(self, pixels, ids, targets):
        b = pixels.shape[0]
        x = self.patch(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(b, 1, -1).to(x.dtype), x], 1) + self.pos.weight
        x = self.pre(x)
        for layer in self.vlayers:
            x = layer(x)
        image = self.proj(x[:, 1:])
        text = self.embed(ids)
        x = torch.cat([text[:, :1], image.to(text.dtype), text[:, 1:]], 1)
        n = x.shape[1]
        inv = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        f = torch.arange(n).float()[:, None] * inv[None]
        emb = torch.cat([f, f], -1)
        mask = torch.full((n, n), float("-inf")).triu(1)
        for layer in self.layers:
            x = layer(x, emb.cos(), emb.sin(), mask)
        h = self.norm(x)
        rows = targets.flatten() != -100
        logits = self.head(h.flatten(0, 1)[rows]).float()
        return F.cross_entropy(logits, targets.flatten()[rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/models/synthvqa-tiny.json")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=676, help="text + image tokens of the spliced sequence")
    ap.add_argument("--targets", type=int, default=12, help="target tokens per sequence")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.load(open(a.config))
    model = TinyLlava(cfg)
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    s = cfg["vision_config"]["image_size"]
    pixels = torch.randn(a.batch, 3, s, s)
    n_text = a.seq_len - model.grid * model.grid
    ids = torch.randint(3, 1000, (a.batch, n_text))
    targets = torch.full((a.batch, a.seq_len), -100)
    targets[:, -a.targets:] = torch.randint(3, 1000, (a.batch, a.targets))
    print("| precision | forward ms | backward ms | optimiser ms | ms/image |\n|---|---|---|---|---|")
    for bf16 in (False, True):
        best = [1e30, 1e30, 1e30]
        for _ in range(a.reps):
            opt.zero_grad()
            t0 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(pixels, ids, targets)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            best = [min(best[0], t1 - t0), min(best[1], t2 - t1), min(best[2], t3 - t2)]
        f, bw, o = (x * 1e3 for x in best)
        print(f"| {'bf16 autocast' if bf16 else 'fp32'} | {f:.0f} | {bw:.0f} | {o:.0f} | {(f + bw + o) / a.batch:.0f} |")


if __name__ == "__main__":
    main()
