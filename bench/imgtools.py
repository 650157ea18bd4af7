#!/usr/bin/env python3
"""Helpers for bench/compare.sh (Python standard library only).

  with-pty WxH -- CMD...     run CMD with SHENHE_PTY naming a pty whose cells
                             are WxH pixels (chafa reads the cell size from a
                             tty on stderr; a pipe alone gives it none)
  kitty-canvas IN OUT.ppm    the RGB pixels inside a kitty transmission (our
                             render-image --protocol kitty): exactly what the
                             encoders were given
  ppm-to-png IN.ppm OUT.png
  crop60 IN.ppm OUT.ppm OUT.png  crop to a multiple of 60 rows (cells and bands)
  dcs IN OUT                 the first DCS ... ST (the sixel) of a stream
  psnr A B [X Y W H]         PSNR in dB (PNG or PPM) over all or a window
  find SHOT CANVAS           where CANVAS sits in the screenshot SHOT (best
                             match near the top left) and the PSNR there
  agree SHOT X Y IMG         share of IMG's pixels the screenshot shows at
                             X,Y within 2 levels per channel
  time N -- CMD...           median wall time of N runs in ms (no hyperfine)
  ratios JSON                table of hyperfine medians and ratios
"""

import base64
import json
import os
import pty
import re
import statistics
import struct
import subprocess
import sys
import time
import zlib


def with_pty(size, cmd):
    cw, ch = (int(v) for v in size.lower().split("x"))
    master, slave = pty.openpty()
    cols, rows = 200, 60
    import fcntl
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, cols * cw, rows * ch))
    env = dict(os.environ, SHENHE_PTY=os.ttyname(slave))
    return subprocess.call(cmd, env=env)


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts = []
    i = 0
    while len(parts) < 4:
        while data[i : i + 1].isspace():
            i += 1
        if data[i : i + 1] == b"#":
            while data[i : i + 1] != b"\n":
                i += 1
            continue
        j = i
        while not data[j : j + 1].isspace():
            j += 1
        parts.append(data[i:j])
        i = j
    i += 1
    assert parts[0] == b"P6" and parts[3] == b"255", "need 8-bit P6"
    w, h = int(parts[1]), int(parts[2])
    return w, h, data[i : i + w * h * 3]


