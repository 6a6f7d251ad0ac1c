#!/usr/bin/env python3
"""Writes the build context of bench/build-copy.sh: OUT/data with SIZE_MB MiB in total.

    gen-build-context.py OUT SIZE_MB SEED
    gen-build-context.py OUT 0 SEED FILES    # FILES small files only (the growth mode)

About 400/1024 of the bytes are small text-like files (1-64 KiB, sizes log-uniform, so most are
small: ~27,000 files at 1 GiB), 100 files a directory; the rest is three equal large files:
  large/random.bin    incompressible (seeded PRNG bytes)
  large/text.log      text-like, compresses about 3:1 (slices of a word corpus)
  large/lowentropy.dat  binary with 4 bits of entropy a byte, compresses about 2:1
With FILES, the context is FILES text-like files of 256 B-4 KiB (log-uniform, ~1.4 KiB on average),
100 a directory, and nothing else: the file count grows, not the bytes a file.
The same arguments give the same bytes, so runs compare. Prints one summary line.
"""
import os
import random
import sys

MiB = 1 << 20
KiB = 1 << 10


def corpus(rng: random.Random, size: int) -> bytes:
    """Pseudo-text: words of a 3,000-word vocabulary with Zipf-like frequencies, in lines."""
    letters = 'abcdefghijklmnopqrstuvwxyz'
    vocab = [''.join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(3000)]
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    out, total = [], 0
    while total < size:
        words = rng.choices(vocab, weights, k=50_000)
        lines, i = [], 0
        while i < len(words):
            k = rng.randint(4, 18)
            lines.append(' '.join(words[i:i + k]))
            i += k
        chunk = ('\n'.join(lines) + '\n').encode()
        out.append(chunk)
        total += len(chunk)
    return b''.join(out)[:size]


def main() -> None:
    out, size_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    files = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    rng = random.Random(seed)
    text = corpus(rng, 8 * MiB)
    data = os.path.join(out, 'data')
    if files:
        many_files(data, files, seed, rng, text)
        return

    small_total = size_mb * MiB * 400 // 1024
    large_each = (size_mb * MiB - small_total) // 3

    n, written = 0, 0
    while written < small_total:
        size = min(int(KiB * 64 ** rng.random()), small_total - written)
        d = os.path.join(data, 'small', f'd{n // 1000:03d}', f's{(n // 100) % 10}')
        if n % 100 == 0:
            os.makedirs(d, exist_ok=True)
        header = f'# file {n} of the sealer build-copy benchmark, seed {seed}\n'.encode()
        off = rng.randrange(0, len(text) - size)
        body = (header + text[off:off + size])[:size]
        with open(os.path.join(d, f'f{n:06d}.txt'), 'wb') as f:
            f.write(body)
        n += 1
        written += size

    large = os.path.join(data, 'large')
    os.makedirs(large, exist_ok=True)
    step = 8 * MiB
    table = bytes(b'0123456789abcdef'[i % 16] for i in range(256))
    for name in ('random.bin', 'text.log', 'lowentropy.dat'):
        left = large_each
        with open(os.path.join(large, name), 'wb') as f:
            while left > 0:
                k = min(step, left)
                if name == 'random.bin':
                    chunk = rng.randbytes(k)
                elif name == 'text.log':
                    parts, got = [], 0
                    while got < k:
                        m = min(MiB, k - got)
                        off = rng.randrange(0, len(text) - m)
                        parts.append(text[off:off + m])
                        got += m
                    chunk = b''.join(parts)
                else:
                    chunk = rng.randbytes(k).translate(table)
                f.write(chunk)
                left -= k

    total = written + 3 * large_each
    print(f'{n} small files ({written / MiB:.0f} MiB) + 3 large files ({large_each / MiB:.0f} MiB each) = {total / MiB:.0f} MiB')


def many_files(data: str, count: int, seed: int, rng: random.Random, text: bytes) -> None:
    written = 0
    for n in range(count):
        size = int(256 * 16 ** rng.random())
        d = os.path.join(data, 'small', f'd{n // 1000:04d}', f's{(n // 100) % 10}')
        if n % 100 == 0:
            os.makedirs(d, exist_ok=True)
        header = f'# file {n} of the sealer build-copy growth benchmark, seed {seed}\n'.encode()
        off = rng.randrange(0, len(text) - size)
        with open(os.path.join(d, f'f{n:06d}.txt'), 'wb') as f:
            f.write((header + text[off:off + size])[:size])
        written += size
    print(f'{count} small files ({written / MiB:.0f} MiB)')


if __name__ == '__main__':
    main()
