"""Several labs on one engine without hand-picked addresses: `lab up --name` picks free
subnets, VIP and port under a lock, so two started at the same moment never collide, and
`lab ls` lists every lab with its stage, progress and URLs. Then a class over two engines,
served as an instructor serves it (`lab class serve`, the web front door and the ssh door):
a trainee in a real browser (Debian's chromium, driven by Selenium) and by ssh, in their own
lab and nowhere else; the instructor's dashboard and actions."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from docker.context import ContextAPI
from labtest import TEST_LAB, lab_cli
from lab.engine.contexts import ensure_docker_config
from lab.frontdoor.web import fetch_via_client
from lab.engine.handle import LabHandle
from lab.provision import remove_lab
from lab.workshop.course import find_steps, guide_text

PAIR = (f"{TEST_LAB}-a", f"{TEST_LAB}-b")



EVIDENCE = Path(__file__).resolve().parents[2] / "reports" / "tests" / "class"  # the classroom page's screenshots (docs/images)


def test_two_labs_started_at_the_same_moment_get_their_own_addresses_and_lab_ls_lists_them(docker, lab):  # noqa: ANN001
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = list(pool.map(lambda n: lab_cli("up", "--name", n, "--stage", "serial", "--timing", "fast"), PAIR))
        for name, res in zip(PAIR, done):
            assert res.returncode == 0, f"{name}: {res.stderr[-2000:]}"
        cfgs = [LabHandle.attach(n, docker).cfg for n in PAIR]
        nets = [ipaddress.IPv4Network(s) for c in (*cfgs, lab.cfg) for s in (c.lan_subnet, c.serial_subnet)]
        assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:]), nets
        assert len({c.local_port for c in (*cfgs, lab.cfg)}) == 3
        assert all(ipaddress.IPv4Address(c.vip) in c.lan for c in cfgs)

        res = lab_cli("ls", "--json")
        assert res.returncode == 0, res.stderr
        rows = {r["name"]: r for r in json.loads(res.stdout)}
        for cfg in cfgs:
            r = rows[cfg.name]
            assert r["stage"] == "serial" and r["steps_done"] == 1 and r["next"] == "nfs-export", r
            assert r["url"] == f"http://{cfg.vip}/" and r["local_url"] == f"http://127.0.0.1:{cfg.local_port}/"
            assert r["serving"] is None and r["problems"] == []
            assert r["engine_kind"] == "rootful"  # this machine's engine: container root is host root
        assert rows[lab.cfg.name]["serving"] == lab.cfg.master and rows[lab.cfg.name]["next"] == "failover-test"
        table = lab_cli("ls", "--no-progress").stdout
        assert all(n in table for n in PAIR)
        assert all("rootful" in line for line in table.splitlines()[1:] if line.split()[0] in PAIR), table
    finally:
        for name in PAIR:
            remove_lab(docker, name, None)


CLASS = f"{TEST_LAB}-c"  # its labs: hatest-c01, hatest-c02
NAMES = [f"{CLASS}01", f"{CLASS}02"]
ENGINES = (f"{TEST_LAB}-e1", f"{TEST_LAB}-e2")  # two docker contexts, both reaching this machine's engine
INSTRUCTOR_PASSWORD = "a class of two, served"


@pytest.fixture(scope="module")
def contexts():  # noqa: ANN201
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    ensure_docker_config()  # where `lab class` (another process) looks them up
    for name in ENGINES:
        with contextlib.suppress(Exception):
            ContextAPI.remove_context(name)
        ContextAPI.create_context(name, host=host)
    yield ",".join(ENGINES)
    for name in ENGINES:
        with contextlib.suppress(Exception):
            ContextAPI.remove_context(name)


@pytest.fixture(scope="module")
def state_home(tmp_path_factory):  # noqa: ANN001, ANN201
    """The class's record (roster, progress) in a directory of the test's own, for this
    process and the `lab` processes it starts."""
    old = os.environ.get("LAB_STATE_HOME")
    os.environ["LAB_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield Path(os.environ["LAB_STATE_HOME"])
    if old is None:
        os.environ.pop("LAB_STATE_HOME", None)
    else:
        os.environ["LAB_STATE_HOME"] = old


def test_a_class_is_refused_on_an_engine_whose_container_root_is_host_root(docker, contexts, state_home):  # noqa: ANN001
    # this machine's engine is rootful: container root is the host's root, so a class (every
    # trainee root in nodes with CAP_SYS_ADMIN) is refused before anything is made
    res = lab_cli("class", "up", "--count", "2", "--class", CLASS, "--stage", "serial", "--engines", contexts)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "host's root" in res.stderr and "lab engine class" in res.stderr and "--trust-trainees" in res.stderr
    assert docker.networks.list(filters={"label": f"io.heartbeat-lab.lab={CLASS}01"}) == []
    assert not (state_home / "classes" / CLASS).exists()


@pytest.fixture(scope="module")
def klass(docker, contexts, state_home, tmp_path_factory):  # noqa: ANN001, ANN201
    """A class of two labs dealt over the two contexts, the instructor's password from a file
    (unless the instructor says every trainee may be root here: this machine's engine)."""
    pw = tmp_path_factory.mktemp("instructor") / "password"
    pw.write_text(INSTRUCTOR_PASSWORD + "\n")
    try:
        res = lab_cli("class", "up", "--count", "2", "--class", CLASS, "--stage", "serial", "--engines", contexts,
                      "--trust-trainees", "--instructor-password-file", str(pw))
        assert res.returncode == 0, res.stderr[-2000:]
        assert "(rootful)" in res.stdout and "shown this once" not in res.stdout  # the file's password
        assert all(n in res.stdout for n in NAMES) and "127.0.0.1:" in res.stdout
        yield res
    finally:
        for name in NAMES:
            remove_lab(docker, name, None)


@pytest.fixture(scope="module")
def served(klass, contexts):  # noqa: ANN001, ANN201
    """`lab class serve` as the instructor runs it (a process of its own), on 127.0.0.1 with
    any free web and ssh port; stopped afterwards."""
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    log = EVIDENCE / "server.log"  # the server's own log (logins, 403s, actions), kept for a failing test
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "lab", "class", "serve", "--class", CLASS, "--engines",
                                 contexts, "--listen", "127.0.0.1:0", "--ssh-port", "0"], stdout=subprocess.PIPE,
                                stderr=err, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        m = re.search(r"lab\(s\) at (http://127\.0\.0\.1:\d+/); ssh -p (\d+) ", line)
        assert m, f"expected the server's address, saw {line!r}; its log: {log.read_text()[-2000:]}"
        # its further lines are not read: a pipe left full would stop the server, so drain it
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield {"url": m.group(1), "ssh_port": int(m.group(2)), "proc": proc, "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def credentials() -> dict[str, dict]:
    res = lab_cli("class", "roster", "--class", CLASS, "--format", "json")
    assert res.returncode == 0, res.stderr
    return {t["lab"]: t for t in json.loads(res.stdout)["trainees"]}


def test_the_class_is_listed_with_its_progress_and_its_roster_gives_each_trainee_a_door(
        served, contexts):  # noqa: ANN001
    status = json.loads(lab_cli("class", "status", "--class", CLASS, "--json", "--engines", contexts).stdout)
    assert [r["name"] for r in status] == NAMES
    assert [r["engine"] for r in status] == list(ENGINES)  # dealt round the engines
    assert [r["engine_kind"] for r in status] == ["rootful", "rootful"]
    assert all(r["steps_done"] == 1 and r["next"] == "nfs-export" for r in status), status
    assert all(r["timeline"][-1]["step"] == "nfs-export" and r["timeline"][-1]["current"] for r in status)
    roster = credentials()
    for name in NAMES:
        t = roster[name]
        assert t["url"] == f"{served['url']}lab/{name}/" and t["ssh"] == f"ssh -p {served['ssh_port']} {name}@127.0.0.1"
        assert len(t["password"].replace("-", "")) == 26 and name not in t["password"]
    assert roster[NAMES[0]]["password"] != roster[NAMES[1]]["password"]
    html = lab_cli("class", "roster", "--class", CLASS, "--format", "html").stdout
    assert html.count('class="card"') == 2


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    """Debian's chromium, driven by Selenium through Debian's chromedriver (`make browser`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    for tool in ("chromium", "chromedriver"):
        assert shutil.which(tool), f"{tool} is missing: `make browser` installs it"
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    yield driver
    driver.quit()


def log_in(driver, url: str, name: str, password: str) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    driver.delete_all_cookies()
    driver.get(f"{url}login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "submit").click()


def until(what: str, cond, timeout: float = 30) -> None:  # noqa: ANN001
    """Poll a condition of the page: an assertion that says what was awaited."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.2)


def test_a_trainee_in_a_browser_works_in_their_own_lab_terminals_serial_test_check_and_site(
        served, browser, contexts, docker):  # noqa: ANN001
    from selenium.webdriver.common.by import By
    me = credentials()[NAMES[0]]
    log_in(browser, served["url"], NAMES[0], me["password"])
    until("the trainee's page", lambda: browser.current_url == me["url"])
    screen = lambda node: browser.execute_script(f"return window.labScreen('{node}')")  # noqa: E731

    def type_in(node: str, text: str) -> None:
        browser.find_element(By.ID, f"tab-{node}").click()
        until(f"the {node} terminal's prompt", lambda: f"root@{node}" in screen(node))
        browser.find_element(By.CSS_SELECTOR, f"#pane-{node} .xterm-helper-textarea").send_keys(text)

    type_in("ha1", "hostname; cat /etc/ha.d/ha.cf; stty size\n")
    lab = LabHandle.attach(NAMES[0], docker)
    said = lab.sh("ha1", "cat /etc/ha.d/ha.cf").output.strip()  # what the file is (none yet at this stage)
    until("hostname and cat's output in ha1's terminal", lambda: "\nha1\n" in screen("ha1") and said in screen("ha1"))
    rows_cols = re.search(r"\n(\d+) (\d+)\n", screen("ha1"))
    assert rows_cols and int(rows_cols.group(2)) > 80, screen("ha1")  # the terminal is the size of its pane

    # the article's serial test, with two terminals side by side
    browser.find_element(By.ID, "split").click()
    type_in("ha1", "cat < /dev/ttyS0\n")
    # as the trainee does: the echo once cat reads (a line sent before it does is lost, as on
    # a real cable with nobody listening; run 14 typed it first, under load)
    until("cat reading ha1's end of the cable", lambda: lab.run("ha1", ["pgrep", "-x", "cat"]).ok)
    type_in("ha2", "echo hello-from-ha2 > /dev/ttyS0\n")
    until("ha2's line at ha1's end of the cable", lambda: "hello-from-ha2" in screen("ha1").split("cat < /dev/ttyS0")[-1])
    type_in("ha1", "\x03")  # Ctrl-C ends cat
    until("a prompt after Ctrl-C", lambda: screen("ha1").rstrip().endswith("#"))

    # the next step on nfsha, then "check my work"
    type_in("nfsha", f"mkdir -p /ha && echo '/ha {lab.cfg.lan}(rw,sync,no_root_squash)' > /etc/exports && exportfs -ra"
                     " && echo EXPORTED\n")
    until("the export made", lambda: "\nEXPORTED" in screen("nfsha"))
    browser.find_element(By.ID, "check").click()
    until("the check's answer", lambda: browser.find_element(By.ID, "check-state").text.startswith("next:"), 120)
    passed = [li.get_attribute("data-step") for li in browser.find_elements(By.CSS_SELECTOR, "#results li.pass")]
    assert "nfs-export" in passed and browser.find_element(By.ID, "check-state").text == "next: fstab"
    until("the guide of the next step", lambda: browser.find_element(By.ID, "guide").get_attribute("data-step") == "fstab")
    guide = guide_text(find_steps(["fstab"])[0], lab.cfg)  # `lab guide fstab` for this trainee's lab
    assert all(line in browser.find_element(By.ID, "guide").text for line in guide.splitlines()[:3] if line)
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(EVIDENCE / "trainee.png"))


