"""Build every plan and publish it as a new version, atomically.

Layout of the output folder (dist/):

    dist/versions/<version>/      one complete, immutable build
        manifest.json             version, build time, base, plans, files with sizes and SHA-256,
                                  the digest of the sources and the data folder they were read from
                                  (and whether it is the bundled one)
        plans/<id>.ttl|.nt|.nt.gz|.jsonld|.rdf
        ontology/psm.ttl|.nt|.nt.gz|.jsonld|.rdf
        all.nq                    everything, one named graph per plan + the ontology
        all.ttl|.jsonld|.nt.gz    everything as one graph
        context.jsonld            the JSON-LD @context used by the .jsonld files
        catalog.ttl|.jsonld|.rdf|.nt  the catalogue (DCAT-AP_IT, DCAT-AP 3, VoID) of the files above
        store/                    embedded Oxigraph store of all.nq + the catalogue graph (catalog.py),
                                  which describes the files above (sizes, checksums) and so is not in them
    dist/current -> versions/<version>   switched with one rename: readers see old or new, never half

The version is a digest of the published quads, so an unchanged rebuild is byte-identical and
publishes nothing new; sources put back as they were in an earlier version still kept publish a
new version (built later, so that no Last-Modified goes back), not that folder again. Everything
is written under a temporary name first; a failed build removes its temporary folder and leaves
dist/current as it was.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import fcntl
import functools
import gc
import gzip
import heapq
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from rdflib import Dataset, Graph, URIRef

from pianold import __version__
from pianold.config import Settings
from pianold.catalog import MixedLicences, SeveralPublishers, VoidStats, catalog_graph, catalog_publisher, combined_licence, every_dump
from pianold.formats import (GRAPH_FORMATS, JSONLD, JSONLD_CONTEXT, NQUADS, RDFXML, TURTLE, jsonld_chunks,
                             ntriples_chunks, serialize, sorted_ntriples, write_from_lines)
from pianold.ingest import PlanRecord, Problem, SourceError, check_links, load_plan
from pianold.model import plan_graph
from pianold.resources import bundled_data_dir, ontology_file, own_files_digest, shapes_files
from pianold.store.oxigraph import STORE_LAYOUT, merge_named_graphs
from pianold.validate import Report, validate
from pianold.vocab import ONTOLOGY_IRI, bind_prefixes

MANIFEST = "manifest.json"
CURRENT = "current"
# With a remote store, the version loaded into it by `pianold push`: what a server then serves,
# since the store answers dereference and queries (a newer build waits for its push).
PUSHED = "pushed"


class NotSwitchable(Exception):
    """dist/current is not the link a build switches (a real folder, after `cp -rL dist` or an rsync
    that followed links): the build publishes nothing, and says what to move away."""


class ValidationFailed(Exception):
    def __init__(self, report: Report, graph: Graph):
        self.report = report
        self.graph = graph
        super().__init__(report.render(graph))


@dataclass(frozen=True)
class Version:
    """One published build, read from its manifest."""

    path: Path
    manifest: dict

    @property
    def id(self) -> str:
        return self.manifest["version"]

    @functools.cached_property  # asked on every request: computed once per version
    def built(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.manifest["built"])

    @functools.cached_property
    def store_path(self) -> Path:
        return self.path / "store"


@dataclass
class Built:
    """What publishing needs of a build: per named graph (one per plan, and the ontology) its
    sorted N-Triples lines and VoID statistics. The plans' rdflib graphs are not kept: at a million
    triples one costs ~0.7 GB, more than everything written from it. The ontology graph (small)
    stays for its catalogue record."""

    plans: list[PlanRecord]
    ontology: Graph
    lines: dict[str, list[bytes]] = field(default_factory=dict)  # named graph IRI -> sorted N-Triples
    stats: dict[str, VoidStats] = field(default_factory=dict)  # named graph IRI -> its VoID statistics

    def __post_init__(self) -> None:
        self.add(self.ontology)

    def add(self, graph: Graph) -> None:
        name = str(graph.identifier)
        self.lines[name] = sorted_ntriples(graph)
        self.stats[name] = VoidStats.of(graph)


def plan_folders(data_dir: Path) -> list[Path]:
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():  # `--data data/bari/plan.toml`, or any file
        # a file of a plan folder (its plan.toml, links.csv, a source): the data folder holds that plan folder
        plan = next((p for p in data_dir.resolve().parents[:2] if (p / "plan.toml").is_file()), None)
        given = f"--data {plan.parent}" if plan is not None else "--data that folder"
        raise SourceError(Problem(_loc(data_dir), f"this is a file, not a folder: the data folder is the folder that "
                                                  f"holds the plan folders; give {given} (or set data_dir)"))
    if not data_dir.is_dir():
        raise SourceError(Problem(_loc(data_dir), "data folder not found"))
    if (data_dir / "plan.toml").is_file():
        raise SourceError(Problem(_loc(data_dir), f"this is a plan folder; the data folder is the one that holds plan "
                                                  f"folders: give --data {data_dir.resolve().parent} (or set data_dir)"))
    folders = sorted(p.parent for p in data_dir.glob("*/plan.toml"))
    problems = [problem for folder in sorted(data_dir.iterdir()) if (problem := _without_plan_toml(folder))]
    if problems:
        raise SourceError(problems)
    if not folders:
        raise SourceError(Problem(_loc(data_dir), "no plan folders (each needs a plan.toml)"))
    return folders


def _without_plan_toml(folder: Path) -> Problem | None:
    """A folder that looks like a plan's (a plan… file, links.csv or sources/) but has no
    plan.toml: it would be left out of the build without a word, so it is an error."""
    if folder.name.startswith(".") or not folder.is_dir() or (folder / "plan.toml").is_file():
        return None
    names = sorted(p.name for p in folder.iterdir())
    similar = [n for n in names if n.lower().replace(" ", "").startswith("plan") and n != "plan.toml"]  # plan.toml.txt, Plan.toml…
    if (folder / "plan.toml").is_dir():
        then = f", then rename {similar[0]!r} to plan.toml" if similar else ""
        return Problem(_loc(folder / "plan.toml"), f"plan.toml is a folder here, and a plan folder needs a file named "
                                                   f"plan.toml (see the README, 'Input formats'): move this folder "
                                                   f"out of the plan folder{then}")
    if similar:
        return Problem(_loc(folder / similar[0]), f"a plan folder needs a file named exactly plan.toml: rename "
                                                   f"{similar[0]!r} to plan.toml (Windows may hide an extension such as .txt)")
    if "links.csv" in names or "sources" in names:
        return Problem(_loc(folder), "this plan folder has no plan.toml: add one (see the README, 'Input formats'), "
                                     "or move the folder out of the data folder")
    return None


def _key_location(path: Path, key: str):
    """The line of plan.toml's top-level `key = …`."""
    from pianold.ingest import Location

    for n, line in enumerate(path.read_text(encoding="utf-8-sig").split("\n"), start=1):
        if line.strip().startswith(key) and line.split("=", 1)[0].strip().strip("\"'") == key:
            return Location(path, n, 1)
    return Location(path)


