"""The class's web front door (aiohttp): a login, each trainee's page (terminals, guide, check,
site, handout) and the instructor's dashboard with its actions.

Routes stay thin: who may do what is lab.frontdoor.access, what the class is and does is
lab.frontdoor.service. Sessions live in sealed cookies (aiohttp-session's encrypted
storage: signed and encrypted with the class's key), HttpOnly and SameSite=Strict, Secure
when served over TLS. Every refusal is answered 403 and logged."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp_session import get_session, new_session, setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..errors import ConfigError
from ..faults import FAULTS
from ..model.config import NODES
from ..observe.state import local_url
from ..roles.client import Client
from ..workshop.handout import handout
from .access import REACHABLE, Who, may_act, may_open
from .keys import Limiter, check_password, same_credential
from .record import INSTRUCTOR, TRAINEE
from .service import ACTIONS, STEP_IDS, ClassService
from .terminal import ExecTerminal, pump

HERE = Path(__file__).parent
log = logging.getLogger("lab.frontdoor")
SESSION_HOURS = 12
PAGE_REFRESH_S = 5  # the trainee's status and the dashboard ask the cache this often
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate",
               "proxy-authorization", "content-encoding", "content-length"}

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))

SERVICE = web.AppKey("service", ClassService)
LIMITER = web.AppKey("limiter", Limiter)
TLS = web.AppKey("tls", bool)


def render(template: str, **values: object) -> web.Response:
    return web.Response(text=templates.get_template(template).render(**values), content_type="text/html")


async def who_is(request: web.Request) -> Who | None:
    session = await get_session(request)
    return Who.from_cookie(session.get("who"))


def refuse(request: web.Request, who: Who | None, why: str) -> web.HTTPForbidden:
    log.warning("403 %s %s %s: %s", request.remote, who or "nobody", request.path, why)
    return web.HTTPForbidden(text=f"403: {why}\n")


async def lab_for(request: web.Request) -> tuple[Who, str]:
    """The lab the request names, if the session may open it (else 403; 302 to the login
    without a session)."""
    who = await who_is(request)
    name = request.match_info["lab"]
    if who is None:
        raise web.HTTPFound("/login")
    if not may_open(who, name):
        raise refuse(request, who, f"lab {name!r} is not yours")
    if name not in request.app[SERVICE].members:
        raise web.HTTPNotFound(text=f"no lab {name!r} in this class\n")
    return who, name


# ---- logging in and out ----
async def login_page(request: web.Request) -> web.Response:
    return render("login.html", klass=request.app[SERVICE].klass, error=request.query.get("error"))


async def login(request: web.Request) -> web.StreamResponse:
    service, limiter = request.app[SERVICE], request.app[LIMITER]
    form = await request.post()
    name, secret = str(form.get("name", "")).strip(), str(form.get("password", ""))
    # per address and name: trainees behind one NAT do not slow each other down
    client = f"{request.remote or '?'}/{name}"
    wait = limiter.wait(client)
    if wait > 0:
        log.warning("429 %s login slowed: %.0f s to wait", client, wait)
        raise web.HTTPTooManyRequests(text=f"too many wrong answers: try again in {wait:.0f} s\n",
                                      headers={"Retry-After": str(int(wait) + 1)})
    who = None
    if name == INSTRUCTOR and check_password(secret, service.record.instructor_hash):
        who = Who(INSTRUCTOR)
    elif name in service.record.credentials and same_credential(secret, service.record.credentials[name]):
        who = Who(TRAINEE, name)
    if who is None:
        limiter.failed(client)
        log.warning("login refused: %s as %r", client, name)
        raise web.HTTPFound("/login?error=wrong+name+or+password")
    limiter.succeeded(client)
    session = await new_session(request)
    session["who"] = who.cookie()
    log.info("login: %s as %s", client, who)
    raise web.HTTPFound("/")


async def logout(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound("/login")


async def home(request: web.Request) -> web.StreamResponse:
    who = await who_is(request)
    if who is None:
        raise web.HTTPFound("/login")
    raise web.HTTPFound("/class/" if who.role == INSTRUCTOR else f"/lab/{who.lab}/")


# ---- a lab's page and what it offers ----
async def lab_page(request: web.Request) -> web.Response:
    who, name = await lab_for(request)
    service = request.app[SERVICE]
    cfg = service.handle(name).cfg
    return render("lab.html", name=name, who=who, instructor=who.role == INSTRUCTOR, nodes=REACHABLE,
                  vip=cfg.vip, master=cfg.master, refresh=PAGE_REFRESH_S, steps=STEP_IDS)


async def lab_status(request: web.Request) -> web.Response:
    _, name = await lab_for(request)
    row = next((r for r in request.app[SERVICE].rows() if r["name"] == name), {})
    return web.json_response(row)


async def lab_check(request: web.Request) -> web.Response:
    _, name = await lab_for(request)
    service = request.app[SERVICE]
    if name in service.busy:
        raise web.HTTPConflict(text=f"the instructor is acting on {name} ({service.busy[name]}): check again soon\n")
    result = await asyncio.get_running_loop().run_in_executor(None, service.check, name)
    return web.json_response(result)


async def lab_guide(request: web.Request) -> web.Response:
    _, name = await lab_for(request)
    step = request.query.get("step")
    try:
        guide = await asyncio.get_running_loop().run_in_executor(None, request.app[SERVICE].guide, name, step)
    except ConfigError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    return web.json_response(guide)


async def lab_handout(request: web.Request) -> web.Response:
    _, name = await lab_for(request)
    cfg = request.app[SERVICE].handle(name).cfg
    return render("handout.html", name=name, text=handout(cfg))


async def lab_site(request: web.Request) -> web.StreamResponse:
    """The trainee's cluster pages through the class server (GET and HEAD), as the article's
    browser test asks for them: from the lab's own 127.0.0.1 publication when its engine is
    this machine's, else from the lab's client, ha3, at the cluster address (an engine
    reached over ssh or TCP publishes on its own machine's 127.0.0.1)."""
    _, name = await lab_for(request)
    handle = request.app[SERVICE].handle(name)
    tail = request.match_info["tail"]
    loop = asyncio.get_running_loop()
    if not is_local(handle):
        status, headers, body = await loop.run_in_executor(None, fetch_via_client, handle, tail, request.method)
        return web.Response(status=status, body=body, headers=headers)
    url = await loop.run_in_executor(None, local_url, handle) + tail
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http, \
                http.request(request.method, url, allow_redirects=False) as resp:
            body = await resp.read()
            headers = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=resp.status, body=body, headers=headers)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise web.HTTPBadGateway(text=f"the cluster address of {name} did not answer ({exc or 'timeout'}): "
                                      "is heartbeat serving it? (`cl_status rscstatus` on the nodes)\n") from None


