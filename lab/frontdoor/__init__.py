"""The class's front door: trainees reach their own lab (and nothing else) from a browser or
an ssh client with the roster's credential; the instructor watches and acts from a dashboard.

record (what a class keeps: roster, password hash, progress) < keys, access (pure rules)
< terminal (a TTY in a container) < service (the class's cached view and actions)
< web, sshd (the two doors) < server (both in one process), roster (the printable roster)."""
