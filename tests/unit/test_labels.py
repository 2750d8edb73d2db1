"""Finding the lab's objects by label on any engine: Docker ANDs label filters, Podman 4.3's
Docker API ORs them (the test matrix's Podman cell), so the answer is checked again here."""

from __future__ import annotations

from lab.engine.labels import LABEL_APP, LABEL_LAB, lab_filter, lab_labels, listed, matches


class Volume:  # the SDK's shape: networks and volumes carry their labels in attrs
    def __init__(self, name: str, labels: dict) -> None:
        self.name, self.attrs = name, {"Labels": labels}


class Container:  # containers and images have a labels property
    def __init__(self, name: str, labels: dict) -> None:
        self.name, self.attrs, self._labels = name, {}, labels

    @property
    def labels(self) -> dict:
        return self._labels


class OrEngine:
    """A collection whose label filters are ORed, as Podman 4.3 answered."""

    def __init__(self, objects: list) -> None:
        self.objects, self.asked = objects, None

    def list(self, filters: dict, **kw) -> list:  # noqa: A003
        self.asked = (filters, kw)
        wanted = filters["label"]
        labels = (lambda o: o.labels if hasattr(type(o), "labels") else o.attrs["Labels"])
        return [o for o in self.objects if any(matches(labels(o), [w]) for w in wanted)]


def test_matches_needs_every_label_and_value():
    labels = lab_labels("a", "lan")
    assert matches(labels, [f"{LABEL_APP}=heartbeat-lab", f"{LABEL_LAB}=a"])
    assert not matches(labels, [f"{LABEL_LAB}=b"])
    assert matches(labels, [LABEL_LAB]) and not matches(labels, ["io.heartbeat-lab.config-generation"])


def test_listed_keeps_only_the_named_labs_objects_when_the_engine_ors_its_filters():
    engine = OrEngine([Volume("a-share", lab_labels("a", "share")), Volume("b-share", lab_labels("b", "share")),
                       Volume("other", {"x": "y"})])
    got = listed(engine, lab_filter("a")["label"])
    assert [v.name for v in got] == ["a-share"]  # b's volume matched the app label alone
    assert engine.asked == ({"label": lab_filter("a")["label"]}, {})


def test_listed_reads_a_containers_labels_and_passes_the_listing_options():
    engine = OrEngine([Container("a-ha1", lab_labels("a", "ha1")), Container("b-ha1", lab_labels("b", "ha1"))])
    assert [c.name for c in listed(engine, lab_filter("b")["label"], all=True)] == ["b-ha1"]
    assert engine.asked[1] == {"all": True}


def test_lab_names_are_every_lab_with_an_object_of_any_kind_and_nothing_else():
    from lab.engine.labels import lab_names

    class Api:  # the low-level API's answers: containers, networks, volumes, with their labels
        def containers(self, all: bool, filters: dict) -> list:  # noqa: A002
            assert all and filters == lab_filter()
            return [{"Labels": lab_labels("a", "ha1")}, {"Labels": {LABEL_LAB: "stranger"}}]  # the second: not ours

        def networks(self, filters: dict) -> list:
            return [{"Labels": lab_labels("b", "lan")}, {"Labels": None}]

        def volumes(self, filters: dict) -> dict:
            return {"Volumes": [{"Labels": lab_labels("c", "share")}]}

    class Client:
        api = Api()

    assert lab_names(Client()) == {"a", "b", "c"}


def test_lab_down_removes_boards_first_and_the_nfs_server_last():
    # kernel NFS client: a node whose server is gone first dies too slowly for the engine
    from lab.machines import removal_order

    made = [Container(h, lab_labels("a", h)) for h in ("ha3", "nfsha", "bmc-ha2", "ha2", "ha1", "bmc-ha1")]
    order = [c.name for c in removal_order(made)]
    assert set(order[:2]) == {"bmc-ha1", "bmc-ha2"} and order[-1] == "nfsha"
    assert set(order[2:-1]) == {"ha1", "ha2", "ha3"}
