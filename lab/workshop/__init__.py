"""The workshop: the article's steps as data (what to do, the checks that prove it, the
hint for each failed check), and one small engine that runs any check against the real
state of a lab."""
