#!/usr/bin/env python3
"""A toy of the lookup the embedded model's language model must learn (docs/synthvqa.md, "Why the
language model sits at chance"): "What color is the <shape>?" over a sequence of object tokens
(embedding of the colour word + embedding of the shape word, as --symbol-words builds them), optional
identical background tokens, a text prefix and filler tokens between the question and the answer.
A decoder of the embedded model's width and depth (256 x 4 layers, 4 heads, RoPE or learned
positions), AdamW 1e-3 with 50 warm-up steps, batch 48 (--batch), gradient clipping 1, as train-synth.

It prints the answer accuracy on the training batches every 50 steps. Measured 2026-12-06 (2 threads,
PyTorch 1.13): with 1-5 object tokens and nothing else the lookup is learned by step 100 (0.95); with
50 identical background tokens (--background 50) it stays at 0.53-0.59 through step 300. The other
settings are in the table of docs/synthvqa.md. --attention-supervision W adds W x -log(the attention
mass that the answer position (or, with --supervise-span, every position from the shape word on) puts on
the asked object's tokens in --supervised-layer): there the mass stayed at 0.45, "all objects alike",
because the answer position does not know the asked word yet; train-synth supervises the mention's own
token instead (docs/synthvqa.md). Needs python3-torch.
"""
import argparse
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH, HEADS, FFN = 256, 4, 688  # configs/models/synthvqa-tiny.json text_config
BOS, WHAT, COLOR, IS, THE, QMARK, BACKGROUND = 0, 12, 13, 14, 15, 16, 17
COLOURS, SHAPES = range(1, 7), range(7, 12)  # token ids of the 6 colour and 5 shape words
FILLER0, PREFIX0, VOCAB = 18, 40, 96


def rotate(x, theta, positions):  # RoPE over [B, H, L, hd] at positions [L], HF rotate_half convention
    hd = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
    freqs = positions.float()[:, None] * inv[None]
    emb = torch.cat([freqs, freqs], -1)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * emb.cos() + torch.cat([-x2, x1], -1) * emb.sin()


class RmsNorm(nn.Module):  # LLaMA's, eps 1e-5 as the embedded model's config
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(WIDTH))

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)


class Block(nn.Module):
    def __init__(self, theta, llama):
        super().__init__()
        self.theta, self.llama = theta, llama
        self.norm1, self.norm2 = (RmsNorm(), RmsNorm()) if llama else (nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH))
        self.gate = nn.Linear(WIDTH, FFN, bias=False)  # SwiGLU's gate (--llama)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.out = nn.Linear(WIDTH, WIDTH, bias=False)
        self.up, self.down = nn.Linear(WIDTH, FFN, bias=False), nn.Linear(FFN, WIDTH, bias=False)

    def forward(self, x, mask, positions):
        b, length, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, length, 3, HEADS, WIDTH // HEADS).permute(2, 0, 3, 1, 4)
        if self.theta > 0:
            q, k = rotate(q, self.theta, positions), rotate(k, self.theta, positions)
        attn = ((q @ k.transpose(-1, -2)) / (WIDTH // HEADS) ** 0.5).masked_fill(mask, -1e9).softmax(-1)
        self.attention = attn  # [B, H, L, L]
        x = x + self.out((attn @ v).transpose(1, 2).reshape(b, length, WIDTH))
        y = self.norm2(x)
        return x + self.down(F.silu(self.gate(y)) * self.up(y) if self.llama else F.silu(self.up(y)))


class Decoder(nn.Module):
    def __init__(self, layers, theta, gap, llama=False):
        super().__init__()
        self.theta, self.gap = theta, gap
        self.shared_features = False
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.position = nn.Embedding(2048, WIDTH)
        self.grid_row, self.grid_column = nn.Embedding(24, WIDTH), nn.Embedding(24, WIDTH)
        self.shared = nn.Embedding(3, WIDTH)  # what every object token shares (--shared-features)
        self.blocks = nn.ModuleList(Block(theta, llama) for _ in range(layers))
        self.norm = RmsNorm() if llama else nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB, bias=False)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0, 0.02)

    def forward(self, objects, grid, text):  # objects [B, N, 2] (colour, shape ids), grid [B, N, 2], text [B, T]
        image = self.embed(objects).sum(2)
        if grid is not None:  # each image token also carries its patch's row and column, as symbol tokens do
            image = image + self.grid_row(grid[..., 0]) + self.grid_column(grid[..., 1])
        if self.shared_features:  # no-character, no-slot and not-a-centre rows, the same on every object patch
            image = image + self.shared.weight.sum(0)
        x = torch.cat([image, self.embed(text)], 1)
        length = x.shape[1]
        # The text starts `gap` positions after the image, as if hidden image tokens lay between them.
        positions = torch.cat([torch.arange(image.shape[1]), torch.arange(text.shape[1]) + image.shape[1] + self.gap])
        if self.theta == 0:
            x = x + self.position(positions)
        mask = torch.ones(length, length, dtype=torch.bool).triu(1)
        for block in self.blocks:
            x = block(x, mask, positions)
        return self.head(self.norm(x))