def test_a_trainee_reaches_nothing_but_their_own_lab(served, contexts):  # noqa: ANN001
    import aiohttp
    import asyncio
    import requests
    roster = credentials()
    url = served["url"]
    s = requests.Session()
    r = s.post(f"{url}login", data={"name": NAMES[0], "password": roster[NAMES[0]]["password"]}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    other = NAMES[1]
    for path in (f"lab/{other}/", f"lab/{other}/status", f"lab/{other}/guide", f"lab/{other}/handout",
                 f"lab/{other}/site/hostname.html", "class/", "class/api"):
        assert s.get(f"{url}{path}", allow_redirects=False).status_code == 403, path
    assert s.post(f"{url}lab/{other}/check").status_code == 403
    assert s.post(f"{url}class/action", json={"action": "reset", "labs": [NAMES[0]]}).status_code == 403
    assert s.get(f"{url}v1.41/containers/json").status_code == 404  # no Docker API behind the door
    assert s.get(f"{url}lab/{NAMES[0]}/term/bmc").status_code == 403  # a board is not a trainee's
    # the session cookie as the browser sends it: raw. (aiohttp's cookie jar would re-quote a
    # value that ends in base64's "=" padding, as Python's SimpleCookie does, and the server
    # then cannot decrypt it: whether the sealed value has padding depends on its length, so
    # a jar made this test fail now and then; run 31)
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())

    async def terminal(lab: str) -> int:
        async with aiohttp.ClientSession() as http:
            try:
                async with http.ws_connect(f"{url.replace('http', 'ws')}lab/{lab}/term/ha1", headers={"Cookie": cookie}):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
    assert asyncio.run(terminal(other)) == 403 and asyncio.run(terminal(NAMES[0])) == 101
    # nobody's session: the login page
    assert requests.get(f"{url}lab/{NAMES[0]}/", allow_redirects=False).headers["Location"] == "/login"
    # a wrong password is refused; repeated ones are slowed
    stranger = requests.Session()
    codes = [stranger.post(f"{url}login", data={"name": other, "password": "guess"}, allow_redirects=False)
             for _ in range(5)]
    assert [c.status_code for c in codes[:3]] == [302, 302, 302] and "error=" in codes[0].headers["Location"]
    assert codes[3].status_code == 429 and int(codes[3].headers["Retry-After"]) >= 1
    assert served["proc"].poll() is None  # the server goes on
    assert f"403 127.0.0.1 trainee:{NAMES[0]} /lab/{other}/term/ha1" in served["log"].read_text()  # logged


