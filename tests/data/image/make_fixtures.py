#!/usr/bin/env python3
"""Regenerates the image test fixtures with PIL (Debian python3-pil 9.4.0, libjpeg62-turbo 2.1.5).

Run from this folder with the system python: /usr/bin/python3 make_fixtures.py
Writes resize/, decode/, preprocess/ and fixtures.json. Sources are random or synthetic images from
a fixed seed; every expected image is what PIL itself returns:
  resize:     Image.open(src).convert('RGB').resize((w, h), Image.BICUBIC)
  decode:     Image.open(src).convert('RGB')
  preprocess: LLaVA-1.5 'pad' (expand2square with (122,116,104), then resize to size x size) and
              llava-hf 'crop' (shortest edge to size, long edge int(size*long/short), centre crop
              top=(h-size)//2, left=(w-size)//2), as in llava/mm_utils.py and transformers'
              CLIPImageProcessor with the PIL backend.
"""
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

rng = np.random.default_rng(20240601)
manifest = {"resize": [], "decode": [], "preprocess": []}


def save_png(path, arr_or_img):
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    img.save(path, optimize=True)


def noise(h, w):
    return (rng.random((h, w, 3)) * 256).astype(np.uint8)


def smooth(h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([(xx * 255) // max(w - 1, 1), (yy * 255) // max(h - 1, 1),
                     ((xx + yy) * 37) % 256], -1).astype(np.uint8)


def edges(h, w):
    # Hard black/white edges exercise the clipping of the cubic kernel's overshoot.
    return (((np.mgrid[0:h, 0:w][1] // 2 + np.mgrid[0:h, 0:w][0] // 3) % 2) * 255)[..., None].repeat(3, -1).astype(np.uint8)


# --- resize -----------------------------------------------------------------------------------
os.makedirs("resize", exist_ok=True)
resize_sources = {
    "noise_13x7": noise(7, 13), "edges_16x9": edges(9, 16), "noise_1x1": noise(1, 1),
    "noise_1x9": noise(9, 1), "noise_9x1": noise(1, 9), "smooth_300x2": smooth(2, 300),
    "noise_2x150": noise(150, 2), "smooth_37x29": smooth(29, 37),
}
resize_targets = {
    "noise_13x7": [(26, 14), (5, 3), (1, 1), (13, 1), (31, 17), (7, 13)],
    "edges_16x9": [(37, 5), (3, 20), (16, 4)],
    "noise_1x1": [(5, 3), (1, 7)],
    "noise_1x9": [(4, 4), (1, 3), (3, 20)],
    "noise_9x1": [(20, 2), (2, 1)],
    "smooth_300x2": [(17, 3), (1, 1), (40, 40)],
    "noise_2x150": [(3, 11), (1, 200)],
    "smooth_37x29": [(11, 9), (97, 61), (36, 29)],
}
for stem, arr in resize_sources.items():
    src = f"resize/{stem}.png"
    save_png(src, arr)
    for w, h in resize_targets[stem]:
        out = f"resize/{stem}.to{w}x{h}.png"
        save_png(out, Image.open(src).convert("RGB").resize((w, h), Image.BICUBIC))
        manifest["resize"].append({"source": src, "width": w, "height": h, "expected_rgb": out})


# --- decode -----------------------------------------------------------------------------------
os.makedirs("decode", exist_ok=True)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(w, h, depth, ctype, rows, plte=None, trns=None):
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
    if plte is not None:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    out += chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in rows)))
    return out + chunk(b"IEND", b"")


def pack(values, depth):
    if depth == 8:
        return bytes(np.asarray(values, np.uint8))
    if depth == 16:
        return np.asarray(values, ">u2").tobytes()
    per = 8 // depth
    v = list(values) + [0] * ((-len(values)) % per)
    return bytes(int(sum(v[i + j] << (depth * (per - 1 - j)) for j in range(per))) for i in range(0, len(v), per))


W, H = 11, 5
channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
decode_files = {}
for ctype, depths in [(0, [1, 2, 4, 8, 16]), (2, [8, 16]), (3, [1, 2, 4, 8]), (4, [8, 16]), (6, [8, 16])]:
    for depth in depths:
        for trns in ([False, True] if ctype in (0, 2, 3) else [False]):
            top = (1 << depth) - 1
            plte = None
            if ctype == 3:
                n_pal = min(1 << depth, 100)
                data = rng.integers(0, n_pal, (H, W))
                plte = bytes(rng.integers(0, 256, n_pal * 3).astype(np.uint8))
            else:
                data = rng.integers(0, top + 1, (H, W, channels[ctype]))
                if ctype == 0 and depth == 16:
                    data[0, :6, 0] = [0, 1, 255, 256, 1000, 65535]  # PIL clips mode "I" to 255
            rows = [pack(data[y].reshape(-1), depth) for y in range(H)]
            t = None
            if trns:
                if ctype == 3:
                    t = bytes(rng.integers(0, 256, 4).astype(np.uint8))
                elif ctype == 0:
                    t = struct.pack(">H", int(data[0, 0, 0]))
                else:
                    t = struct.pack(">HHH", *[int(x) for x in data[0, 0]])
            name = f"decode/png_type{ctype}_{depth}bit{'_trns' if trns else ''}.png"
            decode_files[name] = raw_png(W, H, depth, ctype, rows, plte, t)
photo = np.clip(noise(19, 27).astype(int) // 4 + smooth(19, 27).astype(int) * 3 // 4, 0, 255).astype(np.uint8)
for quality, subsampling, progressive in [(90, 0, False), (75, 2, False), (60, 1, True), (95, 2, True)]:
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=quality, subsampling=subsampling, progressive=progressive)
    decode_files[f"decode/jpeg_q{quality}_sub{subsampling}{'_progressive' if progressive else ''}.jpg"] = buf.getvalue()
for mode in ("L", "CMYK"):
    buf = io.BytesIO()
    Image.fromarray(photo).convert(mode).save(buf, "JPEG", quality=85)
    decode_files[f"decode/jpeg_{mode}.jpg"] = buf.getvalue()
buf = io.BytesIO()
Image.frombytes("CMYK", (27, 19), (rng.random((19, 27, 4)) * 256).astype(np.uint8).tobytes()).save(buf, "JPEG", quality=85)
decode_files["decode/jpeg_CMYK_random_ink.jpg"] = buf.getvalue()
for name, data in decode_files.items():
    with open(name, "wb") as f:
        f.write(data)
    img = Image.open(name)
    expected = name.rsplit(".", 1)[0] + ".expected.png"
    save_png(expected, np.array(img.convert("RGB")))  # plain RGB, without the source's tRNS info
    manifest["decode"].append({"source": name, "pil_mode": img.mode, "expected_rgb": expected})


# --- preprocess -------------------------------------------------------------------------------
os.makedirs("preprocess", exist_ok=True)


def expand2square(img, color):
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    out = Image.new(img.mode, (side, side), color)
    out.paste(img, ((side - w) // 2, (side - h) // 2))
    return out


def clip_resize_crop(img, size):
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), Image.BICUBIC)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return img.crop((left, top, left + size, top + size))


pad_color = tuple(int(x * 255) for x in (0.48145466, 0.4578275, 0.40821073))
pre_sources = {
    "noise_40x23": (noise(23, 40), [24, 17]), "noise_9x31": (noise(31, 9), [24, 8]),
    "noise_5x3": (noise(3, 5), [24]), "noise_24x24": (noise(24, 24), [24]),
    "smooth_1x700": (smooth(700, 1), [336]), "smooth_700x1": (smooth(1, 700), [336]),
    "smooth_3x500": (smooth(500, 3), [336]), "edges_1000x7": (edges(7, 1000), [32]),
}
for stem, (arr, sizes) in pre_sources.items():
    src = f"preprocess/{stem}.png"
    save_png(src, arr)
    for size in sizes:
        for mode in ("pad", "crop"):
            img = Image.open(src).convert("RGB")
            if mode == "pad":
                img = expand2square(img, pad_color)
            out_img = clip_resize_crop(img, size)
            out = f"preprocess/{stem}.{mode}{size}.png"
            save_png(out, out_img)
            manifest["preprocess"].append({"source": src, "mode": mode, "size": size, "expected_rgb": out})

with open("fixtures.json", "w") as f:
    json.dump(manifest, f, indent=1)
