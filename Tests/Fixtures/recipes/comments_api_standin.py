#!/usr/bin/env python3
"""A loopback stand-in for the comments APIs keyward-comment.py uses: GitHub's issue
comments (list with Link pagination, create, update, delete) and GitLab's merge request
notes (list with X-Next-Page, create, update, delete). Pages hold 2 items so that finding a
marker needs paging. A wrong token is 401. GET /_state lists every comment; GET /_log every
request. Prints the port it listens on, then serves until killed."""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = sys.argv[1] if len(sys.argv) > 1 else "test-token"
PAGE = 2
comments = []  # {"id", "body", "system"}
log = []
next_id = [100]

GH_LIST = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
GH_ONE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
GL_LIST = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$")
GL_ONE = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, payload=None, headers=None):
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        return (self.headers.get("Authorization") == "Bearer " + TOKEN
                or self.headers.get("PRIVATE-TOKEN") == TOKEN)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def handle_any(self, method):
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/_state":
            return self.reply(200, comments)
        if path == "/_log":
            return self.reply(200, log)
        log.append(method + " " + path)
        if not self.authorized():
            return self.reply(401, {"message": "Bad credentials"})
        if path == "/_seed" and method == "POST":
            comments.append({"id": new_id(), "body": self.body()["body"], "system": False})
            return self.reply(201, comments[-1])
        list_match = GH_LIST.match(path) or GL_LIST.match(path)
        one = GH_ONE.match(path) or GL_ONE.match(path)
        if list_match and method == "GET":
            page = int(params.get("page", "1"))
            items = comments[(page - 1) * PAGE: page * PAGE]
            more = len(comments) > page * PAGE
            headers = {}
            if more and GH_LIST.match(path):
                headers["Link"] = f'<http://{self.headers["Host"]}{path}?per_page=100&page={page + 1}>; rel="next"'
            if GL_LIST.match(path):
                headers["X-Next-Page"] = str(page + 1) if more else ""
            return self.reply(200, items, headers)
        if list_match and method == "POST":
            comments.append({"id": new_id(), "body": self.body()["body"], "system": False})
            return self.reply(201, comments[-1])
        if one:
            ident = int(one.groups()[-1])
            found = [c for c in comments if c["id"] == ident]
            if not found:
                return self.reply(404, {"message": "Not Found"})
            if method in ("PATCH", "PUT"):
                found[0]["body"] = self.body()["body"]
                return self.reply(200, found[0])
            if method == "DELETE":
                comments.remove(found[0])
                return self.reply(204)
        return self.reply(404, {"message": "Not Found"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


def new_id():
    next_id[0] += 1
    return next_id[0]


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
