"""SPARQL queries in worker processes, so a query that runs too long can really be stopped.

A running query in a Python thread cannot be interrupted; a process can be killed. Each worker
opens the read-only store itself and answers one query at a time over a pipe. Workers are
started with the `spawn` context (a fresh interpreter: they inherit neither the server's
listening socket nor its signal handlers) and die with their parent (PR_SET_PDEATHSIG, and EOF
on their pipe). A worker that times out or dies is killed, and a replacement starts at once.
Idle workers are a stack, so a lone client keeps meeting the same warm worker.

A job and its answer cross the pipe as plain tuples of strings, numbers and bytes (marshal),
not as pickled objects: multiprocessing's pickler is built anew for every message, and the
class of a pickled object is looked up on arrival. After an idle spell, as between one
researcher's queries, that cost a query sent to a worker 70–150 µs on a 2-core machine.
Both ends run the same interpreter, which marshal's format requires."""

from __future__ import annotations

import ctypes
import functools
import itertools
import marshal
import multiprocessing as mp
import queue
import re
import resource
import signal
import threading
import time
from typing import NamedTuple

import pyoxigraph as ox

from pianold.store.results import (AnswerBuffer, AnswerNotExpressible, AnswerTooLarge, serialize_all_solutions,
                                   serialize_graph, serialize_solutions)

_CTX = mp.get_context("spawn")


class QueryJob(NamedTuple):
    store_path: str
    query: str
    media_type: str  # wanted result media type (already negotiated)
    max_rows: int
    max_bytes: int  # a larger answer is refused (results.AnswerBuffer)
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None  # relative IRIs in the query resolve against it (the endpoint's IRI)
    at_most: int | None = None  # a proven upper bound on the number of solutions, if known


class QueryAnswer(NamedTuple):
    body: bytes
    media_type: str
    kind: str  # "solutions", "boolean", "graph"
    truncated: int  # cut short: the rows (or triples) it holds, where the rest was left out; 0 when whole


class QueryFailed(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None):
        self.status = status
        self.retry_after = retry_after  # seconds, when the same query may well succeed then (busy, not too slow)
        super().__init__(message)


def too_large(max_bytes: int) -> str:
    size = f"{max_bytes / 2 ** 20:g} MB" if max_bytes >= 2 ** 20 else f"{max_bytes} bytes"
    return (f"the answer is larger than the {size} this endpoint sends; "
            "ask for fewer rows or columns (LIMIT, a narrower SELECT), or download the dumps")


ANSWER_REFUSALS = (AnswerTooLarge, AnswerNotExpressible)  # what a writer raises for an answer it will not send


def refusal(err: Exception) -> QueryFailed:
    """The error to answer for a writer's refusal (one of ANSWER_REFUSALS)."""
    if isinstance(err, AnswerTooLarge):
        return QueryFailed(422, too_large(err.max_bytes))
    return QueryFailed(406, str(err))


def write_capped(job: QueryJob, kind: str, items, write) -> QueryAnswer:
    """At most job.max_rows of `items` (solutions or triples) written by `write(items, media, out)`,
    a writer of results.py, in job.media_type; truncated at max_rows when more remain (not computed further)."""
    out = AnswerBuffer(job.max_bytes)
    items = iter(items)
    media = write(itertools.islice(items, job.max_rows), job.media_type, out)
    return QueryAnswer(out.getvalue(), media, kind, job.max_rows if next(items, None) is not None else 0)


def write_boolean(job: QueryJob, value: bool) -> QueryAnswer:
    """An ASK's answer in job.media_type."""
    out = AnswerBuffer(job.max_bytes)
    media = serialize_solutions(None, value, job.media_type, out)
    return QueryAnswer(out.getvalue(), media, "boolean", 0)


_AT = re.compile(r"error at (\d+):(\d+): (.*)", re.S)
_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
EXPECTED_CHARS = 160  # of the engine's list of what could have come there: the whole of it can run to 500