def _mixed_licences(err: MixedLicences, folders: dict[str, Path]) -> Problem:
    """Where to mend plans whose licences differ: the licence line of the first plan whose licence
    is not the ontology's (pianold's own, the one part a deployment does not choose)."""
    reference = err.licences.get("ontology") or next(iter(err.licences.values()))
    other = next((part for part, licence in err.licences.items() if part in folders and licence != reference), None)
    where = folders[other] if other is not None else next(iter(folders.values()))
    listed = "; ".join(f"{'the ontology' if part == 'ontology' else 'plan ' + part}: {licence}" for part, licence in err.licences.items())
    return Problem(_key_location(where / "plan.toml", "license"),
                   f"the dump of everything (all.nq, all.ttl…) joins parts under different licences ({listed}) and can "
                   "declare only one: give the plans the same licence as the ontology, or set combined_license in "
                   "pianold.toml to the licence the whole is offered under")


def _several_publishers(err: SeveralPublishers, data_dir: Path) -> Problem:
    """The decision is the deployment's (pianold.toml), not one plan's: reported on the data folder."""
    listed = ", ".join(f"{ipa} ({name})" for ipa, name in err.publishers.items())
    if err.chosen is not None:
        message = f"catalog_publisher = {err.chosen!r} is not the IPA code of a publisher of these plans: {listed}"
    else:
        message = (f"the plans have several publishers ({listed}): set catalog_publisher in pianold.toml to the IPA "
                   "code of the one that publishes the catalogue and the dataset of everything")
    return Problem(_loc(Path(data_dir)), message)


