#!/usr/bin/env python3
"""A local GitHub REST API stub for Aetherium's tests.

Answers the operations of rest/operations.json (plus git/get-commit, pulls/update,
pulls/list, repos/list-commits and issues/list-comments, which share the examples of
similar operations) from an in-memory git model,
records and validates every request, and injects failures on demand.

    python3 github_stub.py --operations fixtures/rest/operations.json [--port 0]

prints "github-stub listening on port N" once ready. Paths may carry GitHub Enterprise
Server's "/api/v3" prefix. Stub-only endpoints (not recorded):
    GET    /_stub/requests                  every recorded request, with its problems
    DELETE /_stub/requests                  forget them
    POST   /_stub/fail                      {"status": 502, "count": 2, "operation": "git/create-blob"}
                                            {"status": 403, "rate_limit_reset_in": 1}
                                            {"status": 429, "retry_after": 1}
    POST   /_stub/repos                     {"full_name": "o/r", "default_branch": "main", "files": {"p": "text"},
                                             "files_base64": {"p": "..."}} -> {"commit": sha, "tree": sha}
    GET    /_stub/repos/{owner}/{repo}/state?ref=refs/heads/x   the commit, its parents and files
    GET    /_stub/repos/{owner}/{repo}/pulls                    pull requests and comments
    POST   /_stub/repos/{owner}/{repo}/comments                 {"issue_number", "body", "login", "author_association"}:
                                                              a comment someone else wrote
"""
import argparse
import base64
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stub_git import GitHubModel, Repo, StubError

EXTENSIONS = {
    "git/get-commit": ("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}", "git/create-commit"),
    "pulls/update": ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", "pulls/get"),
    "pulls/list": ("GET", "/repos/{owner}/{repo}/pulls", "pulls/get"),
    "repos/list-commits": ("GET", "/repos/{owner}/{repo}/commits", "git/create-commit"),
    "issues/list-comments": ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "issues/create-comment"),
}
REQUIRED = {"git/create-ref": ["ref", "sha"], "git/update-ref": ["sha"], "git/create-blob": ["content"],
            "git/create-tree": ["tree"], "git/create-commit": ["message", "tree"], "pulls/create": ["head", "base"],
            "issues/create-comment": ["body"]}
ALLOWED = {"git/create-ref": {"ref", "sha", "key"}, "git/update-ref": {"sha", "force"},
           "git/create-blob": {"content", "encoding"}, "git/create-tree": {"tree", "base_tree"},
           "git/create-commit": {"message", "tree", "parents", "author", "committer", "signature"},
           "pulls/create": {"title", "head", "head_repo", "base", "body", "maintainer_can_modify", "draft", "issue"},
           "pulls/update": {"title", "body", "state", "base", "maintainer_can_modify"},
           "issues/create-comment": {"body"}}
GREEDY = {"ref", "branch"}
ENTERPRISE_PREFIX = "/api/v3"  # GitHub Enterprise Server's API root; stripped, so both forms work


def load_operations(path):
    ops = {k: v for k, v in json.load(open(path)).items() if v.get("path") and v.get("kind") != "webhook"}
    for name, (method, route, like) in EXTENSIONS.items():
        ops[name] = dict(ops[like], method=method, path=route, request_example=None,
                         response_status=200 if method in ("GET", "PATCH") else 201)
    routes = []
    for name, op in ops.items():
        pattern = re.sub(r"\{(\w+)\}", lambda m: "(?P<%s>%s)" % (m[1], ".+" if m[1] in GREEDY else "[^/]+"), op["path"])
        routes.append((op["method"], re.compile("^" + pattern + "$"), name))
    return ops, routes


def body_problems(op, body):
    problems = []
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    problems += ["missing required field %r" % f for f in REQUIRED.get(op, []) if f not in body]
    problems += ["unknown field %r" % f for f in body if f not in ALLOWED.get(op, set())]
    if op == "git/create-blob" and body.get("encoding", "utf-8") not in ("utf-8", "base64"):
        problems.append("encoding must be utf-8 or base64")
    if op == "git/create-tree":
        for e in body.get("tree") or []:
            if not isinstance(e, dict) or not isinstance(e.get("path"), str):
                problems.append("tree entry without a path: %r" % (e,))
            elif e.get("mode") not in ("100644", "100755", "040000", "160000", "120000"):
                problems.append("tree entry %s has a bad mode %r" % (e["path"], e.get("mode")))
            elif e.get("type") not in ("blob", "tree", "commit") or "sha" not in e and "content" not in e:
                problems.append("tree entry %s needs a type and a sha (null to delete) or content" % e["path"])
    return problems


