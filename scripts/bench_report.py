#!/usr/bin/python3
"""Run (or read) the mixq_bench kernel benchmarks and write a markdown table and a PNG plot.

    scripts/bench_report.py                       # full sweep (long), build/bench/mixq_bench
    scripts/bench_report.py --quick               # 4096x4096, N = 1 and 512, cold, 1 and 2 threads
    scripts/bench_report.py --filter REGEX        # any subset (Google Benchmark regex)
    scripts/bench_report.py --json results.json   # re-render an earlier run, no benchmarking

Writes <out>/bench.json, <out>/bench.md and <out>/bench.png (default out/bench). Runs with
Debian's /usr/bin/python3 (python3-matplotlib; scripts/setup.sh installs it). The run sets
OPENBLAS_CORETYPE=SkylakeX unless the environment already sets it: OpenBLAS 0.3.21 picks its
Zen kernels (AVX2) on AMD Zen 4 by default; pass --openblas-core '' to keep its own choice.

Table columns: time per call, weight GB/s (the bytes of the stored matrix read per call),
GFLOP/s (2 M K N), the fraction of the measured read bandwidth (BM_read_bandwidth with the same
thread count; meaningful for cold GEMV), and the speed-up over Eigen and OpenBLAS fp32 on the
same shape, N, thread count and hot/cold setting (their time / ours).
"""
import argparse
import json
import os
import re
import subprocess
import sys

QUICK = r"(BM_read_bandwidth|/4096x4096/(1|512)/[12]t/cold)"


