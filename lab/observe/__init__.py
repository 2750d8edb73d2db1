"""Looking at a lab: what each node holds, who serves, the probe, the timeline, the audit."""
