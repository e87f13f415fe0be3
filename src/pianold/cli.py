"""The `pianold` command: thin click commands over the library."""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

from pianold.config import ENV_PREFIX, ConfigError, Settings, load_settings


class Context:
    def __init__(self, config: Path | None, base: str | None, data: Path | None, dist: Path | None):
        self.config, self.base, self.data, self.dist = config, base, data, dist

    def settings(self, **overrides) -> Settings:
        overrides = {"base": self.base, "data_dir": self.data, "dist_dir": self.dist, **overrides}
        _note_misspelt_variables()
        try:
            return load_settings(self.config, **overrides)
        except ConfigError as err:
            raise click.ClickException(str(err)) from None


def _note_misspelt_variables() -> None:
    """A PIANOLD_* variable close to a setting's (PIANOLD_DATA for PIANOLD_DATA_DIR) is named: the
    settings read only their own names, so a misspelt one would be ignored without a word."""
    import difflib
    import os
    from dataclasses import fields

    known = [ENV_PREFIX + f.name.upper() for f in fields(Settings)] + [ENV_PREFIX + "CONFIG", ENV_PREFIX + "STORE_PASSWORD"]
    for name in sorted(os.environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            if close:
                click.echo(f"note: {name} is no pianold setting (did you mean {close[0]}?)", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(path_type=Path), help="Settings file (TOML). Default: $PIANOLD_CONFIG, else ./pianold.toml if there is one.")
@click.option("--base", help="Base of the published IRIs (default: $PIANOLD_BASE, else the settings file's base, else https://w3id.org/pianold).")
@click.option("--data", type=click.Path(path_type=Path), help="Folder of plan folders (default: $PIANOLD_DATA_DIR, else the settings file's data_dir, else the bundled plans).")
@click.option("--dist", type=click.Path(path_type=Path), help="Output folder (default: $PIANOLD_DIST_DIR, else the settings file's dist_dir, else ./dist).")
@click.version_option(package_name="pianold")
@click.pass_context
def main(ctx: click.Context, config, base, data, dist) -> None:
    """Publish metropolitan strategic plans as linked open data."""
    ctx.obj = Context(config, base, data, dist)


def _folder_options(command):
    """--data and --dist after the command name too (`pianold build --data DIR`), as people write
    them and as the deployment guide does: the same as the options before it."""
    def keep(name):
        def callback(ctx: click.Context, param, value):
            if value is not None:
                setattr(ctx.find_object(Context), name, value)
            return value
        return callback

    command = click.option("--dist", type=click.Path(path_type=Path), expose_value=False, callback=keep("dist"),
                           help="Output folder (same as the option before the command).")(command)
    return click.option("--data", type=click.Path(path_type=Path), expose_value=False, callback=keep("data"),
                        help="Folder of plan folders (same as the option before the command).")(command)


@main.command()
@_folder_options
@click.pass_obj
def build(obj: Context) -> None:
    """Read the plans' sources, validate them and publish a new version in the output folder.

    A failed build changes nothing that was published."""
    from pianold.ingest import SourceError
    from pianold.publish import NotSwitchable, ValidationFailed, build as build_all, current_version

    settings = obj.settings()
    try:
        before = current_version(settings.dist_dir)
        version = build_all(settings)
    except NotSwitchable as err:
        raise click.ClickException(str(err)) from None
    except SourceError as err:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"build failed: {len(err.problems)} problem{'s' if len(err.problems) != 1 else ''} in the sources; nothing was published", err=True)
        sys.exit(1)
    except ValidationFailed as err:
        click.echo(err.report.render(err.graph), err=True)
        click.echo("build failed: the data does not conform to the shapes; nothing was published", err=True)
        sys.exit(1)
    except OSError as err:
        raise click.ClickException(str(_CannotWrite(settings, err))) from None
    plans = ", ".join(f"{p['id']} ({p['triples']} triples)" for p in version.manifest["plans"])
    if before is not None and before.id == version.id:
        click.echo(f"nothing changed: version {version.id} in {version.path} stays published: {plans}")
        return
    click.echo(f"published version {version.id} in {version.path}: {plans}")