def is_located_syntax_error(text: str) -> bool:
    """Whether `text` is Oxigraph's syntax error ("error at LINE:COLUMN: …"), as its server sends it too."""
    return _AT.fullmatch(text.strip()) is not None


def syntax_message(engine: str, query: str) -> str:
    """The engine's syntax error as a reader wants it: where (line and column), what could have
    come there (its list shortened), and the line itself with a caret under the place."""
    found = _AT.fullmatch(engine)
    if found is None:
        return f"syntax error in the query: {engine}"
    line, column, expected = int(found.group(1)), int(found.group(2)), " ".join(found.group(3).split())
    if len(expected) > EXPECTED_CHARS:
        expected = expected[:expected.rfind(", ", 0, EXPECTED_CHARS)] + ", …"
    message = f"syntax error in the query at line {line}, column {column}: {expected}"
    lines = query.split("\n")  # the engine's lines: not str.splitlines', which also ends one at \r, \f, U+2028…
    if 1 <= line <= len(lines) and len(lines[line - 1]) <= 500:
        # one column per character, as the engine counts them; what else would break the excerpt's line, a space
        text = _BREAKS.sub(" ", lines[line - 1].expandtabs(1))
        message += f"\n  {text}\n  {' ' * (column - 1)}^"
    return message


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def execute(store, job: QueryJob) -> QueryAnswer:
    """Run one query on a pyoxigraph store and serialise its answer; QueryFailed for the query's faults.
    Workers call it, and the server itself for queries proven bounded (bounded.py)."""
    kwargs = {"base_iri": job.base_iri} if job.base_iri else {}
    try:
        # Without graphs in the request, the store's own default graph: the merge of the named
        # graphs, written by `pianold build` (oxigraph.merge_named_graphs). Each listed graph
        # once: listed twice, the engine would match its triples twice (and exceed at_most).
        if job.default_graphs:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in dict.fromkeys(job.default_graphs)]
        elif job.named_graphs:
            kwargs["default_graph"] = []  # named graphs only: the default graph is empty (SPARQL 1.1 Protocol §2.1.4)
        if job.named_graphs:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in dict.fromkeys(job.named_graphs)]
        result = store.query(job.query, **kwargs)
        if isinstance(result, ox.QuerySolutions):
            if job.at_most is not None and job.at_most <= job.max_rows:  # cannot reach the cap: Oxigraph's writer
                out = AnswerBuffer(job.max_bytes)
                media = serialize_all_solutions(result, job.media_type, out)
                return QueryAnswer(out.getvalue(), media, "solutions", 0)
            # written as they come: an oversized answer stops before the rest is computed
            return write_capped(job, "solutions", result, functools.partial(serialize_solutions, [v.value for v in result.variables]))
        if isinstance(result, ox.QueryBoolean):
            return write_boolean(job, bool(result))
        return write_capped(job, "graph", result, serialize_graph)
    except ANSWER_REFUSALS as err:
        raise refusal(err) from None
    except SyntaxError as err:
        raise QueryFailed(400, syntax_message(str(err), job.query)) from None
    except OSError as err:
        raise QueryFailed(502, f"the store could not answer: {err}") from None
    except MemoryError:
        raise
    except Exception as err:  # an engine error (e.g. a type error, a bad graph IRI) is the query's fault
        raise QueryFailed(400, f"the query could not be evaluated: {err}") from None


THREAD_STACK = 8 * 2 ** 20  # glibc's usual default; RocksDB's threads need no more


