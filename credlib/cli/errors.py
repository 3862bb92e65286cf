"""Turns every failure into a one-line message and a documented exit code; never a raw traceback."""

from __future__ import annotations

import sys
import traceback

import click

from credlib import __version__
from credlib.errors import CredlibError, ExitCode


def _log_unexpected(exc: BaseException) -> str:
    """Write the traceback to a log in the state dir; return where it went (or "" if it could not)."""
    try:
        from credlib.paths import state_dir

        log = state_dir() / "crash.log"
        log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(log, "w", encoding="utf-8") as fh:
            fh.write(f"credlib {__version__}\nargv: {len(sys.argv)} arguments (not logged)\n\n")
            # Exception messages in credlib never carry keys, but an unexpected one might
            # (e.g. from a library); only the traceback frames and the exception type are logged.
            fh.write("".join(traceback.format_tb(exc.__traceback__)))
            fh.write(f"{type(exc).__name__}\n")
        return str(log)
    except OSError:
        return ""


def run_cli(cli: click.Group, argv: list[str] | None) -> int:
    try:
        result = cli.main(args=argv, prog_name="credlib", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return ExitCode.INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # usage errors included
        import io

        from credlib.gitops.patterns import mask_secrets

        # click quotes the offending argument, and a key pasted as one must not be echoed back.
        shown = io.StringIO()
        exc.show(file=shown)
        click.echo(mask_secrets(shown.getvalue()), err=True, nl=False)
        return ExitCode.USAGE
    except CredlibError as exc:
        click.echo(exc.render(), err=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:  # the last line of defence
        where = _log_unexpected(exc)
        msg = f"An unexpected error has occurred: {type(exc).__name__}."
        if where:
            msg += f" Details (no secrets) were written to {where}."
        click.echo(msg, err=True)
        return ExitCode.INTERNAL
    # Commands return their exit code (int) or None for success.
    if isinstance(result, int):
        return result
    return ExitCode.OK
