"""The report of a scenario run: a picture of who served over time (PNG, and an HTML page
with the same picture as SVG) with the outages shaded and the faults and heartbeat's log
events marked, and a JSON file with the numbers."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .observe.probe import Sample, failure_windows, to_jsonable
from .observe.timeline import Event, Mark, events_jsonable

COLORS = {"ha1": "#1f77b4", "ha2": "#2ca02c", "failed": "#d62728", "unknown": "#9e9e9e"}
EVENT_COLORS = {"dead": "#d62728", "standby": "#9467bd", "ipfail": "#9467bd", "release": "#ff7f0e",
                "released": "#ff7f0e", "acquire": "#17becf", "acquired": "#17becf", "resource": "#7f7f7f",
                "alarm": "#d62728", "fence": "#8c564b"}
# the events drawn with a label; resource start/stop steps are drawn as ticks only
LABELLED = ("dead", "standby", "ipfail", "released", "acquired", "alarm", "fence")
WRITE_COLORS = {"ok": "#2ca02c", "failed": "#d62728", "unknown": "#ff7f0e"}


def draw(result: dict, samples: list[Sample], events: list[Event], marks: list[Mark]):  # noqa: ANN201
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    t0 = result["t0"]
    rel = lambda t: t - t0  # noqa: E731
    fig, (ax, axe) = plt.subplots(2, 1, figsize=(12, 5.2), sharex=True,
                                  gridspec_kw={"height_ratios": [1.1, 1.6], "hspace": 0.08})
    # who served: each request as wide as the gap to the next, runs of equal answers merged
    _served_bars(ax, samples, rel, 1.0)
    for a, b in failure_windows(samples):
        for axis in (ax, axe):
            axis.axvspan(rel(a), rel(b), color=COLORS["failed"], alpha=0.12, linewidth=0)
        ax.annotate(f"out {b - a:.2f} s", (rel(a) + (b - a) / 2, 1.12), ha="center", fontsize=9,
                    color=COLORS["failed"], annotation_clip=False)
    for m in marks:
        for axis in (ax, axe):
            axis.axvline(rel(m.t), color="black", linestyle="--", linewidth=1)
        ax.annotate(m.label, (rel(m.t), 1.52), ha="left", fontsize=9, fontweight="bold", annotation_clip=False)
    writes = result.get("writes")
    if writes:  # one tick per client write, coloured by what its client knew of it
        for outcome, color in WRITE_COLORS.items():
            ts = [rel(o["t"]) for o in writes["history"] if o["result"] == outcome]
            ax.plot(ts, [1.38] * len(ts), linestyle="", marker="|", markersize=9, color=color,
                    label=f"write {outcome}")
    ax.set_ylim(0, 1.7)
    ax.set_yticks([0.5, 1.38] if writes else [0.5])
    ax.set_yticklabels(["client\n(" + result["probe"]["where"] + ")", *(["writes"] if writes else [])])
    fig.legend(handles=[Patch(color=c, label=k) for k, c in COLORS.items()], loc="upper right",
               bbox_to_anchor=(0.98, 0.93), ncol=4, fontsize=8, frameon=False)
    # heartbeat's log, one lane per node
    boards = sorted({e.node for e in events if e.node.startswith("bmc-")})
    lanes = {"ha1": 1.0, **{b: 0.66 - 0.33 * i for i, b in enumerate(boards)}, "ha2": 0.0}
    for e in events:
        y = lanes.get(e.node, 0.5)
        color = EVENT_COLORS.get(e.kind, "#333333")
        axe.plot([rel(e.t)], [y], marker="|" if e.kind == "resource" else "o", color=color, markersize=10)
    for group in _label_groups([e for e in events if e.kind in LABELLED]):
        first = group[0]
        axe.annotate("\n".join(dict.fromkeys(e.text for e in group)), (rel(first.t), lanes.get(first.node, 0.5)),
                     xytext=(4, 7), textcoords="offset points", rotation=25, fontsize=7.5,
                     color=EVENT_COLORS.get(first.kind, "#333333"), va="bottom")
    axe.set_ylim(-0.6, 1.9)
    axe.set_yticks(list(lanes.values()))
    axe.set_yticklabels([f"{n} ha-log" if n in ("ha1", "ha2") else f"{n} (board)" for n in lanes])
    axe.set_xlabel("seconds since the first fault")
    summ = result["summary"]
    steps = ", ".join(f"{s['label']}: {_fmt(s['outage_s'])}" for s in result["steps"])
    title = (f"scenario {result['scenario']} (timing {result['timing']}, deadtime "
             f"{result['times']['deadtime']:g} s) - outage per step: {steps}; "
             f"{summ['failure_windows']} failure window(s), {summ['node_changes']} node change(s)")
    if writes:
        c = writes["check"]
        title += (f"\nwrites: {c['acknowledged']} of {c['attempted']} adds acknowledged; lost {len(c['lost'])}, "
                  f"unexpected {len(c['unexpected'])}, recovered {len(c['recovered'])}; counter lost "
                  f"{c['increments']['lost']} of {c['increments']['acknowledged']} increments")
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.84, bottom=0.12)
    return fig


VERDICT_COLORS = {"as declared": "#7f9fbf", "expected transient": "#ff7f0e", "UNEXPECTED": "#6a0dad"}


def draw_soak(result: dict, samples: list[Sample], marks: list[Mark]):  # noqa: ANN201
    """A long run on one timeline: who served (runs of equal answers merged, so hours of
    probing stay light), one lane per fault kind with each fault from its injection to its
    heal (hatched: the heal) coloured by its verdict, and each fault's outage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    t0 = result["t0"]
    span = (samples[-1].t - t0) if samples else 1.0
    unit, scale = ("min", 60.0) if span > 600 else ("s", 1.0)
    rel = lambda t: (t - t0) / scale  # noqa: E731
    faults = result["faults_run"]
    kinds = sorted({f["label"] for f in faults})
    fig, (ax, axf, axo) = plt.subplots(3, 1, figsize=(14, 3.2 + 0.28 * len(kinds)), sharex=True,
                                       gridspec_kw={"height_ratios": [0.7, 0.3 * max(len(kinds), 3), 1.3],
                                                    "hspace": 0.1})
    _served_bars(ax, samples, rel, scale)
    ax.set_yticks([0.5])
    ax.set_yticklabels([f"client\n({result['probe']['where']})"])
    heal_at = [m.t for m in marks if m.label == "heal"]
    for f in faults:
        verdict = ("UNEXPECTED" if f["unexpected"] or f["heal_error"] else
                   "expected transient" if f["expected"] else "as declared")
        y = kinds.index(f["label"])
        healed = next((t for t in heal_at if t >= f["t"]), f["t"] + f["hold"])
        color = VERDICT_COLORS[verdict]
        axf.broken_barh([(rel(f["t"]), (healed - f["t"]) / scale)], (y - 0.35, 0.7), facecolors=color, linewidth=0)
        axf.broken_barh([(rel(healed), (f["heal_s"] or 0.0) / scale)], (y - 0.35, 0.7), facecolors="white",
                        edgecolor=color, hatch="////", linewidth=0.5)
        out = f["outage_s"]
        axo.plot([rel(f["t"])], [out if out is not None else 0.0], linestyle="",
                 marker="o" if out is not None else "x", color=color, markersize=5)
    axf.set_yticks(range(len(kinds)))
    axf.set_yticklabels(kinds, fontsize=8)
    axf.set_ylim(-0.7, len(kinds) - 0.3)
    axo.set_ylabel("outage (s)\nx: none until heal", fontsize=8)
    axo.set_xlabel(f"{unit} since the soak began")
    fig.legend(handles=[Patch(color=c, label=k) for k, c in COLORS.items()]
               + [Patch(color=c, label=k) for k, c in VERDICT_COLORS.items()],
               loc="upper right", bbox_to_anchor=(0.98, 0.955), ncol=7, fontsize=8, frameon=False)
    transients = sum(len(f["expected"]) for f in faults)
    fig.suptitle(f"{result['scenario']}, timing {result['timing']} (deadtime {result['times']['deadtime']:g} s), "
                 f"{result['seconds']:.0f} s: {result['verdict']}; {transients} expected transient(s)", fontsize=10)
    axo.set_ylim(bottom=0)
    fig.subplots_adjust(left=0.12, right=0.98, top=0.88, bottom=0.14)
    return fig


