"""The heartbeat HA lab: the article "High-availability middleware on Linux, part 1:
heartbeat and Apache" rebuilt as containers running the real software.

The package reads as the pipeline, each layer importing only the ones below it (enforced
by import-linter: the contract in pyproject.toml, run by `make lint` and the unit tests):
model/ (the configuration, the node-side contract, the topology, the rendered files) ->
engine/ (images, containers on networks, one way to run a command, the configuration
store) -> roles/ (each container role's commands: build and parse) -> boards -> observe/
(state, probe, timeline, audit) -> machines (a lab's containers made and removed) ->
heartbeat (control) -> faults -> recovery -> report -> scenario -> soak and cts ->
workshop/ -> provision (machines, then the workshop's steps up to the lab's stage) ->
inventory -> classroom -> frontdoor/ -> cli/ on top."""