def _loc(path: Path):
    from pianold.ingest import Location

    return Location(Path(path))


def build_dataset(settings: Settings) -> Built:
    """Read, model and validate every plan; raise with every problem of the sources (each plan's,
    then what the plans say together), or on the first violation.

    Each plan is validated on its own graph, in place: at a million triples a copy costs a GB."""
    plans, problems, first = [], [], {}
    for folder in plan_folders(settings.data_dir):
        try:
            plan = load_plan(folder)
        except SourceError as err:  # every plan's problems are reported, not only the first plan's
            problems.extend(err.problems)
            continue
        if plan.id in first:
            problems.append(Problem(_key_location(folder / "plan.toml", "id"),
                                    f"plan id {plan.id!r} is already the id of {first[plan.id] / 'plan.toml'}: "
                                    f"give each plan its own id (it becomes part of the plan's IRIs)"))
        first.setdefault(plan.id, folder)
        plans.append(plan)
    if problems:
        raise SourceError(problems)
    built = Built(plans, bind_prefixes(Graph(identifier=URIRef(ONTOLOGY_IRI))).parse(ontology_file(), format="turtle"))
    # what the plans say together, each reported in the same run: mending one must not reveal the next
    try:
        check_links(plans, settings.uris)  # a link into this site must name an element built here
    except SourceError as err:
        problems.extend(err.problems)
    try:
        combined_licence(plans, built.ontology, settings.combined_license)
    except MixedLicences as err:
        problems.append(_mixed_licences(err, first))
    try:
        catalog_publisher(plans, settings.catalog_publisher)
    except SeveralPublishers as err:
        problems.append(_several_publishers(err, settings.data_dir))
    if problems:
        raise SourceError(problems)
    for plan in plans:
        graph = plan_graph(plan, settings.uris)
        report = validate(graph)
        if not report.conforms:
            raise ValidationFailed(report, graph)
        built.add(graph)
        del graph, report
        _release_memory()  # before the next plan is modelled, and before the store's bulk load
    return built


