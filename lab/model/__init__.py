"""The lab's model: its configuration, the node-side contract, the topology of containers
and networks, and the files rendered from them. Below everything else of the lab (it
imports lab.errors only); the layers are enforced by import-linter (pyproject.toml)."""
