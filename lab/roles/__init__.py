"""Each container role's commands, in one home per role: `node` (ha1, ha2), `client` (ha3),
`board` (the emulated IPMI boards of `--stonith ipmi`, asked over IPMI from ha3).

Every command run in a role's container is a pair of pure functions, one that builds it
(argv or a shell script, from the configuration and the image's contract) and one that reads
its output, unit-tested on output recorded from a real lab (tests/unit/data/roles/); and a
small class that runs the pair on a lab: `Node(lab, "ha1").holds()`,
`Client(lab).get("hostname.html")`. Above the engine (it runs them), below observe, faults,
recovery and the workshop (they ask the roles instead of writing shell themselves)."""