def _release_memory() -> None:
    """Free a released rdflib graph now and hand its memory back to the system. Its terms form
    reference cycles, so without a collection they linger; and glibc keeps freed heap pages
    unless trimmed. At a million triples this is the difference between a 1 GB and a 2 GB peak."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the collection alone still helps
        pass


def check_switchable(dist: Path, name: str = CURRENT, doing: str = "build") -> None:
    """Raise NotSwitchable when dist/current (or dist/pushed) is something other than a link (or
    absent): a folder or a file cannot be replaced by the link in one rename, so a build would write
    a version it cannot publish (a push, load a store for a version it cannot mark). Checked before
    anything is written."""
    link = Path(dist) / name
    if link.is_symlink() or not link.exists():
        return
    kind = "a folder" if link.is_dir() else "a file"
    switcher = "a build" if name == CURRENT else "a push"
    done = "published" if doing == "build" else "pushed"
    again = "build" if doing == "build" else "push" if name == PUSHED else "build and push"
    raise NotSwitchable(f"{link} is {kind}, not the link to a version in {Path(dist) / 'versions'} that {switcher} "
                        f"switches (a copy made with `cp -rL`, or an rsync that followed links, makes one): "
                        f"nothing was {done}. Move it out of {dist} (e.g. `mv {link} {Path(dist).parent / (Path(dist).name + '-' + name + '.copy')}`) "
                        f"and {again} again")


def publish(settings: Settings, built: Built) -> Version:
    """Write a new version of dist/ and switch dist/current to it atomically."""
    dist = Path(settings.dist_dir)
    check_switchable(dist)
    versions = dist / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    with _lock(dist):
        lines = dict(sorted(built.lines.items()))
        h = hashlib.sha256()
        for chunk in _nquads(lines):
            h.update(chunk)
        h.update(f"\n{_build_settings(settings)}".encode())
        for plan in built.plans:  # what only the catalogue says (contact, keywords, themes…) is published too
            h.update(repr(plan.meta()).encode())
        # the catalogue's dates too: sources put back as they were in a version still kept must not
        # reuse it, or a plan's dct:modified would go back to that version's day (before the undone change)
        previous = current_version(dist)
        history = _History.of(previous, settings, built, lines)
        h.update(f"\n{history.issued}\n{sorted(history.modified.items())!r}".encode())
        content = h.hexdigest()[:16]
        version_id = _version_id(content, previous, versions)
        target = versions / version_id
        if is_complete(target):  # the same data: kept, and marked as built from these sources
            _record_sources(target, sources_digest(settings), _data_folder(settings))
        else:
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=versions))
            tmp.chmod(0o755)
            try:
                _write_version(tmp, version_id, content, settings, built, lines, history)
                if target.exists():  # incomplete: a killed build's leftover, or files lost since
                    shutil.rmtree(target)
                os.rename(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        _switch(dist, CURRENT, version_id)
        _prune(versions, settings.keep_versions, keep={version_id, _target(dist, PUSHED)})
    return current_version(dist)


def _version_id(content: str, previous: Version | None, versions: Path) -> str:
    """The id of the version publishing `content` (the digest of everything it publishes): that
    digest, or the current version's id when it publishes the same. Content that a version still
    kept, but no longer current, published (sources put back as they were the same day) is
    published as a new version: switching back to the old folder would take the build time, and
    with it every Last-Modified, back to before the version it replaces (a client revalidating
    with If-Modified-Since would be told it still has the undone data), and a server could
    replay what it cached of that version the first time."""
    if previous is not None and previous.manifest.get("content", previous.id) == content:
        return previous.id
    if previous is None or not (versions / content).exists():  # even incomplete, it was served once
        return content
    return hashlib.sha256(f"{content}\n{previous.id}".encode()).hexdigest()[:16]


def _nquads(lines: dict[str, list[bytes]]):
    """The N-Quads of every graph, in chunks: graphs in name order, lines sorted within each."""
    for name, graph_lines in lines.items():
        suffix = b"<" + name.encode() + b"> .\n"
        for start in range(0, len(graph_lines), 10000):
            yield b"".join(line[:-1] + suffix for line in graph_lines[start:start + 10000])


def _union(graphs) -> list[bytes]:
    """The sorted, unique lines of several sorted line lists (a triple may be in two graphs)."""
    merged: list[bytes] = []
    for line in heapq.merge(*graphs):
        if not merged or merged[-1] != line:
            merged.append(line)
    return merged


class _Checksummed:
    """A binary file writer that counts and hashes what it writes, for the manifest."""

    def __init__(self, raw):
        self._raw = raw
        self.size = 0
        self.sha = hashlib.sha256()

    def write(self, data) -> int:
        self._raw.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self._raw.flush()


@dataclass(frozen=True)
class _History:
    """What a version inherits from the one published before: the day the catalogue was first
    issued, and for each plan the digest of its data and the day that data last changed, so that
    a plan's dct:modified (and its pages' sitemap lastmod) moves only when the plan does."""

    issued: dt.date
    digests: dict[str, str]  # plan id -> digest of its graph and catalogue metadata
    modified: dict[str, dt.date]  # plan id -> the day its data last changed
    files: dict[str, dict] = field(default_factory=dict)  # the previous version's manifest files
    built: str | None = None  # the previous version's build time

    def file_changed(self, name: str, sha256: str, now: str) -> str:
        """Since when the file `name` has had this content (ISO time): the previous version's time
        for it when its content is the same there, else `now`. Its Last-Modified under /dumps/ and
        its distribution's day, so that a harvester re-reads only the files that changed."""
        old = self.files.get(name)
        if old is not None and old.get("sha256") == sha256:
            return old.get("modified") or self.built or now
        return now

    @classmethod
    def of(cls, previous: Version | None, settings: Settings, built: Built, lines: dict[str, list[bytes]]) -> "_History":
        today = dt.datetime.now(dt.timezone.utc).date()
        before = {p["id"]: p for p in previous.manifest["plans"]} if previous else {}
        digests, modified = {}, {}
        for plan in built.plans:
            h = hashlib.sha256(repr(plan.meta()).encode())
            for line in lines[str(settings.uris.plan(plan.id))]:
                h.update(line)
            digests[plan.id] = h.hexdigest()
            old = before.get(plan.id, {})
            same = old.get("digest") == digests[plan.id] and "modified" in old
            modified[plan.id] = dt.date.fromisoformat(old["modified"]) if same else today
        issued = today
        if previous is not None:  # a manifest of an older pianold has no "issued": it was built then, at the latest
            first = previous.manifest.get("issued")
            issued = min(today, dt.date.fromisoformat(first) if first else previous.built.date())
        if previous is None:
            return cls(issued, digests, modified)
        return cls(issued, digests, modified, previous.manifest.get("files", {}), previous.manifest.get("built"))


