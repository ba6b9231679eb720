#!/usr/bin/env python3
"""Static views of the kernels' SASS and ptxas resources, no GPU needed (docs/perf-log.md uses them).

  sass_tools.py resources PTXAS_LOG           registers and spill bytes per kernel (nvcc -Xptxas -v output;
                                              a setmaxnreg kernel shows its launch-bounds count, while
                                              ptxas allocates the consumers by setmaxnreg's)
  sass_tools.py loops SASS FUNC               every backward branch of FUNC: its loop's instruction count,
                                              MUFU.EX2, wgmma, local loads/stores (the step loop is the one
                                              with 34 EX2 for int8-fa, 66 for int8-qk and fp16-fa)
  sass_tools.py hist SASS FUNC LO HI          opcode histogram of FUNC's addresses [LO, HI] (hex)
  sass_tools.py chain SASS FUNC               for each step loop of FUNC (an innermost loop with wgmma, 32 or
                                              more MUFU.EX2 and at most 20 instructions an ex2): how many
                                              instructions ptxas put between S's wait (the loop's first full
                                              wgmma wait, WARPGROUP.DEPBAR.LE gsb0, 0x0) and the 1st, 32nd
                                              and last ex2 after it: the row max's share of the step's
                                              critical path (docs/perf-log.md s51, s52: 145 -> 58 with the
                                              integer max of per-thread K)
  sass_tools.py stalls CSV [N]                the N SASS lines (default 40) with the most warp-stall samples
                                              in ncu's source page (`ncu -i R --page source --csv
                                              --print-source sass`, as scripts/kernel-bench.sh wsprofile
                                              writes it), with each line's share and its top stall columns
                                              (columns matched by name; checked on ncu 2025.x exports)
  sass_tools.py loop-stalls CSV [CSV...]      the steady loop of each export (the loop with an MMA that holds
                                              the most samples, no inner MMA loop holding most of them): its
                                              share of the samples, stall mix and samples by opcode, side by
                                              side, so that two builds of one kernel can be compared
                                              (docs/perf-log.md s12: the same loop at 635 and 587 TOPS
                                              differs in stall_mio on MUFU)
  sass_tools.py loop-stall-matrix CSV [N]     the steady loop's N most common stall reasons (default 10) by
                                              opcode, each cell a share of the loop's samples: which
                                              instructions a reason falls on (docs/perf-log.md s21: MUFU's
                                              "wait" is ptxas's 8-cycle pacing of the ex2s, FMUL's short
                                              scoreboard the K scales' LDS)
  sass_tools.py regions CSV [N]               the export's warp samples by region: each step loop (an innermost
                                              loop with an MMA), the code before the first, between them and
                                              after the last; the stall mix outside the loops and their N
                                              lines (default 12) with the most samples: where a tile's switch
                                              waits (docs/perf-log.md s38: the Q scales' load at 1K keys)
  sass_tools.py source-lines CSV LISTING FUNC [N]
                                              the export's samples by source: LISTING is `nvdisasm -gi -c` of a
                                              local `-lineinfo` build of the same source (its SASS must match
                                              the device's at every address: checked, and refused otherwise),
                                              FUNC a substring of the kernel's mangled name. Samples by the
                                              kernel's callee (a warp role: a consumer, the producer, the
                                              quantizing warps) and the N lines (default 16) inside those
                                              callees with the most samples, inlined code charged to the
                                              line that called it (docs/perf-log.md s42: a 4K tile's costs)
  sass_tools.py order SASS FUNC LO HI         the range's events in address order (wgmma and their waits,
                                              warpgroup arrives, named barriers, mbarrier waits and arrivals,
                                              votes, branches; a run of wgmma on one line) with the count of
                                              other instructions and of MUFU.EX2 between them: where ptxas put
                                              each wait against the softmax (docs/perf-log.md s18: the P·V wait
                                              above the whole ex2 phase in every FP16-P·V kernel)
  sass_tools.py schedule SASS FUNC LO HI      ptxas's static schedule of that range from the control bits:
                                              the stall cycles it put after each instruction (a lower bound
                                              on one warp's issue time when nothing waits on a scoreboard)
                                              and the instructions that wait on a scoreboard

SASS_LOOP_LEN=N (loop-stalls, loop-stall-matrix): the steady loop is instead the loop with an MMA
of about N instructions (within 10%) that holds the most samples: for exports where another loop
holds more, e.g. a probe whose idle consumers spin on the ring (docs/perf-log.md s58).

SASS is `cuobjdump -sass OBJ` output (the instruction words included); FUNC is any substring of
the mangled function name, e.g. KernelIdE2ELi128ELb0ELb0ELi1E for int8-qk's warp-specialized
head_dim-128 kernel. Example:
  nvcc -std=c++20 -O3 -I. -DINT8ATTN_HAS_SM90A=1 --expt-relaxed-constexpr \\
    -gencode=arch=compute_90a,code=sm_90a -Xptxas -v -c kernels/int8_fa_ws.cu -o /tmp/ws.o > /tmp/ws.log 2>&1
  cuobjdump -sass /tmp/ws.o > /tmp/ws.sass
  scripts/sass_tools.py loops /tmp/ws.sass KernelIdE1ELi128ELb1ELb0ELi2E
"""
import collections
import functools
import os
import re
import signal
import subprocess
import sys