@main.command("check-catalog")
@_folder_options
@click.option("--show-warnings/--errors-only", default=True, help="Also list warnings and recommendations (default).")
@click.pass_obj
def check_catalog(obj: Context, show_warnings: bool) -> None:
    """Check the published version as dati.gov.it (DCAT-AP_IT rules), data.europa.eu (DCAT-AP 3.0.1
    SHACL) and schema.gov.it (controlled-vocabulary rules) do. Exit 0 when there are no errors.

    Builds first only when nothing is published; otherwise it checks what is published, as is."""
    from rdflib import Graph

    from pianold.conformance import check_catalog as run_checks
    from pianold.publish import published_graph

    version = _published(obj.settings())
    with _reading(version):
        everything, catalog = published_graph(version), Graph().parse(version.path / "catalog.nt", format="nt")
    report = run_checks(everything, catalog)
    if not show_warnings:
        report = type(report)(tuple(f for f in report.findings if f.is_error), report.rules_applied)
    click.echo(f"version {version.id} ({version.path})")
    click.echo(report.render())
    sys.exit(0 if report.conforms else 1)


@contextmanager
def _reading(version):
    """Reading a published version's files or store: one that cannot be read (a file removed, a
    damaged store) is named with the way out `pianold serve` gives, and the same exit status."""
    from pianold.store import StoreError

    try:
        yield
    except (OSError, StoreError, SyntaxError, ValueError) as err:
        click.echo(f"the published version {version.id} ({version.path}) cannot be read: {_one_line(err)}. "
                   f"Remove {version.path} and run `pianold build` to publish it again.", err=True)
        sys.exit(2)


def _published(settings: Settings):
    """The current version, built first when nothing is published. A stale version is not rebuilt:
    the settings may name other sources than the ones it was built from (a checker must not
    replace what a server publishes), so the command says so and works on what is published."""
    from pianold.publish import build as build_all, current_version, is_current

    version = current_version(settings.dist_dir)
    if version is None:
        try:
            build_all(settings)
        except OSError as err:
            _report_build_error(_CannotWrite(settings, err))
        except Exception as err:  # noqa: BLE001 - reported like serve does
            _report_build_error(err)
        return current_version(settings.dist_dir)
    if not Path(settings.data_dir).is_dir():
        missing = "is a file, not a folder" if Path(settings.data_dir).exists() else "does not exist"
        click.echo(f"note: the data folder {settings.data_dir} {missing}; this uses the published version "
                   f"{version.id} in {settings.dist_dir}", err=True)
    elif not is_current(settings):
        click.echo(f"note: version {version.id} in {settings.dist_dir} was not built from the sources in "
                   f"{settings.data_dir} as they are now; this uses the published version "
                   f"(run `pianold build` to publish the sources first)", err=True)
    return version


