"""scroller-cli: the command line. Parses arguments, runs a command, maps failures to exit codes.

Exit codes: 0 done; 1 stopped by an error (server down, token rejected, bad
input); 2 bad command line; 3 finished, but some files were rejected, failed or
were not sent (listed in the summary); 130 interrupted.
"""

import argparse
import sys
from pathlib import Path

from scroller_cli import commands
from scroller_cli.client import DEFAULT_RETRIES, ScrollerClient, ScrollerError
from scroller_cli.credentials import (
    CONFIG_ENV,
    DEFAULT_SERVER,
    SERVER_ENV,
    ConfigError,
    Credentials,
    credentials_for,
    read_config,
    resolve_config_path,
    resolve_server,
    save_credentials,
)
from scroller_cli.sync_state import state_path_for

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    # The connection options are accepted before or after the command name; SUPPRESS keeps
    # a subcommand's unset default from overwriting a value given before it.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--server",
        default=argparse.SUPPRESS,
        help=f"server URL (default: ${SERVER_ENV}, else the server last logged in to, else {DEFAULT_SERVER})",
    )
    connection.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help=f"credentials file (default: ${CONFIG_ENV}, else $XDG_CONFIG_HOME/scroller/credentials.json)",
    )
    connection.add_argument(
        "--retries",
        type=non_negative_int,
        default=argparse.SUPPRESS,
        help=f"retries of a request after a network failure, with growing pauses (default: {DEFAULT_RETRIES})",
    )
    transfer = argparse.ArgumentParser(add_help=False)
    transfer.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=commands.DEFAULT_JOBS,
        help="chunks in flight at once (default: %(default)s)",
    )
    transfer.add_argument(
        "--visibility", choices=["public", "private"], help="visibility of new images (default: the server's)"
    )
    transfer.add_argument("--no-progress", action="store_true", help="no progress bar")
    transfer.add_argument("--verbose", "-v", action="store_true", help="list every file, not only problems")

    parser = argparse.ArgumentParser(
        prog="scroller-cli",
        description="Upload and manage images on a Scroller server.",
        parents=[connection],
        epilog=__doc__.split("\n\n", 1)[1],
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = subparsers.add_parser("login", parents=[connection], help="log in (OAuth device flow, or an API token)")
    login.add_argument(
        "--token",
        metavar="KEY",
        help="store an API token instead of logging in through the browser; '-' reads it from stdin",
    )

    upload = subparsers.add_parser("upload", parents=[connection, transfer], help="upload image files and folders")
    upload.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    upload.add_argument(
        "--description",
        type=description,
        metavar="TEXT",
        help="description of the new images (plain text, at most 2,000 characters)",
    )
    upload.add_argument(
        "--restore-deleted",
        action="store_true",
        help="bring back files you deleted on the server (restored from the trash, or sent again if purged); "
        "without it they are reported and stay deleted",
    )

    sync = subparsers.add_parser(
        "sync",
        parents=[connection, transfer],
        help="upload what is new in a folder and report what was deleted on the server",
    )
    sync.add_argument("directory", type=Path, metavar="DIR")
    sync.add_argument("--download", action="store_true", help="also download your server images missing from DIR")

    ls = subparsers.add_parser("ls", parents=[connection], help="list your images")
    ls.add_argument("--hue", type=hue, help="only images with a dominant colour near this hue (0–359)")
    ls.add_argument(
        "--query",
        "-q",
        metavar="TEXT",
        help="images matching these words (labels, their synonyms and broader terms, description, file name, "
        "colour words), best match first, with their score",
    )
    ls.add_argument("--deleted", action="store_true", help="include images in the trash")
    ls.add_argument("--all", action="store_true", dest="everyone", help="every image you can see, not only yours")

    rm = subparsers.add_parser("rm", parents=[connection], help="move images to the server's trash")
    rm.add_argument("image_ids", nargs="+", type=positive_int, metavar="ID")

    restore = subparsers.add_parser("restore", parents=[connection], help="bring images back from the trash")
    restore.add_argument("image_ids", nargs="+", type=positive_int, metavar="ID")
    return parser


def positive_int(text: str) -> int:
    value = int_argument(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int_argument(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


MAX_DESCRIPTION_LENGTH = 2000


def description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise argparse.ArgumentTypeError(f"at most {MAX_DESCRIPTION_LENGTH:,} characters, not {len(text):,}")
    return text


def hue(text: str) -> int:
    value = int_argument(text)
    if not 0 <= value <= 359:
        raise argparse.ArgumentTypeError(f"a hue is 0–359 degrees, not {value}")
    return value


def int_argument(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "ls" and arguments.query is not None and arguments.deleted:
        parser.error("--deleted does not combine with --query: search finds only images not in the trash")
    try:
        return run(arguments)
    except (ScrollerError, ConfigError) as error:
        print(f"scroller-cli: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("scroller-cli: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run(arguments: argparse.Namespace) -> int:
    config_path = resolve_config_path(explicit=getattr(arguments, "config", None))
    config = read_config(path=config_path)
    server = resolve_server(explicit=getattr(arguments, "server", None), config=config)
    retries = getattr(arguments, "retries", DEFAULT_RETRIES)
    if arguments.command == "login":
        return login(arguments=arguments, server=server, config_path=config_path, retries=retries)
    credentials = credentials_for(config=config, server=server, config_path=config_path)
    if credentials is None:
        raise ScrollerError(f"not logged in to {server} — run scroller-cli login (credentials file: {config_path})")
    client = ScrollerClient(
        server=server,
        credentials=credentials,
        retries=retries,
        # A refreshed OAuth token is saved at once, so the next run does not start from the expired one.
        on_credentials_refreshed=lambda fresh: save_credentials(
            config_path=config_path, server=server, credentials=fresh
        ),
    )
    if arguments.command in {"upload", "sync"}:
        return transfer(arguments=arguments, client=client, config_path=config_path)
    if arguments.command == "ls":
        commands.list_images(
            client=client,
            hue=arguments.hue,
            query=arguments.query,
            include_deleted=arguments.deleted,
            everyone=arguments.everyone,
        )
        return EXIT_OK
    change = commands.remove if arguments.command == "rm" else commands.restore
    return EXIT_OK if change(client=client, image_ids=arguments.image_ids) else EXIT_ERROR


def login(*, arguments: argparse.Namespace, server: str, config_path: Path, retries: int) -> int:
    if arguments.token is None:
        client = ScrollerClient(server=server, credentials=None, retries=retries)
        commands.login_with_device_flow(client=client, config_path=config_path)
        return EXIT_OK
    # Reading from stdin keeps the key out of the shell history and the process list.
    token = sys.stdin.readline().strip() if arguments.token == "-" else arguments.token.strip()
    if not token:
        raise ScrollerError("the token is empty")
    client = ScrollerClient(server=server, credentials=Credentials(scheme="Token", token=token), retries=retries)
    commands.login_with_token(client=client, config_path=config_path)
    return EXIT_OK


def transfer(*, arguments: argparse.Namespace, client: ScrollerClient, config_path: Path) -> int:
    options = commands.Options(jobs=arguments.jobs, progress=not arguments.no_progress, verbose=arguments.verbose)
    if arguments.command == "upload":
        report = commands.upload(
            client=client,
            paths=arguments.paths,
            visibility=arguments.visibility,
            description=arguments.description,
            options=options,
            restore_deleted=arguments.restore_deleted,
        )
        always_summarised = commands.ALWAYS_SUMMARISED
    else:
        report = commands.sync(
            client=client,
            directory=arguments.directory,
            state_path=state_path_for(config_path=config_path),
            visibility=arguments.visibility,
            download=arguments.download,
            options=options,
        )
        always_summarised = commands.ALWAYS_SUMMARISED | (
            {commands.Outcome.DOWNLOADED} if arguments.download else set()
        )
    commands.print_report(report=report, options=options, always_summarised=always_summarised)
    if report.stopped_by is not None:
        print(f"scroller-cli: stopped: {report.stopped_by}", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(report.stopped_by, commands.Interrupted) else EXIT_ERROR
    return EXIT_INCOMPLETE if report.has_problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
