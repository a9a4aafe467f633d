"""In-memory git data and pull requests behind the GitHub REST stub.

Each operation handler takes (repo, params, body) and returns (status, payload, headers),
or raises StubError with the status GitHub would send. Payloads are the response
examples of rest/operations.json with the fields that matter replaced by real state.
"""
import base64
import copy
import hashlib
import json


class StubError(Exception):
    def __init__(self, status, message, errors=None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


def blob_sha(content):
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class Repo:
    """One repository: objects, refs and pull requests."""

    def __init__(self, full_name, default_branch):
        self.full_name, self.default_branch = full_name, default_branch
        self.blobs, self.trees, self.commits, self.refs = {}, {}, {}, {}
        self.pulls, self.comments, self.next_number = {}, [], 1

    def add_blob(self, content):
        sha = blob_sha(content)
        self.blobs[sha] = content
        return sha

    def add_tree(self, entries):
        """entries: {path: (mode, blob_sha)}"""
        text = json.dumps(sorted(entries.items())).encode()
        sha = hashlib.sha1(b"tree\0" + text).hexdigest()
        self.trees[sha] = dict(entries)
        return sha

    def add_commit(self, tree, parents, message):
        text = json.dumps([tree, parents, message, len(self.commits)]).encode()
        sha = hashlib.sha1(b"commit\0" + text).hexdigest()
        self.commits[sha] = {"tree": tree, "parents": list(parents), "message": message}
        return sha

    def is_ancestor(self, old, new):
        seen, todo = set(), [new]
        while todo:
            sha = todo.pop()
            if sha == old:
                return True
            if sha in seen or sha not in self.commits:
                continue
            seen.add(sha)
            todo.extend(self.commits[sha]["parents"])
        return False

    def seed(self, branch, files, sha=None):
        """files: {path: bytes}; makes the first commit on `branch`, named `sha` when given
        (to mirror a commit of a real git repository that serves the same files)."""
        tree = self.add_tree({p: ("100644", self.add_blob(c)) for p, c in files.items()})
        commit = self.add_commit(tree, [], "initial commit")
        if sha:
            self.commits[sha] = self.commits.pop(commit)
            commit = sha
        self.refs["refs/heads/" + branch] = commit
        return commit, tree

    def state(self, ref):
        sha = self.refs.get(ref) or (ref if ref in self.commits else None)
        if sha is None:
            raise StubError(404, "no such ref: " + ref)
        c = self.commits[sha]
        files = {p: {"mode": m, "content_base64": base64.b64encode(self.blobs[b]).decode()}
                 for p, (m, b) in self.trees[c["tree"]].items()}
        return {"sha": sha, "parents": c["parents"], "message": c["message"], "tree": c["tree"], "files": files}


class GitHubModel:
    def __init__(self, operations, base_url):
        self.ops, self.base_url, self.repos, self.comment_ids = operations, base_url, {}, 1000

    def example(self, op):
        return copy.deepcopy(self.ops[op]["response_example"])

    def url(self, repo, tail=""):
        return "%s/repos/%s%s" % (self.base_url, repo.full_name, tail)

    def repo(self, params):
        name = "%s/%s" % (params["owner"], params["repo"])
        if name not in self.repos:
            raise StubError(404, "Not Found")
        return self.repos[name]

    # repos

    def repos_get(self, repo, params, body):
        out = self.example("repos/get")
        out.update(name=repo.full_name.split("/")[1], full_name=repo.full_name,
                   default_branch=repo.default_branch, url=self.url(repo))
        out["owner"]["login"] = repo.full_name.split("/")[0]
        return 200, out, {}

    def repos_get_branch(self, repo, params, body):
        sha = repo.refs.get("refs/heads/" + params["branch"])
        if sha is None:
            raise StubError(404, "Branch not found")
        out = self.example("repos/get-branch")
        commit = repo.commits[sha]
        out["name"] = params["branch"]
        out["commit"]["sha"] = sha
        out["commit"]["commit"]["message"] = commit["message"]
        out["commit"]["commit"]["tree"] = {"sha": commit["tree"], "url": self.url(repo, "/git/trees/" + commit["tree"])}
        out["commit"]["parents"] = [{"sha": p, "url": self.url(repo, "/commits/" + p)} for p in commit["parents"]]
        return 200, out, {}

    # git data

    def ref_payload(self, repo, ref):
        out = self.example("git/get-ref")
        sha = repo.refs[ref]
        out.update(ref=ref, url=self.url(repo, "/git/" + ref))
        out["object"] = {"type": "commit", "sha": sha, "url": self.url(repo, "/git/commits/" + sha)}
        return out

    def git_get_ref(self, repo, params, body):
        ref = "refs/" + params["ref"]
        if ref not in repo.refs:
            raise StubError(404, "Not Found")
        return 200, self.ref_payload(repo, ref), {}

    def git_create_ref(self, repo, params, body):
        ref, sha = body["ref"], body["sha"]
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise StubError(422, "Reference name must start with 'refs/' and have at least two slashes.")
        if sha not in repo.commits:
            raise StubError(422, "Object does not exist")
        if ref in repo.refs:
            raise StubError(422, "Reference already exists")
        repo.refs[ref] = sha
        return 201, self.ref_payload(repo, ref), {"Location": self.url(repo, "/git/" + ref)}

    def git_update_ref(self, repo, params, body):
        ref = "refs/" + params["ref"] if not params["ref"].startswith("refs/") else params["ref"]
        if ref not in repo.refs:
            raise StubError(422, "Reference does not exist")
        if body["sha"] not in repo.commits:
            raise StubError(422, "Object does not exist")
        if not body.get("force") and not repo.is_ancestor(repo.refs[ref], body["sha"]):
            raise StubError(422, "Update is not a fast forward")
        repo.refs[ref] = body["sha"]
        return 200, self.ref_payload(repo, ref), {}

    def git_create_blob(self, repo, params, body):
        encoding = body.get("encoding", "utf-8")
        try:
            content = (base64.b64decode(body["content"], validate=True) if encoding == "base64"
                       else body["content"].encode())
        except (ValueError, TypeError):
            raise StubError(422, "content is not valid base64")
        sha = repo.add_blob(content)
        return 201, {"url": self.url(repo, "/git/blobs/" + sha), "sha": sha}, {"Location": self.url(repo, "/git/blobs/" + sha)}

    def git_create_tree(self, repo, params, body):
        base = body.get("base_tree")
        if base is not None and base not in repo.trees:
            raise StubError(422, "base_tree is not a valid tree")
        entries = dict(repo.trees[base]) if base else {}
        for e in body["tree"]:
            if e.get("sha") is None and "content" not in e:
                if e["path"] not in entries:
                    raise StubError(422, "tree.path %s does not exist in base_tree" % e["path"])
                del entries[e["path"]]
                continue
            sha = e["sha"] if e.get("sha") else repo.add_blob(e["content"].encode())
            if sha not in repo.blobs:
                raise StubError(422, "tree.sha %s is not a valid blob" % sha)
            entries[e["path"]] = (e["mode"], sha)
        sha = repo.add_tree(entries)
        out = self.example("git/create-tree")
        out.update(sha=sha, url=self.url(repo, "/git/trees/" + sha), truncated=False)
        out["tree"] = [{"path": p, "mode": m, "type": "blob", "size": len(repo.blobs[b]), "sha": b,
                        "url": self.url(repo, "/git/blobs/" + b)} for p, (m, b) in sorted(entries.items())]
        return 201, out, {"Location": out["url"]}

    def commit_payload(self, repo, sha):
        c = repo.commits[sha]
        out = self.example("git/create-commit")
        out.update(sha=sha, url=self.url(repo, "/git/commits/" + sha), message=c["message"])
        out["tree"] = {"sha": c["tree"], "url": self.url(repo, "/git/trees/" + c["tree"])}
        out["parents"] = [{"sha": p, "url": self.url(repo, "/git/commits/" + p)} for p in c["parents"]]
        return out

    def git_create_commit(self, repo, params, body):
        if body["tree"] not in repo.trees:
            raise StubError(422, "Tree SHA does not exist")
        for p in body.get("parents", []):
            if p not in repo.commits:
                raise StubError(422, "Parent SHA does not exist or is not a commit object")
        sha = repo.add_commit(body["tree"], body.get("parents", []), body["message"])
        return 201, self.commit_payload(repo, sha), {"Location": self.url(repo, "/git/commits/" + sha)}

    def git_get_commit(self, repo, params, body):
        if params["commit_sha"] not in repo.commits:
            raise StubError(404, "Not Found")
        return 200, self.commit_payload(repo, params["commit_sha"]), {}

    # pull requests and comments

    def pull_payload(self, repo, pull):
        out = self.example("pulls/get")
        head_sha = repo.refs.get("refs/heads/" + pull["head"], "")
        out.update(number=pull["number"], id=pull["number"], title=pull["title"], body=pull["body"],
                   state=pull["state"], url=self.url(repo, "/pulls/%d" % pull["number"]),
                   html_url="%s/%s/pull/%d" % (self.base_url, repo.full_name, pull["number"]))
        out["head"].update(ref=pull["head"], sha=head_sha, label=repo.full_name.split("/")[0] + ":" + pull["head"])
        out["base"].update(ref=pull["base"], sha=repo.refs.get("refs/heads/" + pull["base"], ""))
        return out

    def pulls_create(self, repo, params, body):
        head, base = body["head"].split(":")[-1], body["base"]
        invalid = lambda field: StubError(422, "Validation Failed",
                                          [{"resource": "PullRequest", "field": field, "code": "invalid"}])
        if "refs/heads/" + head not in repo.refs:
            raise invalid("head")
        if "refs/heads/" + base not in repo.refs or base == head:
            raise invalid("base")
        if not body.get("title") and "issue" not in body:
            raise invalid("title")
        if repo.refs["refs/heads/" + head] == repo.refs["refs/heads/" + base]:
            raise StubError(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                        "message": "No commits between %s and %s" % (base, head)}])
        for p in repo.pulls.values():
            if p["head"] == head and p["base"] == base and p["state"] == "open":
                raise StubError(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                            "message": "A pull request already exists for " + head}])
        pull = {"number": repo.next_number, "title": body.get("title", ""), "body": body.get("body"),
                "head": head, "base": base, "state": "open"}
        repo.pulls[pull["number"]] = pull
        repo.next_number += 1
        out = self.pull_payload(repo, pull)
        return 201, out, {"Location": out["url"]}

    def pull(self, repo, params):
        number = int(params["pull_number"]) if params["pull_number"].isdigit() else -1
        if number not in repo.pulls:
            raise StubError(404, "Not Found")
        return repo.pulls[number]

    def pulls_get(self, repo, params, body):
        return 200, self.pull_payload(repo, self.pull(repo, params)), {}

    def pulls_update(self, repo, params, body):
        pull = self.pull(repo, params)
        for key in ("title", "body", "state", "base"):
            if key in body:
                pull[key] = body[key]
        return 200, self.pull_payload(repo, pull), {}

    def issues_create_comment(self, repo, params, body):
        number = int(params["issue_number"]) if params["issue_number"].isdigit() else -1
        if number not in repo.pulls:
            raise StubError(404, "Not Found")
        self.comment_ids += 1
        repo.comments.append({"id": self.comment_ids, "issue_number": number, "body": body["body"],
                              "login": "aetherium-bot", "author_association": "OWNER"})
        out = self.example("issues/create-comment")
        out.update(id=self.comment_ids, body=body["body"],
                   url=self.url(repo, "/issues/comments/%d" % self.comment_ids),
                   issue_url=self.url(repo, "/issues/%d" % number))
        return 201, out, {"Location": out["url"]}

    # listings (GET with query parameters)

    def pulls_list(self, repo, params, body):
        query = params.get("_query", {})
        head = query.get("head", [None])[0]
        state = query.get("state", ["open"])[0]
        out = []
        for number in sorted(repo.pulls, reverse=True):
            pull = repo.pulls[number]
            if head is not None and head.split(":")[-1] != pull["head"]:
                continue
            if state != "all" and pull["state"] != state:
                continue
            out.append(self.pull_payload(repo, pull))
        return 200, out, {}

    def repos_list_commits(self, repo, params, body):
        query = params.get("_query", {})
        ref = query.get("sha", [repo.default_branch])[0]
        per_page = int(query.get("per_page", ["30"])[0])
        sha = repo.refs.get("refs/heads/" + ref) or (ref if ref in repo.commits else None)
        if sha is None:
            raise StubError(404, "No commit found for SHA: " + ref)
        out = []
        while sha and len(out) < per_page:
            c = repo.commits[sha]
            out.append({"sha": sha, "url": self.url(repo, "/commits/" + sha),
                        "commit": {"message": c["message"], "tree": {"sha": c["tree"]}},
                        "parents": [{"sha": p} for p in c["parents"]]})
            sha = c["parents"][0] if c["parents"] else None
        return 200, out, {}

    def issues_list_comments(self, repo, params, body):
        number = int(params["issue_number"]) if params["issue_number"].isdigit() else -1
        if number not in repo.pulls:
            raise StubError(404, "Not Found")
        out = [{"id": c["id"], "body": c["body"], "user": {"login": c.get("login", "")},
                "author_association": c.get("author_association", "NONE"),
                "url": self.url(repo, "/issues/comments/%d" % c["id"])}
               for c in repo.comments if c["issue_number"] == number]
        return 200, out[:int(params.get("_query", {}).get("per_page", ["30"])[0])], {}
