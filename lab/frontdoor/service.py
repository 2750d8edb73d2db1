"""The class as the front door serves it: its labs on their engines, a cached view of each
(refreshed in the background, so a page or /class/api costs no check), each lab's progress
over time, a trainee's "check my work", and the instructor's actions on one lab or several.

The view is refreshed by one poller, a few labs at a time: with 24 labs a sweep of every
check takes tens of seconds of docker execs, which no page load should wait for."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .. import classroom, faults, inventory, provision, recovery
from ..engine.handle import LabHandle
from ..errors import ConfigError
from ..workshop.course import check_course, find_steps, guide_text
from ..workshop.stages import solve, steps_through
from ..workshop.steps import STEPS
from .record import ClassRecord, Progress

POLL_PAUSE_S = 5.0  # between two sweeps of the whole class
POLL_WORKERS = 3  # labs looked at at once: on 2 cores more only queue on the engine
STEP_IDS = [s.id for s in STEPS]
ACTIONS = ("reset", "solve", "fail", "heal")


class ClassService:
    def __init__(self, where: list[classroom.Engine], klass: str, record: ClassRecord,
                 say: Callable[[str], None] = print) -> None:
        self.where, self.klass, self.record, self.say = where, klass, record, say
        self.progress = Progress.load(klass)
        self.members: dict[str, classroom.Member] = {}
        self.views: dict[str, dict] = {}  # lab -> its last row (inventory.row) and when
        self.busy: dict[str, str] = {}  # lab -> the instructor's action under way
        self.last_action: dict[str, str] = {}  # lab -> how the last action ended
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sweep_seconds: float | None = None
        self.refresh_members()

    # ---- the labs ----
    def refresh_members(self) -> None:
        """The class's labs as the engines list them now; a lab with an action under way
        stays, although a reset removes and remakes it (the poller once looked in between,
        and the lab's row left the dashboard while it was being reset)."""
        found = {m.cfg.name: m for m in classroom.members(self.where, self.klass)}
        with self.lock:
            found |= {n: m for n, m in self.members.items() if n in self.busy and n not in found}
            self.members = found
            for name in found:
                if name not in self.progress.started:
                    self.progress.begin(name)

    def names(self) -> list[str]:
        with self.lock:
            return sorted(self.members)

    def handle(self, name: str, say: Callable[[str], None] | None = None) -> LabHandle:
        with self.lock:
            member = self.members.get(name)
        if member is None:
            raise KeyError(name)
        return member.handle(say) if say else member.handle()

    # ---- the view, refreshed in the background ----
    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, daemon=True, name="class-poller")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.sweep()
            self._stop.wait(POLL_PAUSE_S)

    def sweep(self) -> None:
        t0 = time.monotonic()
        self.refresh_members()
        with ThreadPoolExecutor(max_workers=POLL_WORKERS) as pool:
            list(pool.map(self.look, [n for n in self.names() if n not in self.busy]))
        self.sweep_seconds = round(time.monotonic() - t0, 2)

    def look(self, name: str) -> dict:
        try:
            row = inventory.row(self.handle(name))
        except KeyError:
            return {}
        row["seen_at"] = time.time()
        with self.lock:
            self.views[name] = row
            if "error" not in row:
                self._observe(name, STEP_IDS[:row["steps_done"]])
        return row

    def _observe(self, name: str, passed: list[str]) -> None:
        if self.progress.observe(name, passed):
            self.progress.save()

    def rows(self) -> list[dict]:
        """The dashboard's rows, from the cache: no check runs here."""
        now = time.time()
        out = []
        with self.lock:
            for name in sorted(self.members):
                m = self.members[name]
                row = dict(self.views.get(name) or {"name": name, "stage": m.cfg.stage, "pending": True})
                row.update(engine=m.engine.name, engine_kind=m.engine.kind, busy=self.busy.get(name),
                           last_action=self.last_action.get(name),
                           timeline=self.progress.timeline(name, STEP_IDS, now))
                current = next((t for t in row["timeline"] if t.get("current")), None)
                row["stuck_s"] = round(current["seconds"]) if current and current["seconds"] is not None else None
                out.append(row)
        return out

    # ---- a trainee's own lab ----
    def check(self, name: str) -> dict:
        """lab check, now, with the retry windows a person expects from `lab check`."""
        lab = self.handle(name)
        results, todo = check_course(lab)  # every step up to the first that fails
        passed = [r.step.id for r in results if r.ok]
        with self.lock:
            self._observe(name, passed)
            view = self.views.get(name)
            if view and "error" not in view:  # the cached view is now this newer look
                view.update(steps_done=len(passed), next=todo.id if todo else None, seen_at=time.time())
        return {"ok": todo is None, "next": todo.id if todo else None, "steps": [r.jsonable() for r in results]}

    def guide(self, name: str, step: str | None = None) -> dict:
        lab = self.handle(name)
        if step:
            chosen = find_steps([step])[0]
        else:
            view = self.views.get(name) or {}
            if "next" in view:
                nxt = view["next"]
            else:
                todo = check_course(lab, patient=False)[1]
                nxt = todo.id if todo else None
            if nxt is None:
                return {"step": None, "text": "Every step of the article is done: try the faults with your "
                                               "instructor."}
            chosen = find_steps([nxt])[0]
        number = STEP_IDS.index(chosen.id) + 1 if chosen.id in STEP_IDS else None
        return {"step": chosen.id, "number": number, "title": chosen.title, "text": guide_text(chosen, lab.cfg)}

    # ---- the instructor's actions ----
    def act(self, action: str, names: list[str], step: str | None = None, fault: str | None = None,
            node: str | None = None) -> list[str]:
        """Start `action` on the named labs, each in the background; returns the labs it
        started on. Bad input is refused before anything starts."""
        if action not in ACTIONS:
            raise ConfigError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
        unknown = [n for n in names if n not in self.members]
        if unknown or not names:
            raise ConfigError(f"labs {', '.join(unknown) or '(none)'}: expected labs of class {self.klass!r}")
        if action == "solve":
            steps = steps_through(step or "")
        if action == "fail":
            faults.check_fault(fault or "", node)
        busy = [n for n in names if n in self.busy]
        if busy:
            raise ConfigError(f"{', '.join(busy)}: an action is already under way there")

        def run(name: str) -> None:
            lab = self.handle(name, say=lambda msg: self.say(f"{name}: {msg}"))  # the action's steps, in the log
            try:
                if action == "reset":
                    provision.reset(lab)
                    with self.lock:
                        self.progress.begin(name)
                        self.progress.save()
                elif action == "solve":
                    with self.lock:
                        self.progress.solved_by_instructor(name, [s.id for s in steps])
                        self.progress.save()
                    solve(lab, steps)
                elif action == "fail":
                    faults.inject(lab, fault, node)
                else:
                    recovery.heal(lab)
                outcome = f"{action}: done"
            except Exception as exc:  # any failure is shown on the dashboard; the server goes on
                outcome = f"{action}: FAILED: {str(exc).splitlines()[0]}"
            self.say(f"instructor: {action} on {name}: {outcome}")
            with self.lock:
                self.busy.pop(name, None)
                self.last_action[name] = outcome
                self.refresh_members()
            self.look(name)

        with self.lock:
            for n in names:
                self.busy[n] = action
        for n in names:
            threading.Thread(target=run, args=(n,), daemon=True, name=f"{action}-{n}").start()
        return names
