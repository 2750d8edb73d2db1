"""lab class up, status, reset, serve, roster, down: one lab per trainee, found by the class's
label; the class's record (roster, instructor's password hash, progress) on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import classroom
from ..errors import ConfigError
from ..frontdoor import record as class_record
from ..frontdoor import roster
from ..frontdoor.extra import need
from ..frontdoor.keys import hash_password, new_credential
from ..model.config import NFS_CLIENTS, TIMINGS, LabConfig
from ..workshop.steps import STEPS
from .options import confirm, json_arg, print_json, stage_arg, yes_arg

DEFAULT_CLASS = "trainee"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("class", help="a classroom: one lab per trainee (up, status, reset, down)")
    csub = p.add_subparsers(dest="class_cmd", required=True, metavar="ACTION")

    q = csub.add_parser("up", help="start COUNT labs named CLASS01.., each with its own addresses")
    q.add_argument("--count", type=int, required=True, help="how many labs: one per trainee")
    class_arg(q, "the class's name, and its labs' names' beginning")
    q.add_argument("--timing", choices=sorted(TIMINGS), default="fast",
                   help="heartbeat's timers in every lab (default fast: keepalive 200 ms, deadtime 2 s)")
    q.add_argument("--nfs-client", choices=NFS_CLIENTS, default="auto",
                   help="how the nodes mount nfsha:/ha (default auto: the kernel's client if it has NFS)")
    q.add_argument("--parallel", type=int, default=classroom.DEFAULT_WORKERS,
                   help=f"labs started at once (default {classroom.DEFAULT_WORKERS})")
    engines_arg(q)
    q.add_argument(classroom.TRUST_FLAG, dest="trust", action="store_true",
                   help="start the class on an engine whose container root is the host's root (rootful Docker): "
                        "only where every trainee may be root on this machine")
    q.add_argument("--instructor-password-file", metavar="FILE",
                   help="the instructor's password for `lab class serve`, read from FILE (default: one is made "
                        "and shown once)")
    stage_arg(q, "serial", "where every trainee starts")
    json_arg(q, "the labs started (name, URLs, engine) and those that failed")
    q.set_defaults(func=cmd_up)

    q = csub.add_parser("status", help="every lab of the class: its progress per step, who serves, problems")
    class_arg(q)
    json_arg(q, "every lab's row and timeline")
    engines_arg(q)
    q.set_defaults(func=cmd_status)

    q = csub.add_parser("reset", help="reset the named labs of the class (all if none is named)")
    q.add_argument("names", nargs="*", metavar="NAME", help="the labs to reset (default: every lab of the class)")
    class_arg(q)
    stage_arg(q, None, "the stage to go back to")
    yes_arg(q, "resetting every lab of the class")
    engines_arg(q)
    q.set_defaults(func=cmd_reset)

    q = csub.add_parser("serve", help="the class's front door: each trainee's page (terminals, guide, check) and the "
                                      "instructor's dashboard on the web, and an ssh door")
    class_arg(q)
    q.add_argument("--listen", default="127.0.0.1:8000", metavar="HOST:PORT",
                   help="where the web front door listens (default 127.0.0.1:8000; 0.0.0.0:8443 for the network)")
    q.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (and --tls-key)")
    q.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    q.add_argument("--ssh-port", type=int, metavar="PORT", help="also an ssh door on this port (LAB@server, "
                   "LAB+NODE@server), on the --listen host")
    q.add_argument("--public-host", metavar="NAME", help="the server's name in the roster's URLs and ssh commands "
                   "(default: the --listen host, or this machine's name when listening on every address)")
    engines_arg(q)
    q.set_defaults(func=cmd_serve)

    q = csub.add_parser("roster", help="the class's roster: each trainee's URL, credential, ssh command, cluster "
                                       "address (html: a printable sheet, one card per trainee)")
    class_arg(q)
    q.add_argument("--format", choices=roster.FORMATS, default="csv",
                   help="csv (default: a row per trainee, for a spreadsheet or a mail merge), json, or html (cards to print)")
    engines_arg(q)
    q.set_defaults(func=cmd_roster)

    q = csub.add_parser("key", help="let a trainee in by ssh with their public key too (beside the roster's password)")
    q.add_argument("name", metavar="LAB", help="the trainee's lab")
    q.add_argument("key_file", metavar="PUBKEY", help="the trainee's public key file (OpenSSH format, e.g. id_ed25519.pub)")
    class_arg(q)
    q.set_defaults(func=cmd_key)

    q = csub.add_parser("down", help="remove the named labs of the class (all if none is named)")
    q.add_argument("names", nargs="*", metavar="NAME", help="the labs to remove (default: every lab of the class, "
                                                         "and its record)")
    class_arg(q)
    yes_arg(q, "removing every lab of the class")
    engines_arg(q)
    q.set_defaults(func=cmd_down)


def class_arg(p: argparse.ArgumentParser, what: str = "the class") -> None:
    p.add_argument("--class", dest="klass", default=DEFAULT_CLASS, metavar="CLASS",
                   help=f"{what} (default {DEFAULT_CLASS})")


def engines_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engines", type=lambda v: [c for c in v.split(",") if c], default=None, metavar="CTX1,CTX2",
                   help="docker contexts the class runs on (default: the engine of DOCKER_HOST)")


def instructor_password(path: str | None) -> tuple[str, bool]:
    """(the password, whether it was made here and must be shown)."""
    if path is None:
        return new_credential(), True
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"--instructor-password-file {path}: {exc.strerror}") from None
    if len(text) < 12:
        raise ConfigError(f"--instructor-password-file {path}: expected a password of at least 12 characters")
    return text, False


def cmd_up(a: argparse.Namespace) -> int:
    base = LabConfig(timing=a.timing, nfs_client=a.nfs_client, stage=a.stage).resolved()
    password, made = instructor_password(a.instructor_password_file)
    where = classroom.engines(a.engines)
    classroom.refuse_unsafe(where, a.trust)
    names = classroom.member_names(a.klass, a.count)
    started, failed = classroom.up(where, base, a.klass, a.count, a.parallel)
    record = class_record.ClassRecord.new(a.klass, names, hash_password(password)).save()
    progress = class_record.Progress(a.klass)
    for m in started:
        progress.begin(m.cfg.name)
    progress.save()
    rows = classroom.rows(sorted(started, key=lambda m: m.cfg.name), progress=False)
    if a.json:
        print_json({"class": a.klass, "stage": a.stage, "record": str(record.path), "labs": rows,
                    "failed": [{"name": m.cfg.name, "error": str(e)} for m, e in failed],
                    **({"instructor_password": password} if made else {})})
        return 1 if failed else 0
    print(f"\nclass {a.klass!r}: {len(started)} lab(s) up at the stage {a.stage!r}"
          + (f", {len(failed)} failed" if failed else ""))
    for r in rows:
        print(f"  {r['name']:14} {r.get('local_url', '?'):28} cluster {r.get('url', '?'):24} engine {r['engine']} "
              f"({r['engine_kind']})")
    for member, error in failed:
        print(f"  {member.cfg.name:14} FAILED: {error}")
    print(f"\nthe class's roster (one credential per lab) is in {record.path}")
    if made:
        print(f"the instructor's password, shown this once: {password}")
    print(f"serve it: lab class serve --class {a.klass} --listen 0.0.0.0:8443 --tls-cert CERT --tls-key KEY "
          "--ssh-port 2222; then `lab class roster --format html` prints a card per trainee")
    return 1 if failed else 0


def cmd_status(a: argparse.Namespace) -> int:
    rows = classroom.rows(classroom.select(classroom.engines(a.engines), a.klass, []))
    progress = class_record.Progress.load(a.klass)
    ids = [s.id for s in STEPS]
    for r in rows:
        # the record is the class server's (its poller writes it); the steps passing now, just
        # checked here, count as seen now if the server has not seen them yet, so that the
        # timeline agrees with the row (the record itself is left to the server)
        if "error" not in r:
            progress.observe(r["name"], ids[:r["steps_done"]])
        r["timeline"] = progress.timeline(r["name"], ids)
    if a.json:
        print_json(rows)
        return 0
    print(f"{'LAB':14} {'STAGE':9} " + " ".join(f"{i + 1:>2}" for i in range(len(ids)))
          + "  NEXT            SERVES  ENGINE                PROBLEMS")
    for r in rows:
        if "error" in r:
            print(f"{r['name']:14} {r['stage']:9} {r['error']}")
            continue
        done = r["steps_done"]
        marks = " ".join(f"{'ok' if i < done else ('..' if i == done else '  '):>2}" for i in range(len(ids)))
        print(f"{r['name']:14} {r['stage']:9} {marks}  {(r['next'] or '-'):15} {(r['serving'] or '-'):7} "
              f"{r['engine'] + ' (' + r['engine_kind'] + ')':21} {'; '.join(r['problems']) or '-'}")
    print("\nsteps: " + ", ".join(f"{i + 1} {s}" for i, s in enumerate(ids)))
    return 0


def cmd_reset(a: argparse.Namespace) -> int:
    chosen = classroom.select(classroom.engines(a.engines), a.klass, a.names)
    if not a.names:
        confirm(f"reset every lab of class {a.klass!r} ({len(chosen)}), losing what each trainee did", a.yes)
    done, failed = classroom.reset(chosen, a.stage)
    progress = class_record.Progress.load(a.klass)
    for lab in done:
        progress.begin(lab.cfg.name)
    progress.save()
    print(f"reset {len(done)} lab(s)" + (f"; failed: {', '.join(m.cfg.name for m, _ in failed)}" if failed else ""))
    return 1 if failed else 0


def cmd_down(a: argparse.Namespace) -> int:
    try:
        cfgs = classroom.select(classroom.engines(a.engines), a.klass, a.names)
    except ConfigError:
        if a.names:
            raise
        print(f"nothing to remove: no class {a.klass!r} on this engine")
        return 0
    if not a.names:
        confirm(f"remove every lab of class {a.klass!r} ({len(cfgs)}) and its record (roster, progress)", a.yes)
    n = classroom.down(cfgs)
    if not a.names:
        class_record.remove_class(a.klass)
    elif (class_record.class_dir(a.klass) / "record.json").exists():  # those trainees' doors close too
        record = class_record.ClassRecord.load(a.klass)
        for name in a.names:
            record.credentials.pop(name, None)
            record.public_keys.pop(name, None)
        record.save()
    print(f"removed {len(cfgs)} lab(s) of class {a.klass!r} ({n} objects)")
    return 0


def cmd_serve(a: argparse.Namespace) -> int:
    need("lab class serve")
    from ..frontdoor.server import Listen, Running, serve_forever, tls_context
    listen = Listen.parse(a.listen)
    ssh = None if a.ssh_port is None else Listen.parse(f"{listen.host}:{a.ssh_port}", "--ssh-port")
    tls = tls_context(a.tls_cert, a.tls_key)
    where = classroom.engines(a.engines)
    classroom.select(where, a.klass, [])  # a class that does not exist is refused before serving
    serve_forever(Running(where, a.klass, listen, tls, ssh, a.public_host))
    return 0


def cmd_key(a: argparse.Namespace) -> int:
    need("lab class key")
    import asyncssh
    record = class_record.ClassRecord.load(a.klass)
    if a.name not in record.credentials:
        raise ConfigError(f"{a.name!r}: not a lab of class {a.klass!r} (its labs: {', '.join(sorted(record.credentials))})")
    try:
        key = asyncssh.import_public_key(Path(a.key_file).read_text())
    except OSError as exc:
        raise ConfigError(f"{a.key_file}: {exc.strerror}") from None
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise ConfigError(f"{a.key_file}: not an ssh public key ({exc}); expected one line such as "
                          "'ssh-ed25519 AAAA... name'") from None
    text = key.export_public_key().decode().strip()
    keys = record.public_keys.setdefault(a.name, [])
    if text not in keys:
        keys.append(text)
        record.save()
    print(f"{a.name}: {len(keys)} ssh key(s) ({key.get_fingerprint()} among them); a running `lab class serve` "
          "takes it at the next login")
    return 0


def cmd_roster(a: argparse.Namespace) -> int:
    record = class_record.ClassRecord.load(a.klass)
    cfgs = {m.cfg.name: m.cfg for m in classroom.members(classroom.engines(a.engines), a.klass)}
    print(roster.render(record, cfgs, a.format))
    return 0
