#!/usr/bin/env python3
"""Writes OUT with SIZE_MB MiB: four large files (two random, two text-like, ~200/1024 of the
size each) and small text-like files for the rest. Same SIZE_MB and SEED, same bytes.
Used by bench/transfer.sh and bench/deliver.sh.

    gen-rootfs.py OUT SIZE_MB SEED
"""
import os, random, sys
MiB, KiB = 1 << 20, 1 << 10
out, size_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
letters = 'abcdefghijklmnopqrstuvwxyz'
vocab = [''.join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(3000)]
weights = [1.0 / (i + 1) for i in range(len(vocab))]
parts, total = [], 0
while total < 8 * MiB:
    words = rng.choices(vocab, weights, k=50_000)
    lines, i = [], 0
    while i < len(words):
        k = rng.randint(4, 18)
        lines.append(' '.join(words[i:i + k]))
        i += k
    chunk = ('\n'.join(lines) + '\n').encode()
    parts.append(chunk)
    total += len(chunk)
text = b''.join(parts)[:8 * MiB]

large_each = size_mb * MiB * 200 // 1024
os.makedirs(os.path.join(out, 'large'))
for name, kind in (('random-1.bin', 'r'), ('text-1.log', 't'), ('random-2.bin', 'r'), ('text-2.log', 't')):
    with open(os.path.join(out, 'large', name), 'wb') as f:
        left = large_each
        while left > 0:
            n = min(MiB, left)
            if kind == 'r':
                f.write(rng.randbytes(n))
            else:
                off = rng.randrange(0, len(text) - n)
                f.write(text[off:off + n])
            left -= n

small_total = size_mb * MiB - 4 * large_each
n = written = 0
while written < small_total:
    size = min(int(4 * KiB * 64 ** rng.random()), small_total - written)
    d = os.path.join(out, 'small', f'd{n // 1000:03d}', f's{(n // 100) % 10}')
    if n % 100 == 0:
        os.makedirs(d, exist_ok=True)
    off = rng.randrange(0, len(text) - size)
    with open(os.path.join(d, f'f{n:06d}.txt'), 'wb') as f:
        f.write(text[off:off + size])
    n += 1
    written += size
