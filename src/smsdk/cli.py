"""The ``smsdk`` command line (click).

Commands:

* ``smsdk demo [--workspace PATH]`` — the main job on embedded defaults: an address book
  imported into a workspace file, a template, a durable campaign to an in-process server over
  loopback with one outcome per recipient, the sent list and the inbox.
* ``smsdk plan TEXT --signature 【…】`` — show the parts the SDK will submit for a text, what
  each handset receives and how many SMS every recipient is billed.
* ``smsdk fake-smsc [--config fake.toml] [--port 9981] [--http-port 8000] [--control-port 9982]
  [--simulated-clock] [--fault-proxy PORT]`` — run the fake 企信通 platform in the foreground
  (Ctrl-C stops it); ``--fault-proxy`` puts a fault-injecting proxy in front of it.
* ``smsdk send --host H --port P --account A --password W (--to N ... | --to-file F) TEXT`` —
  send, wait for the status reports, print one line (or one JSON object) per recipient.
  Exit status: 0 every recipient delivered; 1 some were not, or still had no outcome when
  --wait ran out (they are printed as ``accepted`` or ``pending``); 2 usage error (a bad
  argument, a text that cannot be sent); 3 could not log in (refused, nothing listening, or
  no login within --login-timeout).
* ``smsdk send --via http --enterprise-id E --account EXT …`` — the same over the HTTP interface
  (reports by ``/queryrptbyid.sms``); ``smsdk push-receiver --port N`` prints PUSH events.
* ``smsdk campaign send|continue|resend|due|unsent|sent|scheduled|cancel|show|list`` — durable
  campaigns kept in the workspace file (``--workspace``): continue after a crash, resend,
  sent / scheduled lists (smsdk.cli_campaign, docs/workspace.md).
* ``smsdk inbox receive|list|read|reply|delete|export --workspace W`` — the workspace's
  received messages (smsdk.cli_inbox); ``smsdk password change`` — EMPP CHANGEPASS.
* ``smsdk bill [--month YYYY-MM] [--by type|account|group] [--export FILE]`` and ``smsdk
  birthday list|schedule`` — the workspace's bills and birthday greetings (smsdk.cli_bills).
* ``smsdk conformance [--target HOST:PORT --account A --password W] [--json FILE]
  [--profile ci|thorough]`` — the conformance suite (harness/conformance, docs/conformance.md):
  one line per RULES.md rule id, pass / fail / n/a / gap with the shortest counterexample.

* ``smsdk book list|add|contacts|delete|group|caps|import|export``, ``smsdk template
  save|list|delete|preview``, ``smsdk recipients`` — the workspace's address books,
  templates and recipient lists (src/smsdk/cli_workspace.py, docs/workspace.md).

``plan`` and ``send`` need the SDK only.  ``demo``, ``fake-smsc`` and ``conformance`` run the
test harness (the package ``smsdk_harness`` and its dependencies, the ``harness`` extra:
``pip install 'smsdk[harness]'``); it is imported when one of them runs, and without it they
print one line that says so and exit 1.
"""

from __future__ import annotations

import importlib
import json
import sys
from types import ModuleType

import click
from rich.console import Console
from rich.table import Table

import smsdk
from smsdk.errors import PlanError

_FMT_NAMES = {0: "ASCII", 8: "UCS2", 15: "GBK"}

#: Top-level modules the harness commands need beyond the SDK's own dependencies: the
#: harness itself and what the ``harness`` extra of pyproject.toml installs.
HARNESS_MODULES = ("smsdk_harness", "hypothesis")
HARNESS_HINT = "pip install 'smsdk[harness]'"