def read_png(path):
    """8-bit non-interlaced RGB, RGBA, grey or palette PNG to (w, h, rgb)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    i, idat, plte = 8, b"", None
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            plte = body
        elif kind == b"IDAT":
            idat += body
        i += 12 + n
    assert depth == 8 and interlace == 0, "need 8-bit, non-interlaced"
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray(h * stride)
    prev = bytearray(stride)
    pos = 0
    for y in range(h):
        f = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        out[y * stride : (y + 1) * stride] = line
        prev = line
    if ctype == 2:
        return w, h, bytes(out)
    rgb = bytearray(w * h * 3)
    for k in range(w * h):
        if ctype == 3:
            rgb[k * 3 : k * 3 + 3] = plte[out[k] * 3 : out[k] * 3 + 3]
        elif ctype in (0, 4):
            rgb[k * 3 : k * 3 + 3] = bytes([out[k * bpp]] * 3)
        else:
            rgb[k * 3 : k * 3 + 3] = out[k * 4 : k * 4 + 3]
    return w, h, bytes(rgb)


def read_image(path):
    return read_png(path) if path.endswith(".png") else read_ppm(path)


def write_ppm(path, w, h, rgb):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(rgb)


def write_png(path, w, h, rgb):
    def chunk(kind, body):
        c = kind + body
        return struct.pack(">I", len(body)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + rgb[y * w * 3 : (y + 1) * w * 3] for y in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def kitty_canvas(src, out):
    data = open(src, "rb").read().decode("ascii", "replace")
    # Undo tmux wrapping if present.
    data = data.replace("\x1bPtmux;", "").replace("\x1b\x1b", "\x1b")
    cmds = re.findall(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\", data)
    if not cmds:
        sys.exit("no kitty transmission found")
    params = dict(kv.split("=", 1) for kv in cmds[0][0].split(","))
    payload = base64.b64decode("".join(p for _, p in cmds))
    if params.get("o") == "z":
        payload = zlib.decompress(payload)
    if params.get("f") != "24":
        sys.exit("expected f=24 (RGB)")
    w, h = int(params["s"]), int(params["v"])
    write_ppm(out, w, h, payload[: w * h * 3])
    print(f"{w} {h}")


def dcs(src, out):
    data = open(src, "rb").read()
    start = data.find(b"\x1bP")
    end = data.find(b"\x1b\\", start)
    if start < 0 or end < 0:
        sys.exit("no DCS sequence found")
    open(out, "wb").write(data[start : end + 2])


def psnr(a, b, window=None):
    wa, ha, pa = read_image(a)
    wb, hb, pb = read_image(b)
    if (wa, ha) != (wb, hb):
        sys.exit(f"sizes differ: {wa}x{ha} vs {wb}x{hb}")
    x, y, w, h = window or (0, 0, wa, ha)
    se = 0
    for row in range(y, y + h):
        s = (row * wa + x) * 3
        ra, rb = pa[s : s + w * 3], pb[s : s + w * 3]
        se += sum((p - q) * (p - q) for p, q in zip(ra, rb))
    mse = se / (w * h * 3)
    print("inf" if mse == 0 else f"{10 * __import__('math').log10(255 * 255 / mse):.2f}")


def find(shot, canvas):
    sw, sh, sp = read_image(shot)
    cw, ch, cp = read_image(canvas)

    def se_at(ox, oy, step):
        se = n = 0
        for y in range(0, ch, step):
            s = ((y + oy) * sw + ox) * 3
            c = y * cw * 3
            row_s = sp[s : s + cw * 3]
            row_c = cp[c : c + cw * 3]
            for i in range(0, cw * 3, 3 * step):
                for k in range(3):
                    d = row_s[i + k] - row_c[i + k]
                    se += d * d
                n += 3
        return se / n

    # A terminal puts the picture at the cursor, past its border and any
    # rows it scrolled: search the top left coarsely, then score in full.
    cands = [(ox, oy) for oy in range(0, min(200, sh - ch)) for ox in range(0, min(40, sw - cw))]
    ox, oy = min(cands, key=lambda o: se_at(o[0], o[1], 9))
    mse = se_at(ox, oy, 1)
    db = "inf" if mse == 0 else f"{10 * __import__('math').log10(255 * 255 / mse):.2f}"
    print(f"{db} {ox} {oy}")


def agree(shot, ox, oy, img):
    sw, sh, sp = read_image(shot)
    w, h, p = read_image(img)
    ok = 0
    for y in range(h):
        s = ((y + oy) * sw + ox) * 3
        rs, ri = sp[s : s + w * 3], p[y * w * 3 : (y + 1) * w * 3]
        for i in range(0, w * 3, 3):
            if all(abs(rs[i + k] - ri[i + k]) <= 2 for k in range(3)):
                ok += 1
    print(f"{100 * ok / (w * h):.3f}")


def time_cmd(n, cmd):
    samples = []
    for _ in range(int(n)):
        t = time.perf_counter()
        subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, check=True)
        samples.append((time.perf_counter() - t) * 1000)
    print(f"{statistics.median(samples):.1f}")


def ratios(path):
    res = json.load(open(path))["results"]
    base = res[0]["median"]
    for r in res:
        name = r["command"]
        print(f"    {r['median'] * 1000:8.1f} ms  x{r['median'] / base:5.2f}  {name}")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "with-pty":
        sys.exit(with_pty(args[0], args[2:] if args[1:2] == ["--"] else args[1:]))
    elif cmd == "kitty-canvas":
        kitty_canvas(*args)
    elif cmd == "ppm-to-png":
        w, h, rgb = read_ppm(args[0])
        write_png(args[1], w, h, rgb)
    elif cmd == "crop60":
        # chafa draws whole cells (20 px) and whole sixel bands (6 px): give
        # it a canvas that is both, so both sides compare like with like.
        w, h, rgb = read_ppm(args[0])
        h6 = max(60, h - h % 60)
        write_ppm(args[1], w, h6, rgb[: w * h6 * 3])
        write_png(args[2], w, h6, rgb[: w * h6 * 3])
    elif cmd == "dcs":
        dcs(*args)
    elif cmd == "psnr":
        psnr(args[0], args[1], tuple(int(v) for v in args[2:6]) if len(args) >= 6 else None)
    elif cmd == "find":
        find(args[0], args[1])
    elif cmd == "agree":
        agree(args[0], int(args[1]), int(args[2]), args[3])
    elif cmd == "time":
        time_cmd(args[0], " ".join(args[2:] if args[1:2] == ["--"] else args[1:]))
    elif cmd == "ratios":
        ratios(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