def _served_bars(ax, samples: list[Sample], rel, scale: float) -> None:  # noqa: ANN001
    """Who served, one bar collection per colour (not one per request: hours stay light)."""
    by_color: dict[str, list[tuple[float, float]]] = {}
    for start, end, key in serving_runs(samples):
        by_color.setdefault(COLORS.get(key, COLORS["ha1"]), []).append((rel(start), (end - start) / scale))
    for color, bars in by_color.items():
        ax.broken_barh(bars, (0, 1), facecolors=color, linewidth=0)


def serving_runs(samples: list[Sample]) -> list[tuple[float, float, str]]:
    """Consecutive samples with the same answer (the serving node, failed or unknown) merged
    into (start, end, answer); each run ends where the next begins."""
    runs: list[tuple[float, float, str]] = []
    for s, nxt in zip(samples, [*samples[1:], None]):
        key = (s.node or "ha1") if s.ok else s.result
        end = nxt.t if nxt else s.t + 0.05
        if runs and runs[-1][2] == key:
            runs[-1] = (runs[-1][0], end, key)
        else:
            runs.append((s.t, end, key))
    return runs


def _label_groups(events: list[Event], within: float = 0.4) -> list[list[Event]]:
    """Events of one node close together in time share one label, so labels do not overprint."""
    groups: list[list[Event]] = []
    for e in sorted(events, key=lambda e: (e.node, e.t)):
        if groups and groups[-1][0].node == e.node and e.t - groups[-1][0].t < within:
            groups[-1].append(e)
        else:
            groups.append([e])
    return groups


