"""The every-step search's compiled inner loops (numba), at module level so that numba's on-disk cache finds them
again in the next process (kernels defined inside a function close over each other, and such closures miss the
cache every time). Imported only when a search runs: numba stays out of `import commcomplexity`."""
import numpy as np
from numba import njit, prange


@njit(cache=True)
def canon(rows, t, perms, width, out):
    """The canonical key of a state (rows: S x (t+1), column 0 the sizes): the least, over relabellings of the
    states, of (sizes, sorted columns each taken as the lesser of itself and its negation)."""
    s = rows.shape[0]
    off = np.int64(1) << (width - 1)
    cols = np.empty(t, np.int64)
    best = np.empty(t + 1, np.int64)
    have = False
    for p in range(perms.shape[0]):
        nkey = np.int64(0)
        for i in range(s):
            nkey |= rows[perms[p, i], 0] << (width * i)
        for k in range(t):
            a = np.int64(0)
            b = np.int64(0)
            for i in range(s):
                v = rows[perms[p, i], k + 1]
                a |= (v + off) << (width * i)
                b |= (off - v) << (width * i)
            key = a if a < b else b
            j = k
            while j > 0 and cols[j - 1] > key:
                cols[j] = cols[j - 1]
                j -= 1
            cols[j] = key
        better = not have
        if have:
            if nkey != best[0]:
                better = nkey < best[0]
            else:
                for k in range(t):
                    if cols[k] != best[k + 1]:
                        better = cols[k] < best[k + 1]
                        break
        if better:
            have = True
            best[0] = nkey
            for k in range(t):
                best[k + 1] = cols[k]
    for k in range(t + 1):
        out[k] = best[k]


@njit(cache=True)
def decode(key, t, s, width, rows):
    off = np.int64(1) << (width - 1)
    mask = (np.int64(1) << width) - 1
    for i in range(s):
        rows[i, 0] = (key[0] >> (width * i)) & mask
        for k in range(t):
            rows[i, k + 1] = ((key[k + 1] >> (width * i)) & mask) - off


@njit(cache=True)
def children(rows, t, child):
    """The children (n, d, -n) and (n, d, +n) of every non-empty class; returns how many."""
    c = 0
    for i in range(rows.shape[0]):
        n = rows[i, 0]
        if n == 0:
            continue
        for sign in (-1, 1):
            for k in range(t + 1):
                child[c, k] = rows[i, k]
            child[c, t + 1] = sign * n
            c += 1
    return c


@njit(cache=True)
def group(child, c, parts, p, s, t, grp):
    """Merge the c children into the classes of grouping p (into grp); returns the score phi of the result."""
    grp[:, :] = 0
    for i in range(c):
        g = parts[p, i]
        for k in range(t + 2):
            grp[g, k] += child[i, k]
    phi = np.int64(0)
    for g in range(s):
        for k in range(1, t + 2):
            phi += abs(grp[g, k])
    return phi


@njit(cache=True)
def expand(keys, t, s, width, perms, parts_by_c, coef, add, floor, out_keys, out_parent, out_part):
    """Every successor of every state in `keys` (step t -> t+1) whose bound coef * phi + add reaches `floor`,
    canonical; returns how many were written."""
    rows = np.zeros((s, t + 1), np.int64)
    child = np.zeros((2 * s, t + 2), np.int64)
    grp = np.zeros((s, t + 2), np.int64)
    key = np.empty(t + 2, np.int64)
    w = 0
    for q in range(keys.shape[0]):
        decode(keys[q], t, s, width, rows)
        c = children(rows, t, child)
        parts = parts_by_c[c]
        for p in range(parts.shape[0]):
            phi = group(child, c, parts, p, s, t, grp)
            if coef * phi + add < floor:
                continue
            canon(grp, t + 1, perms, width, key)
            for k in range(t + 2):
                out_keys[w, k] = key[k]
            out_parent[w] = q
            out_part[w] = p
            w += 1
    return w


@njit(cache=True)
def finish(keys, t, s, width, parts_by_c):
    """The last step: the best final score over every state and grouping; (score, state, grouping)."""
    rows = np.zeros((s, t + 1), np.int64)
    child = np.zeros((2 * s, t + 2), np.int64)
    grp = np.zeros((s, t + 2), np.int64)
    best, bq, bp = np.int64(-1), -1, -1
    for q in range(keys.shape[0]):
        decode(keys[q], t, s, width, rows)
        c = children(rows, t, child)
        parts = parts_by_c[c]
        for p in range(parts.shape[0]):
            phi = group(child, c, parts, p, s, t, grp)
            if phi > best:
                best, bq, bp = phi, q, p
    return best, bq, bp


