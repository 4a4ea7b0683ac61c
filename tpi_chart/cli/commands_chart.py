"""`tpi-chart --as U chart show|plan|inject|twitch|remove|time-out|header --procedure ID …`: the
charting loop without the window, through the same operations (`services.operations`) the
window's clicks call, with the same defaults and the same permissions (an assistant plans; only a
physician injects or records the time-out).

Sites are named by their number, as the window and the note number them. Each command prints
the procedure's sites after the change. Exit codes: 0 done; 2 bad input (one line per problem,
naming the field); 1 refused (the role does not allow it, the note is signed, …).
"""

from __future__ import annotations

import argparse
from typing import Any

from tpi_chart.cli.auth import signed_in
from tpi_chart.cli.commands_data import _guarded
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.errors import InvalidInput
from tpi_chart.domain.models import Site
from tpi_chart.services.operations import Changes, ChartingOps

EXIT_OK = 0

SIDES = ("left", "right", "bilateral", "midline")
TWITCHES = ("none", "weak", "brisk")


def register(subparsers: Any) -> None:
    chart = subparsers.add_parser(
        "chart",
        help="chart a procedure without the window: plan, inject, time-out (as --as)",
        description="The charting loop of the window, for the person given with --as.",
    )
    actions = chart.add_subparsers(dest="chart_action", metavar="ACTION", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(
            name, help=help_text, description=help_text
        )
        parser.add_argument("--procedure", type=int, required=True, metavar="ID")
        parser.set_defaults(handler=run_chart)
        return parser

    action("show", "print the procedure's status and sites")
    plan = action("plan", "place a planned site (anyone)")
    _site_arguments(plan)
    inject = action(
        "inject",
        "mark planned site N injected (--site N), or chart a new injected site (--muscle, "
        "--side); volume from the plan or the last injected site, the first syringe, the time "
        "now (physicians)",
    )
    inject.add_argument("--site", type=int, metavar="N", help="the planned site's number")
    _site_arguments(inject, required=False)
    inject.add_argument("--twitch", choices=TWITCHES)
    twitch = action("twitch", "record the twitch of site N (a planned site becomes injected)")
    twitch.add_argument("--site", type=int, metavar="N", required=True)
    twitch.add_argument("--twitch", choices=TWITCHES, required=True)
    remove = action("remove", "take site N off the procedure (kept in the audit trail)")
    remove.add_argument("--site", type=int, metavar="N", required=True)
    time_out = action("time-out", "record the time-out as confirmed by you (physicians)")
    marked = time_out.add_mutually_exclusive_group(required=True)
    marked.add_argument("--marked", dest="site_marked", action="store_true")
    marked.add_argument("--not-marked", dest="site_marked", action="store_false")
    header = action("header", "record pain scores (NRS 0-10)")
    header.add_argument("--pain-before", type=int, metavar="0-10")
    header.add_argument("--pain-after", type=int, metavar="0-10")


def _site_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--muscle", required=required, metavar="ID", help="a catalog muscle id")
    parser.add_argument("--side", required=required, choices=SIDES)
    parser.add_argument("--volume", type=float, metavar="ML")
    parser.add_argument("--preparation", metavar="ID", help="the syringe (preparation id)")


def _site_id(changes: Changes, number: int) -> int:
    ids = changes.procedure.site_ids
    if not 1 <= number <= len(ids):
        raise InvalidInput([f"--site: the procedure has no site {number} (it has {len(ids)})"])
    return ids[number - 1]


def _new_site(args: argparse.Namespace, state: str) -> Site:
    muscles = load_catalog().muscles
    if args.muscle not in muscles:
        raise InvalidInput(
            [f"--muscle: {args.muscle!r} is not in the catalog (see `tpi-chart catalog`)"]
        )
    data: dict[str, Any] = {"muscle": args.muscle, "side": args.side, "state": state}
    if args.volume is not None:
        data["volume_ml"] = args.volume
    if args.preparation is not None:
        data["preparation"] = args.preparation
    try:
        return Site.model_validate(data)
    except ValueError as error:
        raise InvalidInput([f"--volume: {error}"]) from error


def _apply(ops: ChartingOps, args: argparse.Namespace) -> Changes:
    pid: int = args.procedure
    opened = ops.open(pid)
    match args.chart_action:
        case "show":
            return opened
        case "plan":
            return ops.plan_site(pid, _new_site(args, "planned"))
        case "inject":
            if (args.site is None) == (args.muscle is None):
                raise InvalidInput(
                    ["--site: give the planned site's number, or --muscle and --side"]
                )
            if args.site is not None:
                return ops.inject_site(pid, _site_id(opened, args.site), twitch=args.twitch)
            if args.side is None:
                raise InvalidInput(["--side: give the side of the new site"])
            return ops.inject_site(pid, _new_site(args, "injected"), twitch=args.twitch)
        case "twitch":
            site_id = _site_id(opened, args.site)
            return ops.update_site(site_id, {"state": "injected", "twitch": args.twitch})
        case "remove":
            return ops.remove_site(_site_id(opened, args.site))
        case "time-out":
            return ops.record_time_out(pid, site_marked=args.site_marked)
        case "header":
            changes = {
                key: value
                for key, value in (
                    ("pain_before", args.pain_before),
                    ("pain_after", args.pain_after),
                )
                if value is not None
            }
            if not changes:
                raise InvalidInput(["--pain-before: give --pain-before or --pain-after"])
            return ops.update_header(pid, changes)
    raise AssertionError(args.chart_action)  # pragma: no cover - argparse requires one


def describe(changes: Changes) -> list[str]:
    """The procedure as the window's header and site table show it, one line each."""
    procedure = changes.procedure.procedure
    catalog = load_catalog()
    lines = [f"procedure {changes.procedure_id}: {procedure.status.replace('_', ' ')}"]
    if procedure.time_out is not None:
        at = procedure.time_out.at.isoformat(timespec="minutes")
        lines[0] += f", time-out by {procedure.time_out.performed_by} at {at}"
    for stored in changes.procedure.stored_sites():
        site = stored.site
        parts = [f"{stored.number}", catalog.muscle_name(site.muscle), site.side, site.state]
        if site.volume_ml is not None:
            parts.append(f"{site.volume_ml:g} mL")
        if site.preparation is not None:
            parts.append(f"syringe {site.preparation}")
        if site.twitch is not None:
            parts.append(f"twitch {site.twitch}")
        lines.append("\t".join(parts))
    if changes.evaluation is not None:
        lines += [f"warning {w.code}: {w.message}" for w in changes.evaluation.warnings]
    return lines


def run_chart(args: argparse.Namespace) -> int:
    def run() -> int:
        with signed_in(args) as session:
            changes = _apply(session.services.ops, args)
        print("\n".join(describe(changes)))
        return EXIT_OK

    return _guarded(run)
