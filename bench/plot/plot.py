#!/usr/bin/env python3
"""Renders docs/bench/*.png from docs/bench/scale.json (written by `npm run bench -- --write`).

Bench-only: needs python3 with matplotlib (`pip install matplotlib`); nothing in the tests or the
build depends on it. Usage: python3 bench/plot/plot.py docs/bench/
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def short(setup):
    return setup.split(":")[0]


def main(out_dir):
    path = os.path.join(out_dir, "scale.json")
    if not os.path.exists(path):
        print(f"plot: {path} not found; run the scale bench with --write first")
        return 0
    with open(path) as f:
        data = json.load(f)
    res = data["results"]
    m = data["machine"]
    stamp = f"{m['cores']} cores, load {m['load']}, {m['date']}, commit {m.get('commit', '?')[:12]}"
    quiet = data["quietPeriodMs"]
    max_delay = data["maxDelayMs"]

    # 1. Propagation p50/p99 to the ADS client and the kube watch, per setup and scenario.
    rows = [r for r in res if r.get("ads") and r["scenario"] != "full sync"]
    labels = [f"{short(r['setup'])}\n{r['scenario'].split(' (')[0].replace('changes at once', '')}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.9), 5))
    xs = range(len(rows))
    w = 0.2
    def vals(key, q):
        return [((r.get(key) or {}).get(q) or 0) for r in rows]
    ax.bar([x - 1.5 * w for x in xs], vals("ads", "p50"), w, label="ADS p50")
    ax.bar([x - 0.5 * w for x in xs], vals("ads", "p99"), w, label="ADS p99")
    ax.bar([x + 0.5 * w for x in xs], vals("kube", "p50"), w, label="kube watch p50")
    ax.bar([x + 1.5 * w for x in xs], vals("kube", "p99"), w, label="kube watch p99")
    ax.axhline(quiet + 50, color="green", linestyle="--", linewidth=1, label=f"target isolated: quiet {quiet} + 50 ms")
    ax.axhline(max_delay + 50, color="red", linestyle="--", linewidth=1, label=f"target churn: max delay {max_delay} + 50 ms")
    ax.set_yscale("log")
    ax.set_ylabel("ms from registry change (log)")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    ax.set_title(f"Propagation latency ({stamp})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "scale-latency.png"), dpi=110)
    plt.close(fig)

    # 2. CDF of isolated-change latencies to the ADS client, per setup.
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in res:
        d = r.get("adsSamples") or {}
        # docs/bench/*.json keeps distributions (bench/summarize.ts), not raw samples.
        q = d.get("quantiles") if isinstance(d, dict) else sorted(d)
        if not r["scenario"].startswith("isolated") or not q:
            continue
        ax.step(q, [i / (len(q) - 1) for i in range(len(q))], where="post", label=f"{short(r['setup'])} (n={d.get('n', len(q)) if isinstance(d, dict) else len(q)})")
    ax.axvline(quiet + 50, color="green", linestyle="--", linewidth=1, label="quiet period + 50 ms")
    ax.set_xscale("log")
    ax.set_xlabel("ms from registry change to the ADS client (log)")
    ax.set_ylabel("fraction of changes")
    ax.set_title(f"Isolated changes: latency CDF ({stamp})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "scale-isolated-cdf.png"), dpi=110)
    plt.close(fig)

    # 3. API-server writes per changed ServiceEntry, and per no-op resync.
    kube = [r for r in res if r.get("kubeWrites") is not None and r["scenario"] != "full sync"]
    if kube:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        lab = [f"{short(r['setup'])}\n{r['scenario'].split(' (')[0]}" for r in kube]
        per = [(r["kubeWrites"] / r["changedEntries"]) if r["changedEntries"] else r["kubeWrites"] for r in kube]
        ax.bar(range(len(kube)), per, color=["tab:blue" if "-mb" in r["setup"] else "tab:orange" for r in kube])
        for i, v in enumerate(per):
            ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(kube)))
        ax.set_xticklabels(lab, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("writes per changed SE (no-op resync: writes)")
        ax.set_yscale("symlog")
        ax.set_title(f"kube-apiserver writes ({stamp})", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "scale-writes.png"), dpi=110)
        plt.close(fig)

    # 4. RSS (peak) and CPU seconds per setup.
    setups = []
    for r in res:
        if short(r["setup"]) not in [short(s["setup"]) for s in setups]:
            setups.append(r)
    peak = {short(s["setup"]): max(r["maxRssMiB"] for r in res if r["setup"] == s["setup"]) for s in setups}
    cpu = {short(s["setup"]): sum(r["cpuSeconds"] for r in res if r["setup"] == s["setup"]) for s in setups}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    names = list(peak)
    a1.bar(names, [peak[n] for n in names])
    a1.axhline(250, color="red", linestyle="--", linewidth=1, label="target 250 MB")
    a1.set_ylabel("peak RSS MiB (bridge process)")
    a1.legend(fontsize=7)
    a1.tick_params(axis="x", rotation=45, labelsize=7)
    a2.bar(names, [cpu[n] for n in names], color="tab:gray")
    a2.set_ylabel("CPU s over the scenarios (after full sync)")
    a2.tick_params(axis="x", rotation=45, labelsize=7)
    fig.suptitle(f"Resources ({stamp})", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "scale-resources.png"), dpi=110)
    plt.close(fig)
    print(f"plot: wrote PNGs to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/bench"))
