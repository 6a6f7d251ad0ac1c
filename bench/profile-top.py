#!/usr/bin/env python3
"""Prints the top frames by self time of a node --cpu-prof profile, with their nearest caller
outside node. Used by bench/transfer.sh, bench/deliver.sh and to profile bench/collect.sh.

    profile-top.py FILE.cpuprofile [BUCKET_SECONDS]

With BUCKET_SECONDS, also a timeline: per bucket of wall time, how busy the main thread was
and its top frames there (fixed costs such as start-up and manifest reads show as their own
phases; per-byte costs as the long stretch of hashing and writing).
"""
import collections, json, sys
p = json.load(open(sys.argv[1]))
nodes = {n['id']: n for n in p['nodes']}
parent = {c: n['id'] for n in p['nodes'] for c in n.get('children', [])}
dt = collections.Counter()
for sid, d in zip(p['samples'], p['timeDeltas']):
    dt[sid] += d
def where(nid):
    cf = nodes[nid]['callFrame']
    url = cf['url'].rsplit('/node_modules/', 1)[-1].rsplit('/src/', 1)[-1]
    return cf['functionName'] or '(anonymous)', url, cf['lineNumber'] + 1
def caller(nid):  # the nearest frame outside node's own code
    n = parent.get(nid)
    while n is not None:
        fn, url, line = where(n)
        if url and not url.startswith('node:'):
            return f'{fn} {url}:{line}'
        n = parent.get(n)
    return '-'
self_t, callers = collections.Counter(), collections.defaultdict(collections.Counter)
for nid, t in dt.items():
    self_t[where(nid)] += t
    callers[where(nid)][caller(nid)] += t
total = sum(self_t.values())
print(f"top frames by self time ({total / 1e6:.1f} s sampled, main thread), with their nearest caller outside node:")
for key, t in self_t.most_common(15):
    fn, url, line = key
    via = ', '.join(f'{c} {v / 1e6:.2f}s' for c, v in callers[key].most_common(2))
    print(f"  {100 * t / total:5.1f}%  {t / 1e6:6.2f} s  {fn}  {url}:{line}   <- {via}")

if len(sys.argv) > 2:
    bucket = float(sys.argv[2]) * 1e6
    idle = {'(idle)', '(program)'}
    buckets = collections.defaultdict(collections.Counter)
    now = 0
    for sid, d in zip(p['samples'], p['timeDeltas']):
        now += d
        fn, url, line = where(sid)
        label = fn if fn in idle or fn.startswith('(') else f'{fn} {url}:{line} <- {caller(sid)}'
        buckets[int(now // bucket)][label] += d
    print(f"\ntimeline ({bucket / 1e6:.2f} s buckets): busy %, top frames")
    for b in sorted(buckets):
        c = buckets[b]
        span = sum(c.values()) or 1
        busy = 100 * (span - c['(idle)']) / span
        tops = '; '.join(f'{k[:90]} {100 * v / span:.0f}%' for k, v in c.most_common(4) if k != '(idle)')
        print(f"  {b * bucket / 1e6:5.2f}s  busy {busy:3.0f}%  {tops}")
