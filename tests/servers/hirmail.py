# hirmail.py: helpers shared by hir-servers, hir-seed, hir-mailctl and the self-test.
#
# Python standard library only: these tools run on a bare Debian 12 with python3.
#
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import imaplib
import json
import os
import re
import shlex
import ssl
import sys
import urllib.parse
import urllib.request

DOMAIN = "example.test"
SERVERNAME = "mail.example.test"
HOST = "127.0.0.1"

# The folders every account gets (autocreated by Cyrus) and their SPECIAL-USE role.
SPECIAL_FOLDERS = {
    "Drafts": "drafts",
    "Sent": "sent",
    "Trash": "trash",
    "Junk": "junk",
    "Archive": "archive",
}

# Characters a servers.env value may contain without shell quoting.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_./:@+%,=-]*$")


def die(message, status=1):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(status)


def format_env_line(key, value):
    """One KEY=VALUE line, quoted only when the value needs it."""
    value = str(value)
    if not _SAFE_VALUE.match(value):
        value = shlex.quote(value)
    return f"{key}={value}\n"


def read_env(path):
    """Parse a servers.env file (KEY=VALUE lines, values optionally shell-quoted)."""
    env = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                parts = shlex.split(value) if value else [""]
                env[key] = parts[0] if parts else ""
    except OSError as e:
        die(f"cannot read env file {path}: {e.strerror}")
    return env


def find_env_file(path):
    """The env file from --env, else $HIR_TEST_SERVERS_ENV."""
    path = path or os.environ.get("HIR_TEST_SERVERS_ENV")
    if not path:
        die("no servers env file: pass --env DIR/servers.env or set HIR_TEST_SERVERS_ENV")
    return path


def resolve_password(env, user, password_env):
    """Find USER's password without it ever appearing on a command line.

    With --password-env VAR the password is $VAR, or VAR from the env file
    (HIR_TEST_BOB_PASSWORD works either way).  Without it, the users the env
    file knows (alice, bob, the admin) are looked up there, and anyone else's
    password is $HIR_TEST_PASSWORD (what tests/hir-test-util.c passes).
    """
    if password_env:
        if password_env in os.environ:
            return os.environ[password_env]
        if password_env in env:
            return env[password_env]
        die(f"--password-env {password_env}: no such variable in the environment or env file")
    for key, value in env.items():
        if value == user and key + "_PASSWORD" in env:
            return env[key + "_PASSWORD"]
    if "HIR_TEST_PASSWORD" in os.environ:
        return os.environ["HIR_TEST_PASSWORD"]
    die(f"no password known for {user}: pass --password-env VAR or set HIR_TEST_PASSWORD")


def tls_context(env):
    ca = env.get("HIR_TEST_CA_FILE")
    if not ca:
        die("env file has no HIR_TEST_CA_FILE")
    return ssl.create_default_context(cafile=ca)


def imap_connect(env, user, password, use_tls=True):
    """Log in over IMAP on the loopback port, with STARTTLS unless use_tls is False."""
    imap = imaplib.IMAP4(env.get("HIR_TEST_HOST", HOST), int(env["HIR_TEST_IMAP_PORT"]),
                         timeout=120)
    if use_tls:
        imap.starttls(ssl_context=tls_context(env))
    imap.login(user, password)
    return imap


def imap_check(result, what):
    typ, data = result
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise imaplib.IMAP4.error(f"{what}: {typ} {detail}")
    return data


def utf7_encode(name):
    """Encode a folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3)."""
    out = []
    pending = []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def utf7_decode(name):
    def repl(match):
        chunk = match.group(1)
        if not chunk:
            return "&"
        chunk = chunk.replace(",", "/")
        chunk += "=" * (-len(chunk) % 4)
        return base64.b64decode(chunk).decode("utf-16-be")

    return re.sub(r"&([A-Za-z0-9+,]*)-", repl, name)


_LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>"(?:[^"\\]|\\.)*"|\S+)$')


def unquote_mailbox(raw):
    """A folder name from an IMAP response (quoted or atom, modified UTF-7)."""
    raw = raw.decode() if isinstance(raw, bytes) else raw
    if raw.startswith('"'):
        raw = re.sub(r'\\(.)', r'\1', raw[1:-1])
    return utf7_decode(raw)


def parse_list_line(line):
    """(attributes, folder name) from an untagged LIST response line, or None."""
    m = _LIST_RE.match(line)
    if not m:
        return None
    return m.group("attrs").decode().split(), unquote_mailbox(m.group("name"))


def quote_mailbox(name):
    """A folder name as an IMAP quoted string, in modified UTF-7."""
    encoded = utf7_encode(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Jmap:
    """A minimal JMAP client: enough for the harness's own checks."""

    CAPABILITIES = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail",
                    "urn:ietf:params:jmap:submission"]

    def __init__(self, env, user, password, secure=False):
        self.session_url = env["HIR_TEST_JMAPS_URL" if secure else "HIR_TEST_JMAP_URL"]
        self.context = tls_context(env) if secure else None
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        self.session = self._request(self.session_url)
        self.account_id = self.session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        # Cyrus answers with URLs relative to the session resource.
        self.api_url = urllib.parse.urljoin(self.session_url, self.session["apiUrl"])

    def _request(self, url, body=None):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
            return json.load(response)

    def call(self, *method_calls):
        """Run [name, args, callId] calls; returns the methodResponses, raising on errors."""
        calls = []
        for i, (name, args) in enumerate(method_calls):
            args = dict(args)
            args.setdefault("accountId", self.account_id)
            calls.append([name, args, str(i)])
        reply = self._request(self.api_url, {"using": self.CAPABILITIES, "methodCalls": calls})
        for name, args, _ in reply["methodResponses"]:
            if name == "error":
                raise RuntimeError(f"JMAP error: {args}")
        return reply["methodResponses"]