@main.command()
@_folder_options
@click.option("--endpoint", help="SPARQL 1.1 endpoint serving other plans (e.g. another pianold's /sparql).")
@click.option("--plan", "plan_id", help="Only this plan of ours (its id); needed with --accept.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the candidates CSV here (default: standard output).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.25, show_default=True, help="Lowest score proposed.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=30, show_default=True, help="Seconds to wait for the endpoint.")
@click.option("--accept", "accepted", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="A reviewed candidates CSV: rows with accept = yes go to the plan's links.csv.")
@click.pass_obj
def link(obj: Context, endpoint, plan_id, out, threshold, timeout, accepted) -> None:
    """Find candidate matches between our plan elements and another endpoint's, for review.

    Scores combine Italian-aware label similarity (accents, apostrophes, stop words, light stemming)
    and shared SDG/EuroVoc targets. Mark good rows with accept = yes, then run
    `pianold link --plan ID --accept FILE`: they become skos:closeMatch / skos:relatedMatch rows of
    links.csv, published (with a VoID linkset) at the next build."""
    from pianold import linking
    from pianold.ingest import SourceError

    settings = obj.settings()
    if accepted is not None:
        if not plan_id:
            raise click.UsageError("--accept needs --plan ID (the plan whose links.csv receives the rows)")
        folder = _plan_folder(settings, plan_id)
        try:
            added = linking.accept(accepted, folder / "links.csv")
        except SourceError as err:
            raise click.ClickException("; ".join(map(str, err.problems))) from None
        except OSError as err:
            raise click.ClickException(f"cannot write {folder / 'links.csv'}: {err.strerror or err}") from None
        click.echo(f"{added} link(s) added to {folder / 'links.csv'}; run `pianold build` to publish them")
        return
    if not endpoint:
        raise click.UsageError("give --endpoint URL (to find candidates) or --accept FILE (to record reviewed ones)")
    if out is not None and out.name == "links.csv" and (out.parent / "plan.toml").is_file():  # a plan's own links
        raise click.UsageError(f"--out {out} would replace a plan's links with candidates nobody reviewed: write "
                               "them to another file, mark the good ones, then add them with --plan ID --accept FILE")
    version = _published(settings)
    plan_iri = None
    if plan_id:
        _plan_folder(settings, plan_id)
        plan_iri = str(settings.uris.plan(plan_id))
    from pianold.store import EmbeddedStore

    with _reading(version):
        ours = linking.local_elements(EmbeddedStore(version.store_path), plan_iri)
    try:
        with warnings.catch_warnings():  # SPARQLWrapper warns of a non-SPARQL answer before linking says so
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="SPARQLWrapper")
            theirs = linking.remote_elements(endpoint, timeout)
    except linking.EndpointError as err:
        raise click.ClickException(str(err)) from None
    found = linking.candidates(ours, theirs, threshold=threshold)
    text = linking.write_candidates(found)
    if out:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as err:
            raise click.ClickException(f"cannot write the candidates to {out}: {err.strerror or err}") from None
        click.echo(f"{len(found)} candidate(s) for {len(ours)} element(s) against {len(theirs)} remote element(s) → {out}", err=True)
    else:
        click.echo(text, nl=False)


def _plan_folder(settings: Settings, plan_id: str) -> Path:
    from pianold.ingest import SourceError, read_plan_toml
    from pianold.publish import plan_folders

    try:
        for folder in plan_folders(settings.data_dir):
            if read_plan_toml(folder / "plan.toml").id == plan_id:
                return folder
    except SourceError as err:
        raise click.ClickException("; ".join(map(str, err.problems))) from None
    raise click.ClickException(f"no plan with id {plan_id!r} in {settings.data_dir}")


@main.command()
@_folder_options
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default 8080).")
@click.option("--workers", type=click.IntRange(1, 256), help="Worker threads of the WSGI server (default 8).")
@click.option("--base", "serve_base", help="Base of the published IRIs (same as the global --base).")
@click.option("--no-build", is_flag=True, help="Serve what the output folder holds as it is, never building (default: "
                                               "$PIANOLD_NO_BUILD, else the settings file's no_build).")
@click.pass_obj
def serve(obj: Context, host: str | None, port: int | None, workers: int | None, serve_base: str | None,
          no_build: bool) -> None:
    """Serve the published plans as linked data (builds first if nothing is published or it is stale).

    Request paths are mapped onto the base, so data published for https://example.org/pianold
    is browsable at http://HOST:PORT/data/… too. A version built from another data folder (copied
    from another host) is not rebuilt from this one: give its --data, or serve it with --no-build."""
    from pianold.serve import CannotServe, StoreUnusable, run

    settings = obj.settings(host=host, port=port, workers=workers, no_build=no_build or None,
                            **({"base": serve_base} if serve_base else {}))
    try:
        run(settings, on_build_error=_report_build_error)
    except (StoreUnusable, CannotServe) as err:
        click.echo(str(err), err=True)
        sys.exit(2)
    except ValueError as err:  # waitress: a host name that does not resolve
        if "Invalid host/port" not in str(err):
            raise
        click.echo(f"cannot serve on {settings.host}:{settings.port}: the host name does not resolve "
                   f"(give an IP address or a name of this machine; * for all its interfaces)", err=True)
        sys.exit(2)
    except OSError as err:
        if err.filename is not None and _inside(err.filename, settings.dist_dir):  # the build before serving
            _report_build_error(_CannotWrite(settings, err))
        # e.g. the port is taken
        click.echo(f"cannot serve on {settings.host}:{settings.port}: {err.strerror or err}", err=True)
        sys.exit(2)


