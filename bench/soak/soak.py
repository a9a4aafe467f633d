"""Feeds a running server a steady mix of tasks and samples its memory (RSS), open file
descriptors and read-model lag (from a task's 202 to its view answering). Prints one line
per sample and a verdict: the last quarter's median against the first quarter's."""
import argparse, json, os, statistics, sys, threading, time, urllib.request, urllib.error

MIX = [  # prompt, verify command, how it should end
    ("set -e\nsed -i 's/Hello, world/Hello from Aetherium/' greeting.txt\n", "sh check.sh", "completed"),
    ("echo nothing to change\n", "", "completed"),
    ("echo failing; exit 3\n", "", "failed"),
    ("echo more >> greeting.txt\n", "false", "failed"),
]

def call(url, key, method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))

def main():
    a = argparse.ArgumentParser()
    for name in ("url", "key", "repo"):
        a.add_argument("--" + name, required=True)
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--seconds", type=int, default=3600)
    a.add_argument("--in-flight", type=int, default=4)
    o = a.parse_args()
    status, project = call(o.url, o.key, "POST", "/v1/projects", {"name": "soak", "repo": o.repo})
    if status != 201:
        sys.exit(f"cannot create the project: HTTP {status}")
    live, lags, ends, wrong = [], [], {}, 0
    lock = threading.Lock()
    samples = []
    stop = time.time() + o.seconds
    n = 0

    def sampler():
        while time.time() < stop:
            with lock:
                lag = statistics.median(lags[-50:]) if lags else 0.0
            s = (time.time(), rss_kib(o.pid), fds(o.pid), lag)
            samples.append(s)
            print(f"t={s[0] - samples[0][0]:7.0f}s rss={s[1] / 1024:7.1f} MiB fds={s[2]:4d} "
                  f"read-model lag={s[3] * 1000:6.1f} ms tasks={n} ends={dict(ends)}", flush=True)
            time.sleep(max(5, o.seconds // 60))

    threading.Thread(target=sampler, daemon=True).start()
    while time.time() < stop:
        live = [t for t in live if not done(o, t, ends)]
        if len(live) >= o.in_flight:
            time.sleep(0.2)
            continue
        prompt, verify, want = MIX[n % len(MIX)]
        body = {"project": project["id"], "agent_type": "script", "prompt": prompt}
        if verify:
            body["verify_command"] = verify
        start = time.time()
        status, task = call(o.url, o.key, "POST", "/v1/tasks", body)
        if status != 202:
            print(f"create: HTTP {status}", flush=True)
            time.sleep(1)
            continue
        while call(o.url, o.key, "GET", "/v1/tasks/" + task["id"])[0] != 200:
            time.sleep(0.002)
        with lock:
            lags.append(time.time() - start)
        live.append((task["id"], want))
        n += 1
    quarter = max(1, len(samples) // 4)
    first, last = samples[:quarter], samples[-quarter:]
    verdict = 0
    for i, name in ((1, "memory (RSS KiB)"), (2, "file descriptors")):
        a_, b_ = statistics.median(s[i] for s in first), statistics.median(s[i] for s in last)
        growth = (b_ - a_) / a_ if a_ else 0.0
        ok = growth <= 0.10
        verdict |= not ok
        print(f"{name}: first quarter {a_:.0f}, last quarter {b_:.0f}, growth {growth * 100:+.1f} % "
              f"({'flat' if ok else 'GROWING'})")
    lag_first = statistics.median(s[3] for s in first) * 1000
    lag_last = statistics.median(s[3] for s in last) * 1000
    print(f"read-model lag: first quarter {lag_first:.1f} ms, last quarter {lag_last:.1f} ms")
    print(f"{n} tasks, ends {ends}")
    sys.exit(verdict)

def done(o, t, ends):
    tid, want = t
    status, view = call(o.url, o.key, "GET", "/v1/tasks/" + tid)
    s = view.get("status") if view else None
    if s in ("completed", "failed", "terminated"):
        key = s if s == want else f"{s} (expected {want})"
        ends[key] = ends.get(key, 0) + 1
        return True
    return False

if __name__ == "__main__":
    main()
