"""A running lab's configuration after a change (lab.engine.configstore), on a stand-in for
docker's volume API: the newest generation wins, older ones go, other labs are untouched."""

from __future__ import annotations

from lab.engine import configstore
from lab.engine.labels import LABEL_APP, LABEL_LAB
from lab.model.config import LabConfig


class Volume:
    def __init__(self, store: "Volumes", name: str, labels: dict[str, str]) -> None:
        self.store, self.name, self.attrs = store, name, {"Labels": labels}

    def remove(self, force: bool = False) -> None:
        self.store.items.remove(self)


class Volumes:
    def __init__(self) -> None:
        self.items: list[Volume] = []

    def create(self, name: str, labels: dict[str, str]) -> Volume:
        vol = Volume(self, name, labels)
        self.items.append(vol)
        return vol

    def list(self, filters: dict) -> list[Volume]:
        def has(vol: Volume, want: str) -> bool:
            key, eq, value = want.partition("=")
            return key in vol.attrs["Labels"] and (not eq or vol.attrs["Labels"][key] == value)
        return [v for v in self.items if all(has(v, w) for w in filters["label"])]


class Client:
    def __init__(self) -> None:
        self.volumes = Volumes()


def test_a_lab_never_changed_reads_what_it_started_with():
    started = LabConfig(name="a", timing="fast").resolved()
    assert configstore.effective(Client(), started) == started


def test_the_last_change_wins_and_leaves_one_record_with_the_labs_labels():
    client = Client()
    started = LabConfig(name="a", timing="fast").resolved()
    configstore.save(client, started.with_(deadtime=3.0))
    configstore.save(client, started.with_(deadtime=2.0, keepalive=0.5))
    now = configstore.effective(client, started)
    assert now.times.deadtime == 2.0 and now.times.keepalive == 0.5
    [record] = client.volumes.items
    assert record.name == "a-config-2"
    assert record.attrs["Labels"][LABEL_LAB] == "a" and LABEL_APP in record.attrs["Labels"]  # `lab down` takes it


def test_each_lab_reads_its_own_change():
    client = Client()
    a, b = (LabConfig(name=n, timing="fast").resolved() for n in "ab")
    configstore.save(client, a.with_(auto_failback="off"))
    assert configstore.effective(client, a).auto_failback == "off"
    assert configstore.effective(client, b) == b
    assert set(configstore.changed(client)) == {"a"}
