"""Publication of a month: its outputs are built in work/<month>/ (work.py), described by manifest.json
(manifest.py) and published as a numbered revision switched into out/<month> at once (revisions.py)."""