def instructions(path, func):
    """(address, text, high 64-bit word) of every instruction of the functions matching func."""
    inside, pending, out = False, None, []
    for line in open(path):
        m = re.match(r"\s+Function : (\S+)", line)
        if m:
            inside = func in m.group(1)
            continue
        if not inside:
            continue
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);\s*/\* (0x[0-9a-f]+) \*/", line)
        if m:
            pending = (int(m.group(1), 16), m.group(2))
            continue
        m = re.match(r"\s+/\* (0x[0-9a-f]+) \*/", line)
        if m and pending:
            out.append((pending[0], pending[1], int(m.group(1), 16)))
            pending = None
    return out


def opcode(text):
    words = text.split()
    op = words[1] if words[0].startswith("@") else words[0]
    return op.split(".")[0]


def demangled(symbol):
    name = subprocess.run(["c++filt", symbol], capture_output=True, text=True).stdout.strip()
    return re.sub(r"int8attn::kernels::(fa::)?", "", name)[:110]


def resources(log):
    """Prints each kernel's registers and spills; returns 1 when ptxas serialized some kernel's
    wgmma (its C7513 note: every wgmma then waits for the one before, so the tensor cores never
    overlap the softmax), else 0."""
    kernel = spill = None
    serialized = set()
    for line in open(log):
        m = re.search(r"C7513\).*function '(\S+)'", line)
        if m:
            serialized.add(demangled(m.group(1)))
        m = re.search(r"Compiling entry function '(\S+)'", line)
        if m:
            kernel = demangled(m.group(1))
            continue
        m = re.search(r"(\d+) bytes spill stores", line)
        if m:
            spill = m.group(1)
        m = re.search(r"Used (\d+) registers", line)
        if m and kernel:
            print(f"{m.group(1):>4} registers  {spill or '0':>4} bytes spilled  {kernel}")
            kernel = spill = None
    for name in sorted(serialized):
        print(f"wgmma serialized by ptxas (C7513): {name}")
    return 1 if serialized else 0


def _backward_loops(ins):
    """(first, last) indices into ins of every loop: a branch back to an address of ins."""
    index = {a: i for i, (a, _, _) in enumerate(ins)}
    for i, (a, text, _) in enumerate(ins):
        m = re.search(r"BRA .*?0x([0-9a-f]+)", text)
        if m and int(m.group(1), 16) < a and int(m.group(1), 16) in index:
            yield index[int(m.group(1), 16)], i


