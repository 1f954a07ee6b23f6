#!/usr/bin/env python3
"""Hostile and careless HTTP clients for a running `mtst serve` (Python stdlib only).

  abuse_client.py mixed PORT SECONDS      requests of every shape (long texts, full batches,
                                          invalid JSON, wrong types, bodies over the payload
                                          limit, unknown endpoints); every answer must be JSON
                                          with a status below 500
  abuse_client.py idle PORT N SECONDS     N connections that send nothing, held SECONDS, while
                                          one normal client keeps asking /embed
  abuse_client.py slow PORT N SECONDS     N clients trickling a request one byte per 0.5 s,
                                          while one normal client keeps asking /embed

Prints one JSON line; exits 1 when an answer is malformed, a 5xx, or a normal request fails.
"""
import json
import random
import socket
import sys
import threading
import time
import http.client

WORDS = "the quick brown fox jumps over a lazy dog while it rains in the city today".split()


def text(n_words):
    return " ".join(random.choice(WORDS) for _ in range(n_words))


def bodies():
    """(endpoint, body bytes) of one random request."""
    kind = random.randrange(8)
    if kind == 0:
        return "/embed", json.dumps({"inputs": text(random.randint(1, 3000))}).encode()
    if kind == 1:
        return "/embed", json.dumps({"inputs": [text(random.randint(1, 40)) for _ in range(32)]}).encode()
    if kind == 2:
        return "/v1/embeddings", json.dumps({"input": [text(5)], "model": "m"}).encode()
    if kind == 3:
        return "/embed", b'{"inputs": ["unterminated'
    if kind == 4:
        return "/embed", json.dumps({"inputs": [1, 2, 3]}).encode()
    if kind == 5:
        return "/embed", b'{"inputs": "' + b"x" * 2_100_000 + b'"}'  # over the 2 MB default
    if kind == 6:
        return "/nowhere", b"{}"
    return "/tokenize", json.dumps({"inputs": "\udcff broken surrogate".encode("utf-8", "replace").decode()}).encode()


def ask(conn, endpoint, body):
    """Status of one request; raises ValueError for a malformed answer."""
    conn.request("POST", endpoint, body=body, headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    payload = res.read()
    try:
        answer = json.loads(payload)
    except ValueError:
        raise ValueError(f"{endpoint}: status {res.status}, not JSON: {payload[:200]!r}")
    if res.status >= 500:
        raise ValueError(f"{endpoint}: status {res.status}: {answer}")
    if res.status != 200 and not ("error" in answer and "error_type" in answer):
        raise ValueError(f"{endpoint}: status {res.status} without error fields: {answer}")
    return res.status


def mixed(port, seconds):
    statuses, problems = {}, []
    deadline = time.time() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.time() < deadline:
        endpoint, body = bodies()
        try:
            code = ask(conn, endpoint, body)
            statuses[code] = statuses.get(code, 0) + 1
        except ValueError as e:
            problems.append(str(e))
        except (OSError, http.client.HTTPException):
            # The server closes the connection after a 413 (it does not read the body): reconnect.
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            statuses["reconnect"] = statuses.get("reconnect", 0) + 1
    return {"mode": "mixed", "statuses": statuses, "problems": problems[:5],
            "problem_count": len(problems)}, not problems


def normal_client(port, stop, latencies, failures):
    while not stop.is_set():
        start = time.time()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            if ask(conn, "/embed", json.dumps({"inputs": "hello there"}).encode()) != 200:
                failures.append("status")
            conn.close()
        except (OSError, ValueError, http.client.HTTPException) as e:
            failures.append(repr(e))
        latencies.append(time.time() - start)
        stop.wait(0.5)


def closed_by_peer(sock):
    """Whether the server has closed SOCK (a read would return end-of-file)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(port, n, seconds, trickle):
    socks, refused = [], 0
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        except OSError:
            refused += 1
    stop, latencies, failures = threading.Event(), [], []
    checker = threading.Thread(target=normal_client, args=(port, stop, latencies, failures))
    checker.start()
    request = b'POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 19\r\n\r\n{"inputs": "slow"}\n'
    deadline, sent, dropped = time.time() + seconds, 0, 0
    while time.time() < deadline:
        if trickle:
            for s in list(socks):
                try:
                    s.send(request[sent % len(request):sent % len(request) + 1])
                except OSError:
                    socks.remove(s)
                    dropped += 1
            sent += 1
        time.sleep(0.5)
    open_at_end = sum(1 for s in socks if not closed_by_peer(s))
    for s in socks:
        s.close()
    stop.set()
    checker.join()
    result = {"mode": "slow" if trickle else "idle", "connections": n, "refused": refused,
              "dropped_by_server": dropped, "still_open_at_end": open_at_end,
              "normal_requests": len(latencies), "normal_failures": failures[:5],
              "normal_max_s": round(max(latencies, default=0), 3),
              "normal_median_s": round(sorted(latencies)[len(latencies) // 2], 3) if latencies else 0}
    return result, not failures and latencies


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "mixed":
        result, ok = mixed(port, float(sys.argv[3]))
    elif mode in ("idle", "slow"):
        result, ok = hold(port, int(sys.argv[3]), float(sys.argv[4]), trickle=mode == "slow")
    else:
        sys.exit(__doc__)
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