def _write_version(folder: Path, version_id: str, content: str, settings: Settings, built: Built,
                   lines: dict[str, list[bytes]], history: _History) -> None:
    """Everything of one version, streamed to disk from the sorted N-Triples lines of each graph
    (at a million triples rdflib's serialisers would need another GB, and a joined document
    150 MB per dump), then the catalogue of those files."""
    inventory: dict[str, dict] = {}

    @contextmanager
    def create(name: str, compress: bool = False):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as raw:
            out = _Checksummed(raw)
            if compress:
                with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
                    yield gz
            else:
                yield out
        inventory[name] = {"bytes": out.size, "sha256": out.sha.hexdigest()}

    def write(name: str, data: bytes) -> None:
        with create(name) as out:
            out.write(data)

    write("context.jsonld", (json.dumps(JSONLD_CONTEXT, indent=2, sort_keys=True) + "\n").encode())
    with create("all.nq") as out:
        for chunk in _nquads(lines):
            out.write(chunk)
    store = pyoxigraph.Store(str(folder / "store"))
    store.bulk_load(path=str(folder / "all.nq"), format=pyoxigraph.RdfFormat.N_QUADS)
    stems = {str(settings.uris.plan(p.id)): f"plans/{p.id}" for p in built.plans}
    stems[ONTOLOGY_IRI] = "ontology/psm"
    sources = {stem: lines[name] for name, stem in stems.items()}
    sources["all"] = _union(lines.values())
    everything_triples = len(sources["all"])  # each triple once, as the union dumps and the store's default graph hold them
    for dump in every_dump([p.id for p in built.plans]):
        if dump.fmt is NQUADS:
            continue  # written above
        source = sources[dump.name.split(".", 1)[0]]
        with create(dump.name, compress=dump.gzip) as out:
            if dump.fmt in (TURTLE, RDFXML):
                write_from_lines(source, dump.fmt, out)
            else:
                for chunk in (jsonld_chunks if dump.fmt is JSONLD else ntriples_chunks)(source):
                    out.write(chunk)
    del sources

    built_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if history.built is not None:  # later than the version it replaces, whose Last-Modified has whole seconds
        built_at = max(built_at, dt.datetime.fromisoformat(history.built) + dt.timedelta(seconds=1))
    for name, info in inventory.items():  # when each file got its content: its distribution's date
        info["modified"] = history.file_changed(name, info["sha256"], built_at.isoformat())
    catalog = catalog_graph(settings.uris, built.plans, built.stats, built.ontology, inventory, built_at,
                            history.modified, history.issued, settings.combined_license, settings.catalog_publisher,
                            everything_triples)
    # The catalogue document is served from these files, not from the store: Oxigraph stores
    # derived integer types (dcat:byteSize's xsd:nonNegativeInteger) as xsd:integer.
    for fmt in GRAPH_FORMATS:
        write(f"catalog.{fmt.extension}", serialize(bind_prefixes(catalog), fmt))
    for name, info in inventory.items():  # the catalogue's own files
        info.setdefault("modified", history.file_changed(name, info["sha256"], built_at.isoformat()))
    store.bulk_load(path=str(folder / "catalog.nt"), format=pyoxigraph.RdfFormat.N_TRIPLES,
                    to_graph=pyoxigraph.NamedNode(str(catalog.identifier)))
    merge_named_graphs(store)
    store.flush()
    store.optimize()
    del store

    manifest = {
        "version": version_id,
        "content": content,
        "sources": sources_digest(settings),
        **_data_folder(settings),
        "built": built_at.isoformat(),
        "issued": history.issued.isoformat(),
        "catalog": str(catalog.identifier),
        "base": settings.base,
        "pianold": __version__,
        "pianold_files": own_files_digest(),  # which of pianold's own files built it (resources.own_files_digest)
        "plans": [
            {"id": p.id, "iri": str(settings.uris.plan(p.id)), "title": p.title,
             "triples": built.stats[str(settings.uris.plan(p.id))].triples,
             "digest": history.digests[p.id], "modified": history.modified[p.id].isoformat()}
            for p in built.plans
        ],
        "files": dict(sorted(inventory.items())),
    }
    _write_manifest(folder, manifest)
    _fsync_tree(folder)