class Stub:
    def __init__(self, operations_path):
        self.ops, self.routes = load_operations(operations_path)
        self.model = GitHubModel(self.ops, "")
        self.lock = threading.Lock()
        self.requests, self.failures = [], []

    def route(self, method, path):
        for m, regex, name in self.routes:
            match = regex.match(path)
            if match and m == method:
                return name, match.groupdict()
        return None, None

    def injected(self, op):
        for rule in self.failures:
            if rule.get("operation") in (None, op) and rule["count"] > 0:
                rule["count"] -= 1
                return self.failure_response(rule)
        return None

    @staticmethod
    def failure_response(rule):
        status, headers = rule["status"], {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999"}
        message = rule.get("message", "injected failure")
        if "rate_limit_reset_in" in rule:
            headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-used": "5000", "x-ratelimit-resource": "core",
                            "x-ratelimit-reset": str(int(time.time()) + int(rule["rate_limit_reset_in"]))})
            message = "API rate limit exceeded for user ID 1."
        if "retry_after" in rule:
            headers["retry-after"] = str(rule["retry_after"])
            message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}, headers

    def handle(self, method, path, headers, raw, target):
        """Returns (status, payload, headers) and records the request."""
        op, params = self.route(method, path)
        record = {"seq": len(self.requests) + 1, "method": method, "path": path, "target": target, "operation": op,
                  "headers": headers, "problems": [], "injected": False}
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                record["problems"].append("the body is not JSON")
        record["body"] = body if body is not None else raw.decode("utf-8", "replace")
        self.requests.append(record)
        answer = self.answer(record, op, params, headers, body, raw)
        record["status"] = answer[0]
        return answer

    def answer(self, record, op, params, headers, body, raw):
        problems = record["problems"]
        if op is None:
            problems.append("no GitHub operation is %s %s" % (record["method"], record["path"]))
            return 404, {"message": "Not Found"}, {}
        auth = headers.get("authorization", "")
        if not re.match(r"^(Bearer|token) \S+$", auth):
            problems.append("missing or malformed Authorization header")
            return 401, {"message": "Requires authentication"}, {}
        if not headers.get("user-agent"):
            problems.append("missing User-Agent header")
        if "application/vnd.github" not in headers.get("accept", ""):
            problems.append("Accept is not application/vnd.github+json")
        failure = self.injected(op)
        if failure:
            record["injected"] = True
            return failure
        has_body = op in ALLOWED
        if has_body and "application/json" not in headers.get("content-type", ""):
            problems.append("Content-Type is not application/json")
        if not has_body and raw:
            problems.append("%s takes no body" % op)
        if has_body:
            found = body_problems(op, body)
            problems.extend(found)
            if found:
                return 422, {"message": "Validation Failed", "errors": found}, {}
        try:
            repo = self.model.repo(params)
            params = dict(params, _query=urllib.parse.parse_qs(urllib.parse.urlsplit(record["target"]).query))
            return getattr(self.model, op.replace("/", "_").replace("-", "_"))(repo, params, body or {})
        except StubError as e:
            payload = {"message": e.message, "documentation_url": "https://docs.github.com/rest"}
            if e.errors:
                payload["errors"] = e.errors
            return e.status, payload, {}

    def control(self, method, path, query, raw):
        """The stub-only endpoints."""
        if path == "/_stub/requests" and method == "GET":
            return 200, {"requests": self.requests}
        if path == "/_stub/requests" and method == "DELETE":
            self.requests = []
            return 200, {}
        body = json.loads(raw) if raw else {}
        if path == "/_stub/fail" and method == "POST":
            self.failures.append(dict(body, count=body.get("count", 1)))
            return 200, {}
        if path == "/_stub/repos" and method == "POST":
            files = {p: c.encode() for p, c in body.get("files", {}).items()}
            files.update({p: base64.b64decode(c) for p, c in body.get("files_base64", {}).items()})
            repo = Repo(body["full_name"], body.get("default_branch", "main"))
            self.model.repos[repo.full_name] = repo
            commit, tree = repo.seed(repo.default_branch, files, body.get("commit_sha"))
            return 201, {"commit": commit, "tree": tree}
        m = re.match(r"^/_stub/repos/([^/]+)/([^/]+)/comments$", path)
        if m and method == "POST":  # a comment written by someone else on GitHub
            repo = self.model.repo({"owner": m[1], "repo": m[2]})
            self.model.comment_ids += 1
            repo.comments.append({"id": self.model.comment_ids, "issue_number": body["issue_number"],
                                  "body": body["body"], "login": body.get("login", "someone"),
                                  "author_association": body.get("author_association", "NONE")})
            return 201, {"id": self.model.comment_ids}
        m = re.match(r"^/_stub/repos/([^/]+)/([^/]+)/(state|pulls)$", path)
        if m and method == "GET":
            repo = self.model.repo({"owner": m[1], "repo": m[2]})
            if m[3] == "pulls":
                return 200, {"pulls": list(repo.pulls.values()), "comments": repo.comments}
            return 200, repo.state(query.get("ref", ["refs/heads/" + repo.default_branch])[0])
        return 404, {"message": "no such stub endpoint"}


def make_handler(stub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            pass

        def serve(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path.startswith(ENTERPRISE_PREFIX + "/"):
                url = url._replace(path=url.path[len(ENTERPRISE_PREFIX):])
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with stub.lock:
                try:
                    if url.path.startswith("/_stub/"):
                        status, payload = stub.control(self.command, url.path, urllib.parse.parse_qs(url.query), raw)
                        extra = {}
                    else:
                        path = urllib.parse.unquote(url.path)
                        status, payload, extra = stub.handle(self.command, path, headers, raw, self.path)
                except StubError as e:
                    status, payload, extra = e.status, {"message": e.message}, {}
                except (ValueError, KeyError, TypeError) as e:
                    status, payload, extra = 400, {"message": "bad stub request: %r" % (e,)}, {}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = serve

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes (the test process that started the stub is gone)")
    args = parser.parse_args()
    if args.exit_on_stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.buffer.read(), os._exit(0)), daemon=True).start()
    stub = Stub(args.operations)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(stub))
    port = server.server_address[1]
    stub.model.base_url = "http://%s:%d" % (args.host, port)
    print("github-stub listening on port %d" % port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