def test_served_with_a_certificate_the_door_speaks_https_and_its_cookie_is_secure(klass, contexts, tmp_path):  # noqa: ANN001
    import datetime

    import requests
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                                        serialization.NoEncryption()))
    proc = subprocess.Popen([sys.executable, "-m", "lab", "class", "serve", "--class", CLASS, "--engines", contexts,
                             "--listen", "127.0.0.1:0", "--public-host", "localhost", "--tls-cert",
                             str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        m = re.search(r"lab\(s\) at (https://localhost:\d+/)", line)
        assert m and "WARNING" not in line, line
        ca = str(tmp_path / "cert.pem")  # given per request: a Session's verify yields to REQUESTS_CA_BUNDLE
        assert requests.get(f"{m.group(1)}login", verify=ca).status_code == 200
        r = requests.post(f"{m.group(1)}login", data={"name": "instructor", "password": INSTRUCTOR_PASSWORD},
                          allow_redirects=False, verify=ca)
        cookie = r.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
        with pytest.raises(requests.exceptions.ConnectionError):  # no plain HTTP on that port
            requests.get(m.group(1).replace("https:", "http:") + "login", timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # served on every address without a certificate: said loudly
    proc = subprocess.Popen([sys.executable, "-m", "lab", "class", "serve", "--class", CLASS, "--engines", contexts,
                             "--listen", "0.0.0.0:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert "WARNING" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_trainee_by_ssh_reaches_their_own_nodes_only(served, contexts, tmp_path):  # noqa: ANN001
    import asyncio
    import asyncssh
    roster = credentials()
    port, mine = served["ssh_port"], roster[NAMES[0]]["password"]

    async def run(user: str, password: str, command: str) -> asyncssh.SSHCompletedProcess:
        async with asyncssh.connect("127.0.0.1", port, username=user, password=password, known_hosts=None) as conn:
            return await conn.run(command)

    done = asyncio.run(run(f"{NAMES[0]}+ha1", mine, "hostname; test -e /var/run/docker.sock || echo no-docker-socket"))
    assert done.stdout.split() == ["ha1", "no-docker-socket"] and done.exit_status == 0
    done = asyncio.run(run(f"{NAMES[0]}+ha3", mine, "exit 3"))
    assert done.exit_status == 3
    for user, password in ((f"{NAMES[1]}+ha1", mine), (f"{NAMES[0]}+ha1", "wrong"), (f"{NAMES[0]}+bmc", mine)):
        with pytest.raises(asyncssh.PermissionDenied):
            asyncio.run(run(user, password, "hostname"))

    # a trainee's own key, added by the instructor while the class is served
    key = asyncssh.generate_private_key("ssh-ed25519")
    pub = tmp_path / "trainee.pub"
    key.write_public_key(str(pub))
    res = lab_cli("class", "key", NAMES[0], str(pub), "--class", CLASS)
    assert res.returncode == 0, res.stderr

    async def with_key(user: str) -> str:
        async with asyncssh.connect("127.0.0.1", port, username=user, client_keys=[key], password=None,
                                    known_hosts=None) as conn:
            return (await conn.run("hostname")).stdout.strip()
    assert asyncio.run(with_key(f"{NAMES[0]}+ha2")) == "ha2"
    with pytest.raises(asyncssh.PermissionDenied):
        asyncio.run(with_key(f"{NAMES[1]}+ha2"))
    assert lab_cli("class", "key", NAMES[0], str(tmp_path), "--class", CLASS).returncode == 2  # not a key file


def test_the_instructor_solves_for_one_trainee_resets_another_and_breaks_and_heals_a_lab_from_the_dashboard(
        served, browser, contexts, docker):  # noqa: ANN001
    import requests
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    url = served["url"]
    log_in(browser, url, "instructor", INSTRUCTOR_PASSWORD)
    until("the dashboard", lambda: browser.current_url == f"{url}class/")
    until("both labs in the table", lambda: len(browser.find_elements(By.CSS_SELECTOR, "#labs tr.lab")) == 2)
    until(f"{NAMES[0]}'s two steps done", lambda: browser.find_element(By.ID, f"lab-{NAMES[0]}")
          .get_attribute("data-steps-done") == "2", 60)
    # the other trainee has been on nfs-export since the class began: stuck longest
    until("who is stuck longest", lambda: browser.find_element(By.ID, "stuck").text.startswith(
        f"stuck longest: {NAMES[1]}, ") and browser.find_element(By.ID, "stuck").text.endswith(" on nfs-export"))

    def act(lab: str, action: str, step: str | None = None) -> None:
        box = browser.find_element(By.CSS_SELECTOR, f"#lab-{lab} input[type=checkbox]")
        if not box.is_selected():
            box.click()
        Select(browser.find_element(By.ID, "action")).select_by_visible_text(action)
        if step:
            Select(browser.find_element(By.ID, "step")).select_by_visible_text(step)
        browser.find_element(By.ID, "do").click()
        browser.switch_to.alert.accept()  # the confirmation
        until(f"{action} started", lambda: browser.find_element(By.ID, "action-state").text.startswith("started"))
        box = browser.find_element(By.CSS_SELECTOR, f"#lab-{lab} input[type=checkbox]")
        box.click()  # untick

    def last(lab: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f"#lab-{lab} td:last-child").text

    act(NAMES[0], "solve", "start-cluster")
    until(f"the solve of {NAMES[0]} to end", lambda: last(NAMES[0]) == "solve: done", 240)
    until("the solved steps in the table", lambda: "solved" in browser.find_element(By.ID, f"lab-{NAMES[0]}").text, 30)
    # the trainee's site through the class server: the master answers
    trainee = requests.Session()
    trainee.post(f"{url}login", data={"name": NAMES[0], "password": credentials()[NAMES[0]]["password"]})
    page = trainee.get(f"{url}lab/{NAMES[0]}/site/hostname.html")
    assert page.status_code == 200 and "ha1" in page.text, page.text[:300]
    # a lab on an engine of another machine is fetched by its own client, ha3: the same page
    status, headers, body = fetch_via_client(LabHandle.attach(NAMES[0], docker), "hostname.html", "GET")
    assert status == 200 and body.decode().strip() == page.text.strip() and "text/html" in headers["Content-Type"]

    def by() -> dict:
        return {t["step"]: t["by"] for t in trainee.get(f"{url}lab/{NAMES[0]}/status").json()["timeline"] if t["by"]}
    until("the class's record of start-cluster passing", lambda: "start-cluster" in by(), 60)
    assert by()["nfs-export"] == "trainee" and by()["start-cluster"] == "instructor", by()

    first = {c.name: c.attrs["State"]["StartedAt"] for c in docker.containers.list(
        filters={"label": f"io.heartbeat-lab.lab={NAMES[0]}"})}
    second = {c.name: c.id for c in docker.containers.list(filters={"label": f"io.heartbeat-lab.lab={NAMES[1]}"})}
    act(NAMES[1], "reset")
    until(f"the reset of {NAMES[1]} to end", lambda: last(NAMES[1]) == "reset: done", 180)
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(EVIDENCE / "dashboard.png"))
    now = {c.name: c.id for c in docker.containers.list(filters={"label": f"io.heartbeat-lab.lab={NAMES[1]}"})}
    assert set(now) == set(second) and not set(now.values()) & set(second.values())  # made again
    assert {c.name: c.attrs["State"]["StartedAt"] for c in docker.containers.list(
        filters={"label": f"io.heartbeat-lab.lab={NAMES[0]}"})} == first  # the other lab kept running
    assert "ha1" in trainee.get(f"{url}lab/{NAMES[0]}/site/hostname.html").text  # still served

    # a demonstration: the instructor kills the trainee's master; the trainee's browser sees
    # the backup answer through the class server; the heal gives it back
    def act_fault(lab: str, fault: str, node: str) -> None:
        Select(browser.find_element(By.ID, "fault")).select_by_visible_text(fault)
        Select(browser.find_element(By.ID, "node")).select_by_visible_text(node)
        act(lab, "fail")

    def site() -> str:
        r = trainee.get(f"{url}lab/{NAMES[0]}/site/hostname.html")
        return r.text if r.status_code == 200 else ""
    act_fault(NAMES[0], "kill", "ha1")
    until(f"the fault on {NAMES[0]}", lambda: last(NAMES[0]) == "fail: done", 60)
    until("ha2 answering the trainee's site", lambda: "ha2" in site(), 60)
    act(NAMES[0], "heal")
    until(f"the heal of {NAMES[0]}", lambda: last(NAMES[0]) == "heal: done", 180)
    assert "ha1" in site()


def test_the_class_goes_down_leaving_nothing(docker, contexts, state_home, served):  # noqa: ANN001
    served["proc"].terminate()
    served["proc"].wait(timeout=30)
    res = lab_cli("class", "down", "--class", CLASS, "--engines", contexts, "--yes")
    assert res.returncode == 0 and "removed 2 lab(s)" in res.stdout
    assert docker.containers.list(all=True, filters={"label": f"io.heartbeat-lab.lab={NAMES[0]}"}) == []
    assert not (state_home / "classes" / CLASS).exists()  # the roster and progress with it
    assert lab_cli("class", "status", "--class", CLASS).returncode == 2  # no such class any more