def batch(size, args):
    objects, text, answers, focus = [], [], [], []
    for _ in range(size):
        shapes = random.sample(SHAPES, random.randint(1, 5))
        scene = [[random.choice(COLOURS), s] for s in shapes]
        slots = [o for o in scene for _ in range(args.patches_per_object)]
        slots += [[BACKGROUND, BACKGROUND]] * (args.background + (5 - len(scene)) * args.patches_per_object)
        random.shuffle(slots)
        prefix = [[PREFIX0 + i, PREFIX0 + i] for i in range(args.prefix)]
        asked = random.choice(scene)
        focus.append([0] * len(prefix) + [int(o == asked) for o in slots])
        objects.append(prefix + slots)
        text.append([WHAT, COLOR, IS, THE, asked[1], QMARK] + [FILLER0 + i for i in range(args.fillers)])
        answers.append(asked[0])
    return torch.tensor(objects), torch.tensor(text), torch.tensor(answers), torch.tensor(focus, dtype=torch.bool)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--background", type=int, default=0, help="identical background tokens")
    p.add_argument("--patches-per-object", type=int, default=1)
    p.add_argument("--prefix", type=int, default=0, help="distinct tokens before the image")
    p.add_argument("--fillers", type=int, default=0, help="tokens between the question and the answer")
    p.add_argument("--llama", action="store_true", help="LLaMA blocks: RMSNorm and a SwiGLU MLP")
    p.add_argument("--shared-features", action="store_true", help="add three embeddings every image token shares")
    p.add_argument("--grid-features", action="store_true", help="add a random row and column embedding to each image token")
    p.add_argument("--position-gap", type=int, default=0, help="positions skipped between image and text")
    p.add_argument("--rope-theta", type=float, default=10000.0, help="0 = learned absolute positions")
    p.add_argument("--attention-supervision", type=float, default=0.0,
                   help="weight of -log(attention mass on the asked object's tokens), at the answer position")
    p.add_argument("--supervise-span", action="store_true",
                   help="supervise every position from the question's shape word to the answer, not only the answer's")
    p.add_argument("--supervised-layer", type=int, default=1, help="the block whose mean-over-heads attention is supervised")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=48, help="questions per step")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    model = Decoder(args.layers, args.rope_theta, args.position_gap, args.llama)
    model.shared_features = args.shared_features
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.05)
    start, right, supervised_mass = time.time(), 0.0, 0.0
    for step in range(1, args.steps + 1):
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, step / 50)
        objects, text, answers, focus = batch(args.batch, args)
        grid = torch.randint(0, 24, (objects.shape[0], objects.shape[1], 2)) if args.grid_features else None
        logits = model(objects, grid, text)[:, -1]
        loss = F.cross_entropy(logits, answers)
        mass = torch.zeros(())
        if args.attention_supervision > 0:
            span = args.fillers + 2 if args.supervise_span else 1  # shape word, "?", fillers
            attention = model.blocks[args.supervised_layer].attention.mean(1)[:, -span:]  # [B, span, L]
            masses = (attention[..., : focus.shape[1]] * focus[:, None]).sum(-1)  # [B, span]
            loss = loss + args.attention_supervision * -(masses + 1e-6).log().mean()
            mass = masses[:, -1]  # the answer position's
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        right += (logits.argmax(-1) == answers).float().mean().item()
        supervised_mass += mass.mean().item()
        if step % 50 == 0:
            print(f"step {step}  loss {loss.item():.3f}  answer accuracy {right / 50:.3f}  "
                  f"attention on the asked object {supervised_mass / 50:.3f}  {time.time() - start:.0f} s", flush=True)
            right, supervised_mass = 0.0, 0.0


if __name__ == "__main__":
    main()
