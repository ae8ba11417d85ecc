#!/usr/bin/env python3
"""Posts keyward's Markdown (plan or diff parts) as pull/merge request comments, one comment
per part, found again by the hidden marker each part starts with and updated in place:

    <!-- keyward plan part=1 of=2 digest=sha256:... -->

Re-running never adds a second comment for the same part; parts of an earlier, longer plan
that this run did not post are deleted. Comments without a keyward marker are never touched.

    keyward-comment.py post FILE...          create or update one comment per part file
    keyward-comment.py digest KIND           print the digest in the current part-1 comment
    keyward-comment.py gitlab-counts JSON    GitLab's terraform report counts from a plan's
                                             JSON view (`keyward show PLANFILE --format json`)

GitHub (default): GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name), KEYWARD_PR (the pull
request number), GITHUB_API_URL (set by Actions). GitLab (--api gitlab): KEYWARD_GITLAB_TOKEN,
CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID (set by GitLab CI but the token).
Python standard library only.
"""
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

MARKER = re.compile(r"^<!-- keyward (plan|diff) part=(\d+) of=(\d+) digest=(\S+) -->")


def fail(message):
    sys.stderr.write("keyward-comment: error: " + message + "\n")
    sys.exit(1)


def env(name):
    value = os.environ.get(name, "")
    if not value:
        fail(f"{name} is not set")
    return value


class GitHub:
    def __init__(self):
        self.base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        self.repo = env("GITHUB_REPOSITORY")
        self.number = env("KEYWARD_PR")
        self.headers = {
            "Authorization": "Bearer " + env("GITHUB_TOKEN"),
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def comments(self):
        url = f"{self.base}/repos/{self.repo}/issues/{self.number}/comments?per_page=100"
        while url:
            page, headers = request("GET", url, self.headers)
            for comment in page:
                yield comment["id"], comment.get("body") or ""
            url = next_link(headers.get("Link", ""))

    def create(self, body):
        request("POST", f"{self.base}/repos/{self.repo}/issues/{self.number}/comments", self.headers, {"body": body})

    def update(self, ident, body):
        request("PATCH", f"{self.base}/repos/{self.repo}/issues/comments/{ident}", self.headers, {"body": body})

    def delete(self, ident):
        request("DELETE", f"{self.base}/repos/{self.repo}/issues/comments/{ident}", self.headers)


class GitLab:
    def __init__(self):
        base = env("CI_API_V4_URL").rstrip("/")
        project = urllib.parse.quote(env("CI_PROJECT_ID"), safe="")
        self.notes = f"{base}/projects/{project}/merge_requests/{env('CI_MERGE_REQUEST_IID')}/notes"
        self.headers = {"PRIVATE-TOKEN": env("KEYWARD_GITLAB_TOKEN")}

    def comments(self):
        page = 1
        while True:
            notes, headers = request("GET", f"{self.notes}?per_page=100&page={page}", self.headers)
            for note in notes:
                if not note.get("system"):
                    yield note["id"], note.get("body") or ""
            following = headers.get("X-Next-Page", "")
            if not following:
                return
            page = int(following)

    def create(self, body):
        request("POST", self.notes, self.headers, {"body": body})

    def update(self, ident, body):
        request("PUT", f"{self.notes}/{ident}", self.headers, {"body": body})

    def delete(self, ident):
        request("DELETE", f"{self.notes}/{ident}", self.headers)


def request(method, url, headers, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            text = response.read().decode()
            return (json.loads(text) if text.strip() else None), response.headers
    except urllib.error.HTTPError as error:
        fail(f"{method} {urllib.parse.urlsplit(url).path}: HTTP {error.code} {error.reason}")
    except urllib.error.URLError as error:
        fail(f"{method} {urllib.parse.urlsplit(url).path}: {error.reason}")


def next_link(header):
    for part in header.split(","):
        match = re.match(r'\s*<([^>]+)>;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


def marker(body):
    match = MARKER.match(body)
    if not match:
        return None
    return {"kind": match.group(1), "part": int(match.group(2)), "of": int(match.group(3)), "digest": match.group(4)}


def post(api, files):
    parts = {}
    kind = None
    for path in files:
        with open(path, encoding="utf-8") as handle:
            body = handle.read()
        found = marker(body)
        if not found:
            fail(f"'{path}' does not start with a keyward marker; was it written by keyward --format markdown?")
        if kind and found["kind"] != kind:
            fail("the files mix plan and diff parts; post them separately")
        kind = found["kind"]
        if len(body) > 65536:
            fail(f"'{path}' is longer than a comment may be")
        parts[found["part"]] = body
    existing = {}
    stale = []
    for ident, body in api.comments():
        found = marker(body)
        if not found or found["kind"] != kind:
            continue
        if found["part"] in parts and found["part"] not in existing:
            existing[found["part"]] = ident
        else:
            stale.append(ident)  # a part this run did not write, or a duplicate
    for part in sorted(parts):
        if part in existing:
            api.update(existing[part], parts[part])
            print(f"updated {kind} part {part} (comment {existing[part]})")
        else:
            api.create(parts[part])
            print(f"created {kind} part {part}")
    for ident in stale:
        api.delete(ident)
        print(f"deleted stale {kind} comment {ident}")


def digest(api, kind):
    for _, body in api.comments():
        found = marker(body)
        if found and found["kind"] == kind and found["part"] == 1:
            print(found["digest"])
            return
    fail(f"no keyward {kind} comment on this request")


def gitlab_counts(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    if "summary" not in document:
        # A plan file (`plan --out`) holds bytes, not counts: its view is derived by `keyward show`.
        fail(f"{path} has no summary; give the output of 'keyward show PLANFILE --format json'")
    summary = document["summary"]
    print(json.dumps({"create": summary["add"], "update": summary["update"], "delete": summary["remove"]}))


def main(argv):
    api_name = "github"
    if len(argv) > 2 and argv[1] == "--api":
        api_name = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    command, rest = argv[1], argv[2:]
    if command == "gitlab-counts" and len(rest) == 1:
        gitlab_counts(rest[0])
        return
    if api_name not in ("github", "gitlab"):
        fail(f"unknown --api '{api_name}' (github or gitlab)")
    api = GitHub() if api_name == "github" else GitLab()
    if command == "post" and rest:
        post(api, rest)
    elif command == "digest" and len(rest) == 1 and rest[0] in ("plan", "diff"):
        digest(api, rest[0])
    else:
        fail("usage: keyward-comment.py [--api github|gitlab] post FILE... | digest plan|diff | gitlab-counts PLAN")


if __name__ == "__main__":
    main(sys.argv)