def loops(path, func):
    ins = instructions(path, func)
    for first, last in _backward_loops(ins):
        body = [t for _, t, _ in ins[first:last + 1]]
        count = lambda key: sum(1 for t in body if key in t)
        print(f"loop {ins[first][0]:#x}-{ins[last][0]:#x}: {len(body)} instructions, EX2 {count('MUFU.EX2')}, "
              f"wgmma {count('GMMA')}, STL {count('STL')}, LDL {count('LDL')}")


def _step_loops(ins):
    """(first, last) indices into ins of each step loop: wgmma, >= 32 MUFU.EX2, <= 20 instructions an ex2."""
    out = []
    for first, last in _backward_loops(ins):
        body = [t for _, t, _ in ins[first:last + 1]]
        ex2 = sum("MUFU.EX2" in t for t in body)
        # a step holds a dozen or so instructions an ex2; a tile walk that holds steps, far more
        if any("GMMA" in t for t in body) and ex2 >= 32 and len(body) <= 20 * ex2:
            out.append((first, last))
    # innermost only: an outer loop (the tile walk) holds the steps it repeats
    return [(f, l) for f, l in out if not any((f, l) != (g, m) and f <= g and m <= l for g, m in out)]


def chain(path, func):
    ins = instructions(path, func)
    loops_found = _step_loops(ins)
    if not loops_found:
        print(f"chain: no step loop (wgmma, 32 or more MUFU.EX2) in functions matching {func}", file=sys.stderr)
        return 1
    for first, last in loops_found:
        body = [t for _, t, _ in ins[first:last + 1]]
        wait = next((i for i, t in enumerate(body) if re.search(r"WARPGROUP\.DEPBAR\.LE gsb0, 0x0\b", t)), None)
        label = f"loop {ins[first][0]:#x}-{ins[last][0]:#x} ({len(body)} instructions)"
        if wait is None:
            print(f"{label}: no full wgmma wait")
            continue
        ex2 = [i - wait for i, t in enumerate(body) if i > wait and "MUFU.EX2" in t]
        if not ex2:
            print(f"{label}: no ex2 after S's wait (at +{wait})")
            continue
        nth = lambda n: str(ex2[n - 1]) if len(ex2) >= n else "-"
        print(f"{label}: S's wait at +{wait}; ex2 1st / 32nd / last ({len(ex2)}) "
              f"{nth(1)} / {nth(32)} / {ex2[-1]} instructions after it")
    return 0


def in_range(path, func, lo, hi):
    return [x for x in instructions(path, func) if int(lo, 16) <= x[0] <= int(hi, 16)]


