"""Locust user classes and the raw-sample recorder.

These modules import ``locust`` (which monkey-patches the standard library with gevent), so they
only ever run inside the Locust subprocess the runner starts; nothing else imports them.
"""