def is_local(handle) -> bool:  # noqa: ANN001
    """The lab's engine is this machine's (its unix socket): its 127.0.0.1 is ours."""
    return handle.client.api.base_url == "http+docker://localhost"


def fetch_via_client(handle, tail: str, method: str) -> tuple[int, dict, bytes]:  # noqa: ANN001
    answer = Client(handle).response(tail, timeout=8, head=method == "HEAD")
    if answer is None:
        raise web.HTTPBadGateway(text=f"the cluster address of {handle.cfg.name} did not answer from ha3\n")
    status, headers, body = answer
    return status, {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}, body


async def lab_terminal(request: web.Request) -> web.StreamResponse:
    """A websocket to a TTY in the lab's container: binary frames carry the bytes both ways,
    a text frame {"resize": [cols, rows]} the window's size."""
    who, name = await lab_for(request)
    node = request.match_info["node"]
    if node not in REACHABLE:
        raise refuse(request, who, f"{node!r} is not one of {', '.join(REACHABLE)}")
    service = request.app[SERVICE]
    handle = service.handle(name)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=1 << 20)
    await ws.prepare(request)
    loop = asyncio.get_running_loop()
    try:
        term = await loop.run_in_executor(None, lambda: ExecTerminal(handle.client, handle.cfg.container_name(node)))
    except Exception as exc:  # the container is down (a fault, a reset): say so in the terminal
        await ws.send_bytes(f"\r\ncannot open a shell on {node}: {str(exc).splitlines()[0]}\r\n".encode())
        await ws.close()
        return ws
    log.info("terminal: %s opened %s/%s", who, name, node)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    pump(term, loop, lambda _stream, data: queue.put_nowait(data))

    async def to_browser() -> None:
        while (data := await queue.get()):
            await ws.send_bytes(data)
        await ws.send_bytes(b"\r\n[the shell ended: reload the page for a new one]\r\n")
        await ws.close()

    sender = asyncio.create_task(to_browser())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                await loop.run_in_executor(None, term.write, msg.data)
            elif msg.type == WSMsgType.TEXT:
                size = json.loads(msg.data).get("resize")
                if size:
                    await loop.run_in_executor(None, term.resize, int(size[0]), int(size[1]))
    finally:
        sender.cancel()
        term.close()
    return ws