def hist(path, func, lo, hi):
    ins = in_range(path, func, lo, hi)
    counts = collections.Counter(opcode(t) for _, t, _ in ins)
    print(f"{len(ins)} instructions: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))


_EVENT = re.compile(r"GMMA|WARPGROUP|BAR\.|SYNCS|VOTE|BRA|DEPBAR")


def order(path, func, lo, hi):
    others = ex2 = 0  # since the last event
    run = None  # a run of wgmma: [first address, count, opcode with shape, instructions among them]

    def flush():
        nonlocal run, others, ex2
        if run:
            among = f" (and {run[3]} other instructions among them)" if run[3] else ""
            print(f"{run[0]:#07x} {run[1]} x {run[2]}{among}")
            run = None
        if others:
            print(f"    [{others} instructions, {ex2} MUFU.EX2]")
        others = ex2 = 0

    for address, text, _ in in_range(path, func, lo, hi):
        if "GMMA" in text:
            shape = text.split()[1] if text.startswith("@") else text.split()[0]
            if run is not None and run[2] == shape and ex2 == 0:
                run[1] += 1  # the same issue run: descriptor arithmetic may come between
                run[3] += others
                others = 0
                continue
            flush()
            run = [address, 1, shape, 0]
        elif _EVENT.search(text):
            flush()
            print(f"{address:#07x} {text}")
        else:
            others += 1
            ex2 += "MUFU.EX2" in text
    flush()


def schedule(path, func, lo, hi):
    # Volta+ control bits (the high word's top 23 bits): stall [44:41], yield [45], write
    # barrier [48:46], read barrier [51:49], wait mask [57:52], operand reuse [61:58].
    ins = in_range(path, func, lo, hi)
    stalls, waits = collections.Counter(), collections.Counter()
    total = 0
    for _, text, high in ins:
        stall, wait_mask = (high >> 41) & 0xF, (high >> 52) & 0x3F
        total += stall
        stalls[opcode(text)] += stall
        if wait_mask:
            waits[opcode(text)] += 1
    n = max(len(ins), 1)
    print(f"{len(ins)} instructions, {total} stall cycles in the static schedule ({total / n:.2f} an instruction), "
          f"{sum(waits.values())} wait on a scoreboard")
    print("stall cycles by opcode: " + ", ".join(f"{k} {v}" for k, v in stalls.most_common(14)))
    print("scoreboard waits by opcode: " + ", ".join(f"{k} {v}" for k, v in waits.most_common(14)))


def _source_rows(path):
    """(header, rows) of an ncu source-page CSV, rows of the header's width."""
    import csv
    rows = list(csv.reader(open(path, newline="")))
    at = next((i for i, r in enumerate(rows) if any("Source" in c or "Address" in c for c in r)), None)
    if at is None:
        raise SystemExit(f"{path}: no header row with Source or Address")
    return rows[at], [r for r in rows[at + 1:] if len(r) == len(rows[at])]


def _samples_column(header):
    """The index of an export's column of all stall samples an instruction took."""
    return next(i for i, h in enumerate(header) if "Stall Sampling (All" in h)


def _number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def stalls(path, most="40"):
    header, body = _source_rows(path)
    total_col = next((i for i, h in enumerate(header) if "Stall Sampling (All" in h), None)
    if total_col is None:
        total_col = next((i for i, h in enumerate(header) if "stall" in h.lower()), None)
    if total_col is None:
        print(f"{path}: no stall-sampling column; columns: " + ", ".join(header))
        return
    text_col = next((i for i, h in enumerate(header) if h.strip() == "Source"), 0)
    reasons = [i for i, h in enumerate(header) if "stall" in h.lower() and i != total_col and "Sampling" not in h]
    total = sum(_number(r[total_col]) for r in body) or 1.0
    print(f"{len(body)} lines, {total:.0f} samples ({header[total_col]})")
    for r in sorted(body, key=lambda r: -_number(r[total_col]))[: int(most)]:
        top = sorted(((_number(r[i]), header[i]) for i in reasons), reverse=True)[:3]
        detail = ", ".join(f"{name} {value:.0f}" for value, name in top if value > 0)
        print(f"{100 * _number(r[total_col]) / total:5.1f}%  {r[text_col].strip()[:70]:70s}  {detail}")


def _mma_spans(header, rows, body_only=False):
    """(first, last) row indices of each backward branch's span that holds an MMA instruction;
    body_only: only the branches before the last EXIT."""
    addr_col, text_col = header.index("Address"), header.index("Source")
    where = {int(r[addr_col], 16): k for k, r in enumerate(rows)}
    end = len(rows)
    if body_only:
        end = max((k for k, r in enumerate(rows) if opcode(r[text_col]) == "EXIT"), default=len(rows) - 1)
    spans = []
    for k, r in enumerate(rows[:end]):
        m = re.search(r"\bBRA\b.*?(0x[0-9a-f]+)", r[text_col])
        first = where.get(int(m.group(1), 16)) if m else None
        if first is not None and first <= k and any("MMA" in opcode(rows[j][text_col]) for j in range(first, k + 1)):
            spans.append((first, k))
    return spans


def steady_loop(header, rows):
    """[first, last] row indices of the loop with an MMA holding the most samples, or of the
    smallest loop inside it that holds 80% of them (the step loop inside the tile loop)."""
    total_col = _samples_column(header)
    samples = [_number(r[total_col]) for r in rows]
    loops = [(sum(samples[first:last + 1]), first, last) for first, last in _mma_spans(header, rows)]
    if not loops:
        raise SystemExit("no loop with an MMA instruction")
    if os.environ.get("SASS_LOOP_LEN"):
        try:
            want = int(os.environ["SASS_LOOP_LEN"])
        except ValueError:
            raise SystemExit(f"SASS_LOOP_LEN={os.environ['SASS_LOOP_LEN']!r}: expected a count of instructions")
        fits = [l for l in loops if abs(l[2] - l[1] + 1 - want) <= max(1, want // 10)]
        if not fits:
            sizes = sorted({l[2] - l[1] + 1 for l in loops})
            raise SystemExit(f"no loop with an MMA of about {want} instructions (SASS_LOOP_LEN); loop sizes: {sizes}")
        return max(fits)[1:]
    best = max(loops)
    inner = [l for l in loops if best[1] <= l[1] and l[2] <= best[2] and l != best and l[0] >= 0.8 * best[0]]
    return min(inner, key=lambda l: l[2] - l[1])[1:] if inner else best[1:]


def _loop_rows(path):
    """(header, rows, the steady loop's rows, Source column, its stall-reason columns) of an export."""
    header, rows = _source_rows(path)
    first, last = steady_loop(header, rows)
    reasons = [i for i, h in enumerate(header) if h.startswith("stall_") and "Not Issued" not in h]
    return header, rows, rows[first:last + 1], header.index("Source"), reasons


def loop_stalls(*paths):
    columns = []
    for path in paths:
        header, rows, body, text_col, reasons = _loop_rows(path)
        total_col = _samples_column(header)
        total = sum(_number(r[total_col]) for r in rows) or 1.0
        in_loop = sum(_number(r[total_col]) for r in body) or 1.0
        mix = collections.Counter({header[i]: sum(_number(r[i]) for r in body) for i in reasons})
        by_op, count = collections.Counter(), collections.Counter()
        for r in body:
            by_op[opcode(r[text_col])] += _number(r[total_col])
            count[opcode(r[text_col])] += 1
        reason_sum = sum(mix.values()) or 1.0
        lines = [path[-38:], f"{len(body)} instr, {100 * in_loop / total:.1f}% of {total:.0f} samples",
                 f"loop samples {in_loop:.0f}"]
        lines += [f"{name[6:]:18s} {100 * v / reason_sum:5.1f}%" for name, v in mix.most_common(10)]
        lines += ["by opcode (n, samples %)"]
        lines += [f"{op:10s} {count[op]:4d} {100 * v / in_loop:5.1f}%" for op, v in by_op.most_common(12)]
        columns.append(lines)
    height = max(len(c) for c in columns)
    for i in range(height):
        print("   ".join(f"{(c[i] if i < len(c) else ''):40s}" for c in columns).rstrip())


def _mma_loops(header, rows):
    """(first, last) row indices of the innermost loops with an MMA, by address. The retry code
    of the mbarrier waits, which ptxas places after the last EXIT, branches back into the
    loops: its branches are no loops' ends."""
    spans = _mma_spans(header, rows, body_only=True)
    inner = [a for a in spans if not any(b != a and a[0] <= b[0] and b[1] <= a[1] for b in spans)]
    return sorted(set(inner))


def regions(path, most="12"):
    header, rows = _source_rows(path)
    text_col = header.index("Source")
    total_col = _samples_column(header)
    reasons = [i for i, h in enumerate(header) if h.startswith("stall_") and "Not Issued" not in h]
    samples = [_number(r[total_col]) for r in rows]
    total = sum(samples) or 1.0
    loops = _mma_loops(header, rows)
    if not loops:
        raise SystemExit(f"{path}: no loop with an MMA instruction")
    print(f"{len(rows)} lines, {total:.0f} samples")
    edges, outside = 0, []
    for n, (first, last) in enumerate(loops, 1):
        if first > edges:
            name = "before the first loop" if n == 1 else f"between loops {n - 1} and {n}"
            print(f"{name:28s} {first - edges:5d} lines {100 * sum(samples[edges:first]) / total:5.1f}%")
            outside += range(edges, first)
        ex2 = sum("MUFU.EX2" in rows[k][text_col] for k in range(first, last + 1))
        print(f"{'step loop ' + str(n):28s} {last + 1 - first:5d} lines {100 * sum(samples[first:last + 1]) / total:5.1f}%"
              f"  ({ex2} MUFU.EX2, at {rows[first][header.index('Address')]})")
        edges = last + 1
    print(f"{'after the last loop':28s} {len(rows) - edges:5d} lines {100 * sum(samples[edges:]) / total:5.1f}%")
    outside += range(edges, len(rows))
    mix = collections.Counter({header[i]: sum(_number(rows[k][i]) for k in outside) for i in reasons})
    out_total = sum(samples[k] for k in outside) or 1.0
    print("outside the loops: " + ", ".join(f"{n[6:]} {100 * v / out_total:.1f}%" for n, v in mix.most_common(6) if v))
    for k in [k for k in sorted(outside, key=lambda k: -samples[k]) if samples[k] > 0][: int(most)]:
        top = sorted(((_number(rows[k][i]), header[i][6:]) for i in reasons), reverse=True)[:2]
        detail = ", ".join(f"{name} {value:.0f}" for value, name in top if value > 0)
        print(f"{100 * samples[k] / total:5.1f}%  {rows[k][text_col].strip()[:60]:60s}  {detail}")


_FRAME = re.compile(r'\s*//## File "([^"]+)", line (\d+)(?: inlined at "([^"]+)", line (\d+))?')
_LISTED = re.compile(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;")


def _listing_frames(listing, func):
    """{offset: (instruction, [(file, line), ...] innermost first)} of FUNC's section in an
    `nvdisasm -gi` listing; an instruction without annotations of its own keeps the last ones."""
    frames, pending, last, inside, name = {}, [], [], False, None
    for text in open(listing):
        if text.startswith(".text."):
            if inside:
                break
            inside = func in text
            name = text[len(".text."):].rstrip().rstrip(":") if inside else None
            continue
        if not inside:
            continue
        m = _FRAME.match(text)
        if m:
            pending.append((m.group(1), int(m.group(2))))
            if m.group(3):
                pending.append((m.group(3), int(m.group(4))))
            continue
        m = _LISTED.match(text)
        if m:
            last = pending or last
            frames[int(m.group(1), 16)] = (m.group(2).strip(), list(dict.fromkeys(last)))
            pending = []
    if not frames:
        raise SystemExit(f"{listing}: no function matching {func} (nvdisasm -gi -c of a -lineinfo build?)")
    return name, frames


_DEFINITION = re.compile(r"^(?:static\s+|inline\s+)*(?:__global__|__device__|__host__)\b[^;]*?\b(\w+)\s*\(")


@functools.lru_cache(maxsize=None)
def _source_text(path):
    """A source file's lines (none where it cannot be read), read once."""
    try:
        return tuple(open(path, errors="replace").read().split("\n"))
    except OSError:
        return ()


@functools.lru_cache(maxsize=None)
def _functions_of(path):
    """(first line, name) of each function defined at column 0 in a source file, in order; a
    function's first line is that of the template line above it, if it has one."""
    found, template = [], None
    for n, text in enumerate(_source_text(path), 1):
        if text.startswith("template"):
            template = template or n
            continue
        m = _DEFINITION.match(text)
        if m:  # the first name called that is not a keyword's (__launch_bounds__, ...)
            names = [x for x in re.findall(r"\b(\w+)\s*\(", text) if not x.startswith("__")]
            found.append((template or n, names[0] if names else m.group(1)))
        template = None
    return found


def _enclosing(path, line):
    name = None
    for first, fn in _functions_of(path):
        if first > line:
            break
        name = fn
    return name


def source_lines(path, listing, func, most="16"):
    header, rows = _source_rows(path)
    addr_col, text_col = header.index("Address"), header.index("Source")
    total_col = _samples_column(header)
    name, frames = _listing_frames(listing, func)
    base = int(rows[0][addr_col], 16)
    offsets = [int(r[addr_col], 16) - base for r in rows]
    samples = [_number(r[total_col]) for r in rows]
    total = sum(samples) or 1.0
    agree = sum(1 for r, at in zip(rows, offsets) if at in frames and opcode(frames[at][0]) == opcode(r[text_col]))
    print(f"{name}: {len(rows)} lines, {total:.0f} samples; the listing agrees at {agree} of {len(rows)} addresses")
    if agree < len(rows):
        raise SystemExit("the listing is not the profiled SASS (another source or compiler?): no attribution")
    roles, lines = collections.Counter(), collections.Counter()
    for at, n in zip(offsets, samples):
        chain = [(f, ln, _enclosing(f, ln)) for f, ln in frames[at][1]]
        # The kernel is the outermost frame; its callee, the next one in, is the warp's role.
        outer = chain[-1][2] if chain else None
        role = next((fn for f, ln, fn in reversed(chain) if fn and fn != outer), outer or "?")
        roles[role] += n
        line = next(((f, ln) for f, ln, fn in chain if fn == role), chain[-1][:2] if chain else ("?", 0))
        lines[(role, line)] += n
    print("by the kernel's callee (a warp role; the kernel's own code under its name):")
    for role, n in roles.most_common():
        print(f"  {role:32s} {100 * n / total:5.1f}%")
    print(f"the {most} lines with the most samples (inlined code at the line of the role that calls it):")
    for (role, (f, ln)), n in lines.most_common(int(most)):
        text = _source_text(f)
        code = text[ln - 1].strip() if 0 < ln <= len(text) else ""
        print(f"  {100 * n / total:5.1f}%  {role}:{ln}  {code[:70]}")


def loop_stall_matrix(path, most="10"):
    """The steady loop's stall reasons by opcode: each cell the share of the loop's samples."""
    header, _, body, text_col, reasons = _loop_rows(path)
    cells, count = collections.defaultdict(collections.Counter), collections.Counter()
    for r in body:
        op = opcode(r[text_col])
        count[op] += 1
        for i in reasons:
            cells[op][header[i]] += _number(r[i])
    total = sum(sum(c.values()) for c in cells.values()) or 1.0
    mix = collections.Counter()
    for c in cells.values():
        mix.update(c)
    names = [n for n, _ in mix.most_common(int(most))]
    ops = sorted(cells, key=lambda o: -sum(cells[o].values()))[:14]
    print(f"{len(body)} instructions; % of the loop's {total:.0f} samples by opcode (count) and reason")
    print(f"{'reason':16s} {'all':>6s} " + " ".join(f"{op[:7] + '(' + str(count[op]) + ')':>12s}" for op in ops))
    for n in names:
        print(f"{n[6:][:16]:16s} {100 * mix[n] / total:6.1f} " +
              " ".join(f"{100 * cells[op][n] / total:12.1f}" for op in ops))


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    commands = {"resources": (resources, 1), "loops": (loops, 2), "hist": (hist, 4), "schedule": (schedule, 4),
                "chain": (chain, 2),
                "order": (order, 4),
                "stalls": (stalls, 1), "loop-stalls": (loop_stalls, 1), "loop-stall-matrix": (loop_stall_matrix, 1),
                "regions": (regions, 1), "source-lines": (source_lines, 3)}
    optional = {"stalls": 1, "loop-stalls": 7, "loop-stall-matrix": 1, "regions": 1, "source-lines": 1}  # trailing arguments that may be left out
    given = len(argv) - 2
    if len(argv) < 2 or argv[1] not in commands or not (
            commands[argv[1]][1] <= given <= commands[argv[1]][1] + optional.get(argv[1], 0)):
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[1]][0](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