def _modest_thread_stacks() -> None:
    """Threads started without a stack size (RocksDB's, opening a store) take `ulimit -s`, and
    RLIMIT_DATA counts their stacks: at 64 MB a worker at 512 MB could not open the store. Cap
    the default at THREAD_STACK (Rust's threads set their own, 2 MB)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        attr = ctypes.create_string_buffer(256)  # a pthread_attr_t: 56 bytes on x86-64, 64 on arm64
        if libc.pthread_getattr_default_np(attr) != 0:
            return
        size = ctypes.c_size_t()
        if libc.pthread_attr_getstacksize(attr, ctypes.byref(size)) == 0 and size.value > THREAD_STACK:
            libc.pthread_attr_setstacksize(attr, ctypes.c_size_t(THREAD_STACK))
            libc.pthread_setattr_default_np(attr)
        libc.pthread_attr_destroy(attr)
    except (OSError, AttributeError):  # not glibc: its default stays
        pass


def _worker_main(conn, memory_mb: int | None = None) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_mb:
        _modest_thread_stacks()
        # the heap and anonymous mappings, not the store's files: a query materialising a huge
        # product (a sort of a cross join) fails its allocation, and the worker ends, instead of
        # taking the host's memory until the time limit
        resource.setrlimit(resource.RLIMIT_DATA, (memory_mb * 2 ** 20, memory_mb * 2 ** 20))
    stores: dict[str, object] = {}
    while True:
        try:
            job = QueryJob(*marshal.loads(conn.recv_bytes()))
        except (EOFError, OSError):
            return
        try:
            store = stores.get(job.store_path)
            if store is None:
                stores.clear()  # a new data version: the old one is no longer asked for
                store = stores[job.store_path] = ox.Store.read_only(job.store_path)
            reply = ("ok", *execute(store, job))
        except QueryFailed as err:
            reply = ("error", err.status, str(err))
        except MemoryError:
            reply = ("error", 503, _too_much_memory(memory_mb))
        except OSError as err:
            reply = ("error", 502, f"the store could not answer: {err}")
        try:
            conn.send_bytes(marshal.dumps(reply))
        except OSError:  # the server is gone
            return


# The engine reads, plans and evaluates nested groups and expressions recursively: nested some
# thousands of levels deep (`((((…`, `{{{{…`, `STR(STR(…`), a query overflows the worker's stack.
CRASHED = ("the query made the query engine fail (most often a group or an expression nested thousands of levels "
           "deep, which overflows its stack) and was not answered; it would fail again: simplify it")


def _too_much_memory(memory_mb: int | None) -> str:
    limit = f" ({memory_mb} MB)" if memory_mb else ""
    return (f"the query needed more memory than a query may take here{limit} and was stopped; narrow it "
            "(fewer unconnected patterns, a LIMIT, no ORDER BY over a large product)")


class Worker:
    def __init__(self, memory_mb: int | None = None):
        self.conn, child = _CTX.Pipe()
        self.process = _CTX.Process(target=_worker_main, args=(child, memory_mb), daemon=True, name="pianold-sparql")
        self.process.start()
        child.close()

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(timeout=5)
        finally:
            self.conn.close()

    @property
    def alive(self) -> bool:
        return self.process.is_alive()


class _Stack(queue.LifoQueue):
    """The idle workers, last in first out: a lone client keeps meeting the same warm worker (its
    caches, its CPU), and the others wait for concurrent queries."""

    def put_bottom(self, item) -> None:
        """For a worker still booting: warm ones are met first."""
        with self.not_empty:
            self.queue.insert(0, item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


class WorkerPool:
    """`size` workers; at most `size + max_waiting` requests in flight, the rest refused at once
    (so SPARQL load never ties up every server thread and dereference keeps answering)."""

    def __init__(self, size: int, max_waiting: int = 2, wait_seconds: float = 5.0, memory_mb: int | None = None):
        self.size = size
        self.memory_mb = memory_mb  # each worker's heap limit
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.idle = _Stack()
        for _ in range(size):
            self.idle.put(None)  # started lazily
        self.in_flight = 0
        self.lock = threading.Lock()
        self.timeouts = 0
        self.deaths = 0
        self.closed = False

    def start(self) -> None:
        """Start the workers not started yet (otherwise each starts on its first query, a second
        late). Spawning returns in milliseconds; a query arriving meanwhile waits that long."""
        taken = []
        while True:
            try:
                taken.append(self.idle.get_nowait())
            except queue.Empty:
                break
        try:
            for i, worker in enumerate(taken):
                if worker is None:
                    taken[i] = Worker(self.memory_mb)
        finally:
            for worker in reversed(taken):  # in the order they were: the stack's top stays on top
                self._give_back(worker)

    def _take(self, timeout: float) -> Worker:
        worker = self.idle.get(timeout=timeout)
        if worker is None or not worker.alive:
            if worker is not None:
                worker.kill()
            try:
                worker = Worker(self.memory_mb)
            except Exception:  # e.g. no memory or processes left: the slot stays, for a later try
                self._give_back(None, booting=True)
                raise QueryFailed(503, "the SPARQL endpoint could not start a query worker; retry in a few seconds", retry_after=5) from None
        return worker

    def run(self, job: QueryJob, timeout: float) -> QueryAnswer:
        with self.lock:
            if self.in_flight >= self.size + self.max_waiting:
                raise QueryFailed(503, "the SPARQL endpoint is busy with other queries; retry in a few seconds", retry_after=5)
            self.in_flight += 1
        try:
            try:
                worker = self._take(self.wait_seconds)
            except queue.Empty:
                raise QueryFailed(503, "the SPARQL endpoint is busy with other queries; retry in a few seconds", retry_after=5) from None
            try:
                worker.conn.send_bytes(marshal.dumps(tuple(job)))
                deadline = time.monotonic() + timeout
                if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                    self._replace(worker)
                    worker = None
                    self.timeouts += 1
                    raise QueryFailed(503, f"the query ran longer than the {timeout:g} s limit and was stopped; "
                                           "narrow it (LIMIT, more specific patterns) and try again")
                message = marshal.loads(worker.conn.recv_bytes())
            except (EOFError, OSError, BrokenPipeError):
                worker.process.join(1)
                exitcode = worker.process.exitcode
                self._replace(worker)
                worker = None
                self.deaths += 1
                if exitcode == -signal.SIGABRT and self.memory_mb:  # a failed allocation aborts the engine
                    raise QueryFailed(503, _too_much_memory(self.memory_mb)) from None
                if exitcode == -signal.SIGSEGV:  # no Retry-After: the same query would crash the next worker
                    raise QueryFailed(503, CRASHED) from None
                raise QueryFailed(503, "the query worker stopped unexpectedly; the query was not answered, retry it", retry_after=5) from None
            finally:
                if worker is not None:
                    self._give_back(worker)
            if message[0] == "ok":
                return QueryAnswer(*message[1:])
            raise QueryFailed(message[1], message[2])
        finally:
            with self.lock:
                self.in_flight -= 1

    def _give_back(self, worker: Worker | None, booting: bool = False) -> None:
        with self.lock:  # close() sets `closed` under the same lock, then takes what is idle
            if not self.closed:
                (self.idle.put_bottom if booting else self.idle.put)(worker)
                return
        if worker is not None:
            worker.kill()

    def _replace(self, worker: Worker) -> None:
        """Kill a worker and start its replacement now, so that it boots while idle. It is started
        from the request's thread, which PR_SET_PDEATHSIG ties it to: waitress's threads live as
        long as the server (a thread-per-request server would see it die with the request, and
        the next acquire would start another)."""
        worker.kill()
        fresh = None
        if not self.closed:
            try:
                fresh = Worker(self.memory_mb)
            except Exception:
                pass  # started on its next acquire instead
        self._give_back(fresh, booting=True)

    def close(self) -> None:
        with self.lock:
            self.closed = True
        while True:
            try:
                worker = self.idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()

    def pids(self) -> list[int]:
        return [w.process.pid for w in list(self.idle.queue) if w is not None and w.alive]