def _record_sources(folder: Path, digest: str, data_folder: dict) -> None:
    """Sources edited without changing the data (a comment, say), or the same sources in another
    folder, publish the same version: its manifest then names the new sources and their folder, or
    every start would rebuild it again (or serve would take that folder for another's)."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    recorded = {"sources": digest, **data_folder}
    if any(manifest.get(key) != value for key, value in recorded.items()):
        _write_manifest(folder, {**manifest, **recorded})


def _write_manifest(folder: Path, manifest: dict) -> None:
    tmp = folder / f".{MANIFEST}-{os.getpid()}"  # replaced whole: a reader never sees half of it
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def is_complete(folder: Path) -> bool:
    """A version folder with its manifest, its store and every file the manifest lists, at its size."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return (folder / "store").is_dir() and all(
            (folder / name).stat().st_size == info["bytes"] for name, info in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


@contextmanager
def pushing(dist: Path):
    """The published version (None if there is none) while `pianold push` loads it into the store,
    marked pushed when the block ends without error. No build publishes or prunes meanwhile: a
    build during the push could prune the version being pushed (keep_versions keeps the newest,
    the current and the pushed one), and dist/pushed would then name a folder that is gone."""
    dist = Path(dist)
    if not dist.is_dir():
        yield None
        return
    for name in (CURRENT, PUSHED):  # the version pushed is the one dist/current links to, marked by the link dist/pushed
        check_switchable(dist, name, doing="push")
    with _lock(dist):
        version = current_version(dist)
        yield version
        if version is not None:
            _switch(dist, PUSHED, version.id)


def _switch(dist: Path, name: str, version_id: str) -> None:
    link = dist / name
    tmp = dist / f".{name}-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(Path("versions") / version_id, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)  # not left behind as a stray .current-PID or .pushed-PID link
        raise


def _target(dist: Path, name: str) -> str | None:
    """The version a link of dist/ names, if any."""
    try:
        return os.readlink(dist / name).rsplit("/", 1)[-1]
    except OSError:
        return None


