"""pytest plugin (``-p sandbox_redirect``) that points third-party XNAT client suites at the sandbox
without editing them: every HTTP request the suite sends to one of the servers it was written for
(central.xnat.org, NITRC IR, a local Docker XNAT) goes to the sandbox instead, like a hosts-file
entry. URLs the suite compares against (``_server``, object reprs) are left as written.

Environment (set by run.mjs): PEERS_SANDBOX_URL, the sandbox's base URL; PEERS_REDIRECT, a
space-separated list of server URLs to send there.

For xnatpy's functional tests, xnat4tests' Docker steps are replaced: ``start_xnat``/``stop_xnat``
do nothing (the sandbox already runs) and ``add_data`` checks that run.mjs seeded the dataset over
the REST API (xnat4tests would build it from medimages4tests' DICOM, which is not installable here).
"""
import os
import sys

import requests

SANDBOX = os.environ["PEERS_SANDBOX_URL"].rstrip("/")
SERVERS = sorted((s.rstrip("/") for s in os.environ.get("PEERS_REDIRECT", "").split()), key=len, reverse=True)


def redirect(url):
    for server in SERVERS:
        if url == server or url.startswith(server + "/") or url.startswith(server + "?"):
            return SANDBOX + url[len(server):]
    return url


_request = requests.Session.request


def _redirected_request(self, method, url, *args, **kwargs):
    return _request(self, method, redirect(str(url)), *args, **kwargs)


requests.Session.request = _redirected_request

try:
    import progressbar  # noqa: F401  (xnatpy imports it)
except ImportError:
    # Debian's python3-progressbar2 installs the progressbar2 project under its distribution name.
    try:
        import progressbar2

        sys.modules["progressbar"] = progressbar2
    except ImportError:
        pass

if os.environ.get("PEERS_XNAT4TESTS") == "1":
    import xnat4tests

    def _no_docker(*args, **kwargs):
        return None

    def _seeded(dataset, config_name="default", **kwargs):
        import xnat

        config = xnat4tests.Config.load(config_name)
        with xnat.connect(config.xnat_uri, user=config.xnat_user, password=config.xnat_password) as session:
            if dataset == "dummydicom" and "dummydicomproject" not in session.projects:
                raise RuntimeError("run.mjs did not seed xnat4tests' dummydicom dataset into the sandbox")

    # xnatpy's conftest skips every Docker test when no Docker engine answers; the sandbox stands in.
    import docker

    docker.from_env = _no_docker
    xnat4tests.start_xnat = _no_docker
    xnat4tests.stop_xnat = _no_docker
    xnat4tests.add_data = _seeded
    sys.modules["xnat4tests"] = xnat4tests
