"""Docker: images, the handle to a lab's containers, labels, the configuration store,
contexts, and the rootless and class engines. It imports the model, lab.errors and
lab.waiting only; the layers are enforced by import-linter (pyproject.toml)."""
