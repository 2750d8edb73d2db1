"""The Debian mirror for the base bootstrap comes from the host's apt sources or the
environment, never from the project."""

import pytest

from lab.engine.debian import ENV_MIRROR, ENV_SECURITY, MirrorError, mirrors


def apt(tmp_path, sources_list: str = "", deb822: str = ""):  # noqa: ANN201
    (tmp_path / "sources.list.d").mkdir()
    if sources_list:
        (tmp_path / "sources.list").write_text(sources_list)
    if deb822:
        (tmp_path / "sources.list.d" / "debian.sources").write_text(deb822)
    return tmp_path


DEB822 = """Types: deb
# a comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822_sources_give_the_mirror_and_the_security_mirror(tmp_path):
    assert mirrors({}, apt(tmp_path, deb822=DEB822)) == ("http://mirror.example/debian",
                                                          "http://security.example/debian-security")


def test_one_line_sources_and_third_party_repositories(tmp_path):
    listing = ("deb [arch=amd64 signed-by=/k.gpg] https://third.party/apt nodistro main\n"
               "# deb http://commented.example/debian bookworm main\n"
               "deb http://m.example/debian bullseye main contrib\n"
               "deb http://m.example/debian-security bullseye-security main\n")
    assert mirrors({}, apt(tmp_path, sources_list=listing)) == ("http://m.example/debian",
                                                                "http://m.example/debian-security")


def test_the_environment_wins(tmp_path):
    env = {ENV_MIRROR: "http://env.example/debian", ENV_SECURITY: "http://env.example/sec"}
    assert mirrors(env, apt(tmp_path, deb822=DEB822)) == ("http://env.example/debian", "http://env.example/sec")


def test_no_mirror_anywhere_is_an_error_naming_both_places(tmp_path):
    with pytest.raises(MirrorError) as exc:
        mirrors({}, apt(tmp_path, sources_list="deb https://third.party/apt nodistro main\n"))
    msg = str(exc.value)
    assert ENV_MIRROR in msg and ENV_SECURITY in msg and str(tmp_path / "sources.list") in msg
