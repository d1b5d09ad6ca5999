"""The dead-letter console: a small web app to browse, replay and purge dead letters.

`python -m {{ cookiecutter.package_name }} console` serves it. It reads the same store and replays with the same
code as `dlq` (deadletter/), shows arguments only redacted, and lets nobody in without a token.
"""