# ---- the instructor's dashboard ----
async def instructor(request: web.Request) -> Who:
    who = await who_is(request)
    if who is None:
        raise web.HTTPFound("/login")
    if not may_act(who):
        raise refuse(request, who, "the class's dashboard and actions are the instructor's")
    return who


async def class_page(request: web.Request) -> web.Response:
    who = await instructor(request)
    service = request.app[SERVICE]
    return render("class.html", who=who, klass=service.klass, steps=STEP_IDS, refresh=PAGE_REFRESH_S,
                  faults=sorted(FAULTS), nodes=NODES, actions=ACTIONS)


async def class_api(request: web.Request) -> web.Response:
    await instructor(request)
    service = request.app[SERVICE]
    return web.json_response({"class": service.klass, "steps": STEP_IDS, "labs": service.rows(),
                              "sweep_seconds": service.sweep_seconds, "at": time.time()})


async def class_action(request: web.Request) -> web.Response:
    who = await instructor(request)
    form = await request.json()
    try:
        started = request.app[SERVICE].act(str(form.get("action")), list(form.get("labs") or []),
                                           step=form.get("step"), fault=form.get("fault"), node=form.get("node"))
    except ConfigError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    log.info("instructor %s: %s on %s", who, form.get("action"), ", ".join(started))
    return web.json_response({"started": started})


@web.middleware
async def no_store(request: web.Request, handler):  # noqa: ANN001, ANN201
    resp = await handler(request)
    if not request.path.startswith("/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


def make_app(service: ClassService, tls: bool) -> web.Application:
    app = web.Application(middlewares=[no_store])
    app[SERVICE] = service
    app[LIMITER] = Limiter()
    app[TLS] = tls
    setup_sessions(app, EncryptedCookieStorage(service.record.cookie_key, cookie_name="lab_class",
                                               max_age=SESSION_HOURS * 3600, httponly=True, secure=tls,
                                               samesite="Strict"))
    app.add_routes([
        web.get("/login", login_page), web.post("/login", login), web.post("/logout", logout), web.get("/", home),
        web.get("/lab/{lab}/", lab_page), web.get("/lab/{lab}/status", lab_status),
        web.post("/lab/{lab}/check", lab_check), web.get("/lab/{lab}/guide", lab_guide),
        web.get("/lab/{lab}/handout", lab_handout), web.get("/lab/{lab}/term/{node}", lab_terminal),
        web.get("/lab/{lab}/site/{tail:.*}", lab_site),  # and HEAD
        web.get("/class/", class_page), web.get("/class/api", class_api), web.post("/class/action", class_action),
        web.static("/static", HERE / "static"),
    ])
    return app


ROUTES = [  # for the documentation and the closing note: every route, and who may use it
    ("GET /login, POST /login", "anyone (wrong answers slowed per address and login)"),
    ("POST /logout, GET /", "anyone with a session"),
    ("GET /lab/LAB/ , /status, /guide, /handout; POST /check", "LAB's trainee, the instructor"),
    ("GET /lab/LAB/term/NODE (websocket; NODE: ha1, ha2, nfsha, ha3)", "LAB's trainee, the instructor"),
    ("GET, HEAD /lab/LAB/site/PATH (proxy to LAB's cluster address)", "LAB's trainee, the instructor"),
    ("GET /class/, /class/api; POST /class/action", "the instructor"),
    ("GET /static/...", "anyone (xterm.js, the pages' script and style)"),
]