def _harness(command: str, *modules: str) -> list[ModuleType]:
    """Import harness modules for ``smsdk COMMAND``; when the harness or one of its
    dependencies is not installed, a one-line error (exit status 1) instead of a traceback."""
    try:
        return [importlib.import_module(name) for name in modules]
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing.split(".")[0] not in HARNESS_MODULES:
            raise
        raise click.ClickException(
            f"smsdk {command} needs the test harness, which is not installed "
            f"(no module named {missing!r}): {HARNESS_HINT}"
        ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(smsdk.__version__, prog_name="smsdk")
def main() -> None:
    """SDK for China Mobile's enterprise SMS platform (企信通): EMPP, CMPP 2.0/3.0, HTTP."""


@main.command()
@click.argument("text")
@click.option(
    "--signature",
    "-s",
    default="",
    show_default=False,
    help="The enterprise signature the platform appends, written 【…】 (empty: none forced).",
)
@click.option(
    "--mode",
    type=click.Choice(["concat", "pieces"]),
    default="concat",
    show_default=True,
    help="Long texts: one concatenated SMS (UDH parts) or independent pieces.",
)
@click.option(
    "--recipients",
    "-n",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of recipients, for the billing total.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def plan(text: str, signature: str, mode: str, recipients: int, as_json: bool) -> None:
    """Show how TEXT will be split, encoded and billed.  TEXT '-' reads standard input."""
    from smsdk import text as text_mod

    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    try:
        result = text_mod.plan(text, signature=signature, mode=mode)
    except PlanError as exc:
        raise click.ClickException(str(exc)) from None

    billed = result.sms_per_recipient * recipients
    if as_json:
        click.echo(
            json.dumps(
                {
                    "chars": result.chars,
                    "signature_chars": result.signature_chars,
                    "encoding": result.encoding,
                    "mode": result.mode,
                    "parts": [
                        {
                            "msg_fmt": part.msg_fmt,
                            "tp_udhi": part.tp_udhi,
                            "pk_total": part.pk_total,
                            "pk_number": part.pk_number,
                            "content_hex": part.content.hex(),
                            "text": part.text,
                        }
                        for part in result.parts
                    ],
                    "received": list(result.received),
                    "sms_per_recipient": result.sms_per_recipient,
                    "recipients": recipients,
                    "sms_billed": billed,
                    "compiled": smsdk.COMPILED,
                },
                ensure_ascii=False,
            )
        )
        return

    console = Console()
    table = Table(title=f"SUBMITs per recipient ({len(result.parts)})")
    for column in ("#", "Msg_Fmt", "TP_udhi", "UDH", "chars", "bytes", "text"):
        table.add_column(column, overflow="fold")
    for index, part in enumerate(result.parts, 1):
        udh = part.content[: part.content[0] + 1].hex(" ") if part.tp_udhi else ""
        table.add_row(
            str(index),
            f"{part.msg_fmt} {_FMT_NAMES.get(part.msg_fmt, '')}".strip(),
            str(part.tp_udhi),
            udh,
            str(text_mod.count(part.text)),
            str(len(part.content)),
            part.text,
        )
    console.print(table)
    received = Table(title="What each handset shows")
    received.add_column("SMS")
    received.add_column("text", overflow="fold")
    for index, shown in enumerate(result.received, 1):
        received.add_row(str(index), shown)
    console.print(received)
    console.print(
        f"text {result.chars} chars ({result.encoding}), signature {result.signature_chars} chars, "
        f"mode {result.mode}: {result.sms_per_recipient} SMS billed per recipient × {recipients} "
        f"= [bold]{billed}[/bold]"
    )



@main.command()
@click.argument("text")
@click.option("--host", required=True, help="Platform host (EMPP / CMPP).")
@click.option("--port", type=click.IntRange(1, 65535), default=9981, show_default=True)
@click.option("--account", required=True, help="Account id (EMPP: the 14-digit 1065… number).")
@click.option("--password", required=True, envvar="SMSDK_PASSWORD", help="Password (or $SMSDK_PASSWORD).")
@click.option("--dialect", type=click.Choice(["empp", "cmpp2", "cmpp3"]), default="empp", show_default=True)
@click.option("--signature", "-s", default="", help="The enterprise signature, written 【…】.")
@click.option("--service-id", default="", help="Service_Id (CMPP needs one; EMPP ignores it).")
@click.option("--src-id", default=None, help="Src_Id: the account number plus an optional extension.")
@click.option("--to", "to", multiple=True, help="A recipient; repeat for more.")
@click.option("--to-file", type=click.File("r", encoding="utf-8-sig"), help="One number per line.")
@click.option("--rate", type=click.FloatRange(min=0.1), default=100.0, show_default=True,
              help="The account's rate limit, SMS per second (the SDK paces below it).")
@click.option("--group-send-limit", type=click.IntRange(1, 99), default=5, show_default=True)
@click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait for status reports before printing (the rest: accepted / pending).")
@click.option("--login-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Seconds to connect and log in before giving up (exit status 3).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--via", type=click.Choice(["empp", "http"]), default="empp", show_default=True,
              help="EMPP long connection, or the HTTP interface (port 8000 unless --port; --account "
                   "is then the extension code and --enterprise-id is required).")
@click.option("--enterprise-id", default=None, help="HTTP: the enterprise id (eid).")
def send(text: str, host: str, port: int, account: str, password: str, dialect: str, signature: str,
         service_id: str, src_id: str | None, to: tuple[str, ...], to_file, rate: float,
         group_send_limit: int, wait: float, login_timeout: float, as_json: bool, via: str = "empp",
         enterprise_id: str | None = None) -> None:
    """Send TEXT to the recipients and report one outcome per recipient."""
    from smsdk import cli_send

    recipients = list(to)
    if to_file is not None:
        recipients.extend(line.strip() for line in to_file if line.strip() and not line.lstrip().startswith("#"))
    if not recipients:
        raise click.UsageError("give at least one --to NUMBER or a --to-file")
    if via == "http":
        sys.exit(_send_http(text, host, port, account, password, enterprise_id, recipients, rate,
                            group_send_limit, wait, as_json))
    job = cli_send.SendJob(
        host=host, port=port, account=account, password=password, dialect=dialect,
        signature=signature, service_id=service_id, src_id=src_id, text=text,
        recipients=recipients, rate=rate, group_send_limit=group_send_limit, wait=wait,
        login_timeout=login_timeout,
        progress=not as_json and sys.stderr.isatty(),
    )
    code = cli_send.run(job, as_json=as_json)
    sys.exit(code)



@main.command("fake-smsc")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML configuration (default: the embedded demo; --example-config prints an annotated one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=9981, show_default=True,
              help="EMPP port (0: any free port).")
@click.option("--http-port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="HTTP interface port (/httpserver ...; 0: any free port; docs/http.md).")
@click.option("--no-http", is_flag=True, help="Do not start the HTTP interface.")
@click.option("--control-port", type=click.IntRange(0, 65535), default=9982, show_default=True,
              help="HTTP control/inspection API port (0: any free port).")
@click.option("--control-host", default="127.0.0.1", show_default=True,
              help="Interface of the control API (not --host's: loopback unless asked). On any "
                   "other interface it requires a bearer token, printed at start (or [control] token).")
@click.option("--no-control", is_flag=True, help="Do not start the HTTP control API.")
@click.option("--simulated-clock", is_flag=True,
              help="Simulated time: it moves only with POST /clock/advance.")
@click.option("--fault-proxy", "fault_proxy", type=click.IntRange(0, 65535), default=None,
              metavar="PORT", help="Also listen on PORT with a fault-injecting proxy in front of the "
                                   "EMPP port (faults set with POST /faults; docs/reliability.md).")
@click.option("--fault-seed", type=int, default=None,
              help="Seed of the fault proxy's random faults (default: a random seed).")
@click.option("--verbose", "-v", is_flag=True, help="Log every login, SUBMIT refusal and session end.")
@click.option("--example-config", is_flag=True,
              help="Print the example configuration (every key, with comments) and exit.")
def fake_smsc(config_path: str | None, host: str, port: int, http_port: int, no_http: bool,
              control_port: int, control_host: str, no_control: bool, simulated_clock: bool,
              fault_proxy: int | None, fault_seed: int | None, verbose: bool,
              example_config: bool) -> None:
    """Run the fake 企信通 platform (EMPP server, HTTP interface, control API) until Ctrl-C."""
    fake, runner = _harness("fake-smsc", "smsdk_harness.fake_smsc", "smsdk_harness.fake_smsc.runner")
    if example_config:
        from importlib.resources import files

        click.echo(files(fake).joinpath("example.toml").read_text(encoding="utf-8"), nl=False)
        return
    from twisted.internet.error import CannotListenError

    try:
        code = runner.main(config=config_path, host=host, port=port,
                           http_port=None if no_http else http_port,
                           control_port=None if no_control else control_port,
                           control_host=control_host, simulated_clock=simulated_clock, verbose=verbose,
                           fault_proxy_port=fault_proxy, fault_seed=fault_seed)
    except fake.ConfigError as exc:
        message = str(exc) if str(exc).startswith(str(config_path)) else f"{exc} (in {config_path})"
        raise click.ClickException(message) from None
    except CannotListenError as exc:  # the port is taken, or the host is not ours
        raise click.ClickException(f"cannot listen on {exc.interface or '*'}:{exc.port}: "
                                   f"{exc.socketError}") from None
    sys.exit(code)


@main.command()
@click.option("--workspace", "workspace", type=click.Path(), default=None,
              help="The workspace file to use (default: a fresh temporary file; the demo says where).")
def demo(workspace: str | None) -> None:
    """Import an address book, fill in a template and send a durable campaign to an in-process
    server through a workspace file; print every recipient's outcome, the sent list and the inbox."""
    _harness("demo", "smsdk_harness.fake_smsc.runner")
    from smsdk import demo as demo_mod

    sys.exit(demo_mod.run(workspace))


@main.command()
@click.option("--target", default=None, metavar="HOST:PORT",
              help="An EMPP endpoint to check (default: a fresh in-process fake platform).")
@click.option("--account", default="", help="Account for --target.")
@click.option("--password", default="", envvar="SMSDK_PASSWORD", help="Password for --target (or $SMSDK_PASSWORD).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the results as JSON to this file ('-' for stdout).")
@click.option("--profile", type=click.Choice(["ci", "thorough"]), default="ci", show_default=True,
              help="Hypothesis budget: ci (fast, reproducible) or thorough (10x the examples).")
@click.option("--rule", "rules", multiple=True, help="Only this rule id (repeatable), e.g. FAQ-2.5.2.")
def conformance(target: str | None, account: str, password: str, json_path: str | None,
                profile: str, rules: tuple[str, ...]) -> None:
    """Check the platform rules (RULES.md) one by one and print a rule-by-rule table.

    Exit status: 0 no rule failed; 1 some rule failed; 2 usage error.
    """
    runner, registry = _harness("conformance", "smsdk_harness.conformance.runner",
                                "smsdk_harness.conformance.registry")

    if target is None:
        tgt = runner.Target()
    else:
        host, sep, port = target.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise click.UsageError("--target must be HOST:PORT")
        if not account or not password:
            raise click.UsageError("--target needs --account and --password")
        tgt = runner.Target(host, int(port), account, password)
    unknown = [r for r in rules if r not in registry.RULES]
    if unknown:
        raise click.UsageError(f"unknown rule id(s): {', '.join(unknown)}")
    results = runner.run(tgt, profile, list(rules) or None)
    click.echo(runner.render_table(results))
    if json_path:
        text = runner.to_json(results, tgt, profile)
        if json_path == "-":
            click.echo(text)
        else:
            with open(json_path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
    sys.exit(1 if any(r.status == "fail" for r in results) else 0)


def _send_http(text: str, host: str, port: int, account: str, password: str, enterprise_id: str | None,
               recipients: list[str], rate: float, group_send_limit: int, wait: float, as_json: bool) -> int:
    from smsdk.http import codes as http_codes
    from smsdk.http.commands import run_send

    if not enterprise_id:
        raise click.UsageError("--via http needs --enterprise-id")
    if click.get_current_context().get_parameter_source("port") is click.core.ParameterSource.DEFAULT:
        port = http_codes.DEFAULT_PORT
    return run_send(host=host, port=port, enterprise_id=enterprise_id, account_id=account, password=password,
                    text=text, recipients=recipients, rate=rate, group_send_limit=group_send_limit, wait=wait,
                    as_json=as_json)


@main.command("push-receiver")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--path", default="/", show_default=True, help="URL path of the receiver.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per event.")
def push_receiver(port: int, host: str, path: str, as_json: bool) -> None:
    """Receive the platform's HTTP PUSH (MOs and status reports) and print each new event.

    Answers 100 to every valid event, once per event (duplicates are answered but not printed),
    400 to a body that is not GBK form data.  Ctrl-C stops it."""
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError

    from smsdk.http.commands import serve_push

    try:
        serve_push(host=host, port=port, path=path, as_json=as_json)
    except CannotListenError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.socketError}") from None
    reactor.run()


# The workspace's address books, templates and recipients (src/smsdk/cli_workspace.py).
from smsdk import cli_workspace as _cli_workspace  # noqa: E402

main.add_command(_cli_workspace.book)
main.add_command(_cli_workspace.template)
main.add_command(_cli_workspace.recipients)

from smsdk.cli_inbox import inbox as _inbox_group, password as _password_group  # noqa: E402

main.add_command(_inbox_group)
main.add_command(_password_group)

from smsdk.cli_campaign import campaign as _campaign_group  # noqa: E402

main.add_command(_campaign_group)

from smsdk.cli_bills import bill as _bill_cmd, birthday as _birthday_group  # noqa: E402

main.add_command(_bill_cmd)
main.add_command(_birthday_group)


if __name__ == "__main__":  # pragma: no cover
    main()
