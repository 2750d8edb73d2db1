"""The instructor's dashboard: a local web page (Flask) with a row per lab of a class, its
step progress (passed and failed checks), who serves, active faults and problems, and a
link to the lab's browser URL. The page renders the class's current state on every load
and reloads itself every few seconds; /api/class gives the same rows as JSON."""

from __future__ import annotations

from flask import Flask, jsonify, render_template_string

from . import classroom
from .faults import active_faults
from .workshop.steps import STEPS

REFRESH_S = 3

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{{ refresh }}">
<title>class {{ klass }}: heartbeat lab</title>
<style>
 body { font-family: sans-serif; margin: 1.5em; }
 table { border-collapse: collapse; }
 th, td { border: 1px solid #bbb; padding: .3em .5em; text-align: left; }
 td.ok { background: #c8f0c8; } td.todo { background: #f6d6d6; } td.later { color: #999; }
 .problem { color: #b00; font-weight: bold; }
</style></head>
<body>
<h1>Class <code>{{ klass }}</code>: {{ rows|length }} lab(s)</h1>
<p>Refreshed every {{ refresh }} s. Steps: {% for s in steps %}<b>{{ loop.index }}</b> {{ s }}{% if not loop.last %}, {% endif %}{% endfor %}.</p>
<table id="class">
<tr><th>lab</th><th>stage</th>{% for s in steps %}<th title="{{ s }}">{{ loop.index }}</th>{% endfor %}
<th>checks</th><th>next</th><th>serves</th><th>faults</th><th>problems</th><th>browser</th><th>engine</th></tr>
{% for r in rows %}
<tr class="lab" id="lab-{{ r.name }}" data-steps-done="{{ r.steps_done }}" data-checks-passed="{{ r.passed }}">
<td>{{ r.name }}</td><td>{{ r.stage }}</td>
{% if r.error %}<td colspan="{{ steps|length + 6 }}" class="problem">{{ r.error }}</td>
{% else %}
{% for s in steps %}<td class="{{ 'ok' if loop.index0 < r.steps_done else ('todo' if loop.index0 == r.steps_done else 'later') }}">{{ 'ok' if loop.index0 < r.steps_done else '' }}</td>{% endfor %}
<td>{{ r.passed }} passed, {{ r.failed }} failed</td>
<td>{{ r.next or 'done' }}</td><td>{{ r.serving or '-' }}</td>
<td>{{ r.faults|join(', ') or '-' }}</td>
<td class="{{ 'problem' if r.problems else '' }}">{{ r.problems|join('; ') or '-' }}</td>
<td><a href="{{ r.local_url }}hostname.html">{{ r.local_url }}</a></td>
{% endif %}
<td class="engine" title="{{ 'container root is the host root' if r.engine_kind == 'rootful' else 'container root is an unprivileged user' }}">{{ r.engine }} ({{ r.engine_kind }})</td>
</tr>
{% endfor %}
</table>
</body></html>
"""


def class_rows(where: list[classroom.Engine], klass: str) -> list[dict]:
    chosen = classroom.members(where, klass)
    out = classroom.rows(chosen)
    for m, r in zip(chosen, out):
        if "error" not in r:
            r["passed"] = sum(r["checks"].values())
            r["failed"] = len(r["checks"]) - r["passed"]
            r["faults"] = active_faults(m.handle())
        else:
            r.update(steps_done=0, passed=0, failed=0, faults=[])
    return out


def app(where: list[classroom.Engine], klass: str) -> Flask:
    web = Flask("heartbeat-lab-dashboard")

    @web.get("/")
    def page() -> str:
        return render_template_string(PAGE, klass=klass, rows=class_rows(where, klass),
                                      steps=[s.id for s in STEPS], refresh=REFRESH_S)

    @web.get("/api/class")
    def api():  # noqa: ANN202
        return jsonify(class_rows(where, klass))

    return web