def _writes_html(writes: dict | None) -> str:
    if not writes:
        return ""
    c = writes["check"]
    rows = "".join(f"<tr><td>{k}</td><td>{html.escape(', '.join(v) if isinstance(v, list) else str(v))}</td></tr>"
                   for k, v in c.items())
    return (f"<h2>client writes (Jepsen's set checker)</h2><p>{writes['clients']} clients, {writes['rate']:g} "
            f"requests/s; this scenario {'promises' if writes['keeps_writes'] else 'does not promise'} to keep "
            f"every acknowledged write.</p><table>{rows}</table>")


def _inline(svg: str) -> str:
    """The <svg> element alone, without the XML prologue a file needs and a page does not."""
    return svg[svg.index("<svg"):]


def _fmt(x: float | None) -> str:
    return "no recovery" if x is None else f"{x:.2f} s"


def write_report(out: Path, result: dict, samples: list[Sample], events: list[Event], marks: list[Mark]) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    fig = draw_soak(result, samples, marks) if "faults_run" in result else draw(result, samples, events, marks)
    png, svg = out / "timeline.png", out / "timeline.svg"
    fig.savefig(png, dpi=110)
    fig.savefig(svg)
    import matplotlib.pyplot as plt

    plt.close(fig)
    files = {"png": str(png), "html": str(out / "report.html"), "json": str(out / "report.json")}
    data = {**result, "files": files, "marks": [{"t": m.t, "label": m.label} for m in marks],
            "events": events_jsonable(events), "samples": to_jsonable(samples)}
    (out / "report.json").write_text(json.dumps(data, indent=1))
    notes = any("notes" in s for s in result["steps"])  # a soak's steps carry their anomalies
    rows = "".join(f"<tr><td>{html.escape(s['label'])}</td><td>{_fmt(s['outage_s'])}</td>"
                   + (f"<td>{html.escape(s.get('notes') or '-')}</td>" if notes else "") + "</tr>"
                   for s in result["steps"])
    summ = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in result["summary"].items())
    log = "".join(f"<tr><td>{e.t - result['t0']:+.2f}</td><td>{e.node}</td><td>{html.escape(e.line)}</td></tr>"
                  for e in events)
    (out / "report.html").write_text(f"""<!doctype html>
<html><head><meta charset="utf-8"><title>scenario {html.escape(result['scenario'])}</title>
<style>body{{font-family:sans-serif;margin:2em}} td{{padding:2px 10px;font-size:90%}}
table{{border-collapse:collapse}} tr:nth-child(even){{background:#f4f4f4}}</style></head>
<body><h1>scenario {html.escape(result['scenario'])}</h1><p>{html.escape(result['help'])}</p>
{_inline(svg.read_text())}
<h2>outage per {'fault' if notes else 'step'}</h2><table>{rows}</table>
<h2>probe</h2><table>{summ}</table>
{_writes_html(result.get("writes"))}
<h2>heartbeat's log</h2><table>{log}</table>
</body></html>
""")
    svg.unlink()  # the page carries it
    return files