def _inside(filename, folder: Path) -> bool:
    path, folder = Path(filename).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


class _CannotWrite(Exception):
    """A build that could not write the output folder, in the words `pianold build` uses."""

    def __init__(self, settings: Settings, err: OSError):
        super().__init__(f"cannot write to {settings.dist_dir}: {err.strerror or err}")


def _report_build_error(err: Exception) -> None:
    from pianold.ingest import SourceError

    if isinstance(err, SourceError):
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
    else:
        click.echo(str(err), err=True)
    click.echo("the build failed and nothing was published before: nothing to serve or check", err=True)
    sys.exit(1)


@main.command()
@_folder_options
@click.option("--gsp-url", help="Graph Store Protocol endpoint of the remote store (default: the store_gsp_url setting).")
@click.option("--user", help="User to authenticate as at the Graph Store endpoint, digest or basic (default: the store_user "
                             "setting); the password is read from $PIANOLD_STORE_PASSWORD.")
@click.option("--union-default-graph", is_flag=True,
              help="The store's default graph is the union of its graphs (Virtuoso): leave it alone instead of "
                   "writing the merge of the named graphs there.")
@click.pass_obj
def push(obj: Context, gsp_url: str | None, user: str | None, union_default_graph: bool) -> None:
    """Load the published version into the remote SPARQL store: a named graph per plan, the ontology
    and the catalogue, and their merge as the default graph (unless the store's default graph is
    the union of its graphs: --union-default-graph). With store_url set, the graphs of
    plans no longer published are deleted. Servers using the store serve this version from then
    on (until a push, they serve the version pushed before).

    A store that writes only for a known user (Virtuoso's /sparql-graph-crud-auth) gets store_user
    and the password in the environment variable PIANOLD_STORE_PASSWORD, never in a file or on the
    command line (where other users of the host could read it)."""
    import os

    from pianold.publish import NotSwitchable, default_graph, named_graphs, pushing
    from pianold.store import StoreError
    from pianold.store.remote import push as push_graphs, shown_url

    settings = obj.settings(**({"store_gsp_url": gsp_url} if gsp_url else {}), **({"store_user": user} if user else {}))
    if not settings.store_gsp_url:
        raise click.ClickException("no remote store: give --gsp-url or set store_gsp_url (PIANOLD_STORE_GSP_URL)")
    password = os.environ.get("PIANOLD_STORE_PASSWORD") or None
    if password is not None and not settings.store_user:
        raise click.ClickException("PIANOLD_STORE_PASSWORD is set but no user to go with it: set store_user "
                                   "(PIANOLD_STORE_USER, or --user)")
    # a build waits for the push (it could prune the version being pushed); once loaded, servers
    # using the store answer for this version
    try:
        with pushing(settings.dist_dir) as version:
            if version is None:
                raise click.ClickException(f"nothing is published in {settings.dist_dir}: run `pianold build` first")
            graphs = named_graphs(version)
            try:
                # only graphs of plans this site published once: the store may hold other data (a shared service)
                ours = f"{settings.base.rstrip('/')}/data/plan/"
                stale = [g for g in _stored_graphs(settings.store_url) if g.startswith(ours) and g not in graphs] \
                    if settings.store_url else []
                push_graphs(settings.store_gsp_url, graphs, None if union_default_graph else default_graph(graphs), stale,
                            user=settings.store_user, password=password)
            except StoreError as err:
                raise click.ClickException(str(err)) from None
    except NotSwitchable as err:  # dist/current or dist/pushed copied as a folder: refused before loading anything
        raise click.ClickException(str(err)) from None
    removed = f", {len(stale)} no longer published removed" if stale else ""
    default = "(the default graph left to the store: the union of its graphs)" if union_default_graph else \
        "and their merge as the default graph"
    click.echo(f"loaded version {version.id} into {shown_url(settings.store_gsp_url)}: {len(graphs)} named graphs "
               f"{default}{removed}")


