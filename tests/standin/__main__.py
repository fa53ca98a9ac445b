"""CLI: ``python -m standin [--host 127.0.0.1] [--port 9099]``."""

import argparse

from .server import StandinServer


def main(argv=None):
    """Parse arguments, print the listening URL and serve until killed."""
    parser = argparse.ArgumentParser(prog="standin", description="Strict Bedrock Runtime stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    args = parser.parse_args(argv)
    server = StandinServer((args.host, args.port))
    print(f"standin listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