def _prune(versions: Path, keep_count: int, keep: set[str | None]) -> None:
    """Remove all but the newest `keep_count` versions; those in `keep` (the current one, the one in
    a remote store) stay whatever their age."""
    complete = [p for p in versions.iterdir() if (p / MANIFEST).is_file()]
    complete.sort(key=lambda p: (p / MANIFEST).stat().st_mtime, reverse=True)
    for old in [p for p in complete if p.name not in keep][max(keep_count - len(keep - {None}), 0):]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in versions.glob(".tmp-*"):
        if stale.stat().st_mtime < dt.datetime.now().timestamp() - 3600:
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _lock(dist: Path):
    with open(dist / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_version(dist: Path, link_name: str = CURRENT) -> Version | None:
    """The published version (or the one `link_name` names, e.g. PUSHED), or None when there is none."""
    link = Path(dist) / link_name
    try:
        target = link.resolve(strict=True)
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    return Version(target, manifest)


def _build_settings(settings: Settings) -> str:
    """What a build depends on besides its sources: the settings that change what it writes, and
    pianold itself (its release and its own files), one per line; in the version id and the sources digest."""
    return (f"{settings.base}\n{settings.combined_license}\n{settings.catalog_publisher}\n{__version__}\n"
            f"{own_files_digest()}\n{STORE_LAYOUT}")


def sources_digest(settings: Settings) -> str:
    """A digest of everything a build reads, to tell whether the published version is stale."""
    h = hashlib.sha256(f"{_build_settings(settings)}\n".encode())
    inputs = [p for p in sorted(Path(settings.data_dir).rglob("*")) if p.is_file()]
    for path in [*inputs, ontology_file(), *shapes_files()]:
        h.update(str(path.relative_to(path.parents[1])).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _data_folder(settings: Settings) -> dict:
    """The data folder as the manifest records it: absolute, its links kept (a deployment may point
    a fixed path at each release's folder), and whether it is pianold's bundled one, whose path is
    wherever pianold is installed: a new release in another checkout or virtualenv has it elsewhere."""
    return {"data_dir": os.path.abspath(settings.data_dir), "data_bundled": _is_bundled(settings.data_dir)}


def _is_bundled(data_dir: Path) -> bool:
    return Path(data_dir).resolve() == bundled_data_dir().resolve()


def built_elsewhere(settings: Settings, version: Version) -> str | None:
    """The data folder `version` was built from, when it is not settings.data_dir: a version copied
    from another host, or built with another --data. None when it is the same folder (by its
    path or by where it leads), when both are the bundled plans (of this pianold and of the one
    that built it, installed elsewhere), or when the manifest does not say (built by an older
    pianold)."""
    recorded = version.manifest.get("data_dir")
    if not isinstance(recorded, str):
        return None
    ours = os.path.abspath(settings.data_dir)
    if recorded == ours or Path(recorded).resolve() == Path(ours).resolve():
        return None
    if version.manifest.get("data_bundled") is True and _is_bundled(settings.data_dir):
        return None
    return recorded


def is_current(settings: Settings) -> bool:
    """True when dist/current was built from the sources and settings as they are now."""
    version = current_version(settings.dist_dir)
    if version is None or not is_complete(version.path):
        return False
    try:
        return version.manifest.get("sources") == sources_digest(settings)
    except OSError:
        return False


def named_graphs(version: Version) -> dict[str, bytes]:
    """The version's named graphs as N-Triples, as its embedded store has them: one per plan and
    the ontology (from its N-Quads dump) and the catalogue (from catalog.nt)."""
    graphs: dict[str, list[str]] = {}
    for line in (version.path / "all.nq").read_text(encoding="utf-8").splitlines():
        body, _, name = line.rstrip(" .").rpartition(" ")
        graphs.setdefault(name.strip("<>"), []).append(body + " .")
    out = {name: ("\n".join(lines) + "\n").encode("utf-8") for name, lines in graphs.items()}
    out[version.manifest["catalog"]] = (version.path / "catalog.nt").read_bytes()
    return out


def default_graph(graphs: dict[str, bytes]) -> bytes:
    """The RDF merge of named graphs (N-Triples, each triple once), as the embedded store's default
    graph holds it (oxigraph.merge_named_graphs). Blank nodes: the build writes none."""
    return b"".join(sorted({line + b"\n" for ntriples in graphs.values() for line in ntriples.splitlines() if line.strip()}))


def build(settings: Settings) -> Version:
    check_switchable(settings.dist_dir)  # before the sources are read: it would publish nothing
    return publish(settings, build_dataset(settings))


def published_graph(version: Version) -> Graph:
    """Everything a version publishes, as files (dumps and catalogue), merged into one plain Graph."""
    quads = Dataset()
    quads.parse(version.path / "all.nq", format="nquads")
    graph = bind_prefixes(Graph())
    for s, p, o, _ in quads.quads((None, None, None, None)):
        graph.add((s, p, o))
    graph.parse(version.path / "catalog.nt", format="nt")
    return graph