def _stored_graphs(query_url: str) -> list[str]:
    """The graphs the store holds, read at its query endpoint: a failure names that endpoint (the
    store's messages name no address, since the server's go to any client; push talks to two)."""
    from pianold.store import StoreError
    from pianold.store.remote import shown_url, stored_graphs

    try:
        return stored_graphs(query_url)
    except StoreError as err:
        raise StoreError(f"cannot list the graphs of the store at {shown_url(query_url)}: {err}") from None


RDF_FORMATS = ("turtle", "ttl", "nt", "ntriples", "nquads", "trig", "trix", "xml", "json-ld", "n3",  # rdflib's parsers
               "nt11", "hext", "text/turtle", "application/n-triples", "application/n-quads", "application/trig",
               "application/trix", "application/rdf+xml", "application/ld+json", "text/n3")  # and their other names


@main.command()
@_folder_options
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--format", "rdf_format", type=click.Choice(RDF_FORMATS),
              help="RDF format of FILE (default: from its extension; a .gz file is read through).")
@click.pass_obj
def validate(obj: Context, file: Path | None, rdf_format: str | None) -> None:
    """Validate FILE (any RDF file) against pianold's shapes, or the plans' sources if no FILE.

    Exit status: 0 conforms, 1 violations, 2 unreadable input."""
    from pianold.ingest import SourceError
    from pianold.publish import ValidationFailed, build_dataset
    from pianold.validate import validate as run_validation

    if file is None:
        try:
            built = build_dataset(obj.settings())
        except SourceError as err:
            for problem in err.problems:
                click.echo(f"error: {problem}", err=True)
            click.echo(f"validation failed: {len(err.problems)} problem{'s' if len(err.problems) != 1 else ''} "
                       "in the sources", err=True)
            sys.exit(2)
        except ValidationFailed as err:
            click.echo(err.report.render(err.graph))
            sys.exit(1)
        count = len(built.plans)
        click.echo(f"OK: {count} plan{'s conform' if count != 1 else ' conforms'} to the shapes (0 violations).")
        return

    try:
        graph = _read_rdf(file, rdf_format)
    except FileNotFoundError:
        click.echo(f"error: {file}: file not found", err=True)
        sys.exit(2)
    except IsADirectoryError:
        click.echo(f"error: {file}: is a directory", err=True)
        sys.exit(2)
    except Exception as err:  # rdflib raises many kinds of parser errors
        click.echo(f"error: {file}: cannot parse as RDF: {_one_line(err)}", err=True)
        sys.exit(2)
    if not len(graph):
        click.echo(f"error: {file}: no RDF triples in it, nothing to validate", err=True)
        sys.exit(2)
    report = run_validation(graph)
    click.echo(report.render(graph))
    sys.exit(0 if report.conforms else 1)


_QUAD_FORMATS = ("nquads", "trig", "trix", "hext", "application/n-quads", "application/trig", "application/trix")


def _read_rdf(path: Path, rdf_format: str | None):
    """The triples of an RDF file as one graph: those of every named graph of a quad format
    (all.nq), and a gzipped file (all.nt.gz) read through, its format from the name without .gz."""
    import gzip

    from rdflib import Dataset, Graph

    gzipped = path.name.endswith(".gz")
    fmt = rdf_format or _guess_format(path.with_suffix("") if gzipped else path)
    data = gzip.decompress(path.read_bytes()) if gzipped else None
    source = {"data": data} if gzipped else {"source": str(path)}
    if fmt not in _QUAD_FORMATS:
        return Graph().parse(format=fmt, **source)
    dataset = Dataset()
    dataset.parse(format=fmt, **source)
    graph = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph


def _guess_format(path: Path) -> str:
    from rdflib.util import guess_format

    return guess_format(str(path)) or "turtle"


def _one_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text[:300] + ("…" if len(text) > 300 else "")
