"""The heartbeat HA lab: the article "High-availability middleware on Linux, part 1:
heartbeat and Apache" rebuilt as containers running the real software.

The package reads as the pipeline: model/ (the configuration, the node-side contract,
the topology, the rendered files) -> engine/ (images, containers on networks, one way to
run a command) -> heartbeat (control) -> observe/ (state, probe, timeline, audit) ->
faults, recovery and scenarios -> report; cli/ on top."""
