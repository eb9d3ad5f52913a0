"""Signs the seed-bench accounts in N times from C threads and prints the
server's resident memory (VmRSS) idle and after, and its peak (VmHWM)."""
import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

pid, port, total, clients = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
URL = f"http://127.0.0.1:{port}/graphql"
SIGN_IN = "mutation SignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { accessToken } }"


def status(field: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"{field} not found")


def sign_in(i: int) -> bool:
    body = json.dumps({"query": SIGN_IN, "variables": {
        "email": f"bench{i % 100 + 1}@bench.example", "password": "bench-password-1"}}).encode()
    req = urllib.request.Request(URL, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return "accessToken" in resp.read().decode()


time.sleep(1)
idle = status("VmRSS")
started = time.time()
with ThreadPoolExecutor(clients) as pool:
    ok = sum(pool.map(sign_in, range(total)))
elapsed = time.time() - started
time.sleep(2)
after = status("VmRSS")
peak = status("VmHWM")
if ok != total:
    raise SystemExit(f"only {ok} of {total} sign-ins succeeded")
print(f"| measure | MiB |\n|---|---|")
print(f"| idle, after start-up | {idle:.1f} |")
print(f"| after {total} sign-ins from {clients} clients ({total / elapsed:.0f}/s), 2 s later | {after:.1f} |")
print(f"| peak during the sign-ins (VmHWM) | {peak:.1f} |")