def run_bench(binary, flt, min_time, reps, out_json, core):
    env = dict(os.environ)
    if core and "OPENBLAS_CORETYPE" not in env:
        env["OPENBLAS_CORETYPE"] = core
    cmd = [binary, f"--benchmark_filter={flt}", f"--benchmark_min_time={min_time}",
           f"--benchmark_out={out_json}", "--benchmark_out_format=json"]
    if reps > 1:
        cmd += [f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true"]
    print("running:", ("OPENBLAS_CORETYPE=" + env["OPENBLAS_CORETYPE"] + " ") if "OPENBLAS_CORETYPE" in env else "",
          " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, env=env, check=True)


def load(path):
    with open(path) as f:
        data = json.load(f)
    rows = []
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = re.sub(r"(/real_time)?(_median)?$", "", b["name"])
        rows.append({"name": name, "time_us": b["real_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]],
                     "bps": b.get("bytes_per_second", 0.0), "flops": b.get("FLOP/s", 0.0), "label": b.get("label", "")})
    return data.get("context", {}), rows


def parse(name):
    m = re.match(r"BM_(\w+)/([\w]+)/(\d+)x(\d+)/(\d+)/(\d+)t/(hot|cold)$", name)
    if not m:
        return None
    op, scheme, M, K, N, t, hc = m.groups()
    return {"op": op, "scheme": scheme, "M": int(M), "K": int(K), "N": int(N), "t": int(t), "hc": hc}


def report(ctx, rows, out_dir):
    bw = {}
    for r in rows:
        m = re.match(r"BM_read_bandwidth/(\d+)t$", r["name"])
        if m:
            bw[int(m.group(1))] = r["bps"]
    peak = {}
    for r in rows:
        m = re.match(r"BM_peak/(\w+)/(\d+)t$", r["name"])
        if m:
            peak[(m.group(1), int(m.group(2)))] = r["flops"]
    peers = {}
    ours = []
    for r in rows:
        p = parse(r["name"])
        if not p:
            continue
        r.update(p)
        key = (r["M"], r["K"], r["N"], r["t"], r["hc"])
        if r["scheme"] in ("eigen_f32", "openblas_f32"):
            peers[(r["scheme"],) + key] = r
        ours.append(r)

    lines = []
    lines.append("# mixq kernel benchmarks\n")
    lines.append(f"host: {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
                 f"load average {ctx.get('load_avg', '?')}, benchmark library build: {ctx.get('library_build_type', '?')}\n")
    for t in sorted(bw):
        lines.append(f"- read bandwidth ({t} thread{'s' if t > 1 else ''}): {bw[t] / 1e9:.2f} GB/s")
    names = {"fp32_fma": "fp32 FMA peak", "int8_vnni": "int8 VNNI peak (2 ops per product)"}
    for (kind, t) in sorted(peak):
        lines.append(f"- {names.get(kind, kind)} ({t} thread{'s' if t > 1 else ''}): {peak[(kind, t)] / 1e9:.0f} GFLOP/s")
    lines.append("")
    lines.append("| benchmark | path | time (us) | weight GB/s | GFLOP/s | of read BW | vs Eigen | vs OpenBLAS |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in sorted(ours, key=lambda r: (r["N"], r["M"], r["K"], r["t"], r["hc"], r["scheme"], r["op"])):
        key = (r["M"], r["K"], r["N"], r["t"], r["hc"])
        frac = r["bps"] / bw[r["t"]] if r["t"] in bw and bw[r["t"]] > 0 else None
        e = peers.get(("eigen_f32",) + key)
        o = peers.get(("openblas_f32",) + key)
        ve = f"{e['time_us'] / r['time_us']:.2f}x" if e and r["scheme"] not in ("eigen_f32", "openblas_f32") else ""
        vo = f"{o['time_us'] / r['time_us']:.2f}x" if o and r["scheme"] not in ("eigen_f32", "openblas_f32") else ""
        lines.append(f"| {r['name']} | {r['label']} | {r['time_us']:.1f} | {r['bps'] / 1e9:.2f} | {r['flops'] / 1e9:.1f} | "
                     f"{'' if frac is None else f'{100 * frac:.0f}%'} | {ve} | {vo} |")
    md = "\n".join(lines) + "\n"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "bench.md"), "w") as f:
        f.write(md)
    print(md)
    plot(ours, bw, os.path.join(out_dir, "bench.png"))


def plot(ours, bw, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (Debian: python3-matplotlib): no plot", file=sys.stderr)
        return
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(15, 6))
    gemv = [r for r in ours if r["N"] == 1 and r["hc"] == "cold" and r["M"] == 4096 and r["K"] == 4096]
    labels, vals, colors = [], [], []
    for r in sorted(gemv, key=lambda r: (r["t"], r["scheme"], r["op"])):
        if r["t"] not in bw:
            continue
        labels.append(f"{r['op']} {r['scheme']} {r['t']}t")
        vals.append(100 * r["bps"] / bw[r["t"]])
        colors.append("tab:gray" if r["scheme"].endswith("_f32") else ("tab:orange" if "q8" in r["op"] else "tab:blue"))
    a1.barh(range(len(vals)), vals, color=colors)
    a1.set_yticks(range(len(vals)))
    a1.set_yticklabels(labels, fontsize=6)
    a1.axvline(90, color="red", linestyle="--", linewidth=1)
    a1.set_xlabel("% of measured read bandwidth (weights streamed from DRAM)")
    a1.set_title("GEMV 4096x4096, cold (blue exact, orange int8 path, gray fp32 peers)")
    series = {}
    for r in ours:
        if r["N"] > 1 and r["M"] == 4096 and r["K"] == 4096 and r["hc"] == "hot":
            series.setdefault((r["op"], r["scheme"], r["t"]), []).append((r["N"], r["flops"] / 1e9))
    for (op, scheme, t), pts in sorted(series.items()):
        pts.sort()
        a2.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                linestyle="--" if scheme.endswith("_f32") else "-", label=f"{op} {scheme} {t}t")
    a2.set_xscale("log", base=2)
    a2.set_xlabel("N (activation rows)")
    a2.set_ylabel("GFLOP/s")
    a2.set_title("GEMM 4096x4096, hot")
    a2.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print("wrote", path, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.path.join(os.path.dirname(__file__), "..", "build", "bench", "mixq_bench"))
    ap.add_argument("--filter", default=".")
    ap.add_argument("--quick", action="store_true", help="filter " + QUICK)
    ap.add_argument("--json", help="render this JSON instead of running")
    ap.add_argument("--min-time", default="0.5")
    ap.add_argument("--repetitions", type=int, default=1)
    ap.add_argument("--openblas-core", default="SkylakeX")
    ap.add_argument("--out", default="out/bench")
    a = ap.parse_args()
    path = a.json
    if not path:
        os.makedirs(a.out, exist_ok=True)
        path = os.path.join(a.out, "bench.json")
        run_bench(a.bench, QUICK if a.quick else a.filter, a.min_time, a.repetitions, path, a.openblas_core)
    ctx, rows = load(path)
    report(ctx, rows, a.out)


if __name__ == "__main__":
    main()