@njit(cache=True)
def bound(rows, t, P, V, floor, stop):
    """The assignment bound of ``assignment_bound`` (rows: S x (t+1)) if it is at least `floor`, else some value
    below `floor` (branches that cannot reach it are cut); with `stop`, returns as soon as a value >= floor is
    found (the search only asks whether the bound reaches the floor)."""
    s = rows.shape[0]
    nc = np.int64(1) << t
    cand = np.empty((nc, s), np.int64)
    for p in range(nc):  # the label value c_i = <pi, d_i> of every sign vector pi on the past coordinates
        for i in range(s):
            v = np.int64(0)
            for k in range(t):
                v += rows[i, k + 1] if (p >> k) & 1 else -rows[i, k + 1]
            cand[p, i] = v
    keep = np.ones(nc, np.bool_)  # h_i only grows with each c_i: a dominated sign vector is never needed
    for p in range(nc):
        for q in range(nc):
            if p != q and keep[q]:
                ge, same = True, True
                for i in range(s):
                    if cand[q, i] < cand[p, i]:
                        ge = False
                        break
                    if cand[q, i] != cand[p, i]:
                        same = False
                if ge and (not same or q < p):
                    keep[p] = False
                    break
    idx0 = np.nonzero(keep)[0]
    kk = len(idx0)
    order = np.empty(kk, np.int64)
    for a in range(kk):
        order[a] = 0
        for i in range(s):
            order[a] -= cand[idx0[a], i]
    idx = idx0[np.argsort(order)]
    suf = np.empty((kk + 1, s), np.int64)  # suf[a, i]: the largest c_i over the candidates a.. (the relaxation)
    for i in range(s):
        suf[kk, i] = -(np.int64(1) << 60)
    for a in range(kk - 1, -1, -1):
        for i in range(s):
            suf[a, i] = max(suf[a + 1, i], cand[idx[a], i])
    best = np.int64(-1)
    vals = np.empty(s, np.int64)
    sel = np.zeros(s, np.int64)  # the labels' sign vectors, a multiset: sel[0] <= sel[1] <= ...
    level = 0
    while level >= 0:
        if sel[level] >= kk:
            level -= 1
            if level >= 0:
                sel[level] += 1
            continue
        total = np.int64(0)
        for i in range(s):
            for f in range(s):  # labels not chosen yet take the largest value still possible
                x = cand[idx[sel[f]], i] if f <= level else suf[sel[level], i]
                g = f
                while g > 0 and vals[g - 1] < x:  # descending
                    vals[g] = vals[g - 1]
                    g -= 1
                vals[g] = x
            h = -(np.int64(1) << 60)
            for ty in range(P.shape[0]):
                y = rows[i, 0] * V[ty]
                for r in range(s):
                    y += P[ty, r] * vals[r]
                if y > h:
                    h = y
            total += h
        if level == s - 1:
            if total > best:
                best = total
                if stop and best >= floor:
                    return best
            sel[level] += 1
        elif total < floor or total <= best:
            sel[level] += 1
        else:
            level += 1
            sel[level] = sel[level - 1]
    return best


@njit(cache=True, parallel=True)
def prune(keys, t, s, width, P, V, floor, whole, keep):
    """keep[q]: whether state q's assignment bound reaches `floor` (states in parallel); whole = 2^j."""
    few = 3  # first the bound on the three heaviest past coordinates, the others kept whole (cheap, and most
    # states fail it): a valid bound too, since each coordinate's share of the score is at most 2^j sum_i |d_ik|
    for q in prange(keys.shape[0]):
        rows = np.empty((s, t + 1), np.int64)
        decode(keys[q], t, s, width, rows)
        if t > few:
            mass = np.zeros(t, np.int64)
            for k in range(t):
                for i in range(s):
                    mass[k] += abs(rows[i, k + 1])
            order = np.argsort(-mass)
            sub = np.empty((s, few + 1), np.int64)
            rest = np.int64(0)
            for i in range(s):
                sub[i, 0] = rows[i, 0]
                for r in range(few):
                    sub[i, r + 1] = rows[i, order[r] + 1]
            for r in range(few, t):
                rest += mass[order[r]]
            rest *= whole
            if bound(sub, few, P, V, floor - rest, True) < floor - rest:
                keep[q] = False
                continue
        keep[q] = bound(rows, t, P, V, floor, True) >= floor


@njit(cache=True)
def scores(keys, t, s, width):
    """phi of every state: sum over classes and past coordinates of |d|."""
    out = np.zeros(keys.shape[0], np.int64)
    rows = np.empty((s, t + 1), np.int64)
    for q in range(keys.shape[0]):
        decode(keys[q], t, s, width, rows)
        for i in range(s):
            for k in range(1, t + 1):
                out[q] += abs(rows[i, k])
    return out
