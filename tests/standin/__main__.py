"""CLI: ``python -m standin [--host 127.0.0.1] [--port 9099] [--mantle-port P] [--fault-rate F] [--seed S]``."""

import argparse
import threading

from .faults import Faults
from .server import StandinServer


def main(argv=None):
    """Parse arguments, print the listening URL and serve until killed."""
    parser = argparse.ArgumentParser(prog="standin", description="Strict Bedrock Runtime stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="fraction of valid model requests (without a queued script) that get a "
                             "random fault: throttling, 500, reset, or a mid-stream throttlingException "
                             "(see faults.py; default 0)")
    parser.add_argument("--seed", type=int, help="seed for --fault-rate's random draws")
    parser.add_argument("--mantle-port", type=int,
                        help="also serve bedrock-mantle's OpenAI-compatible paths on this port "
                             "(same recorded requests and scripts)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate must be within [0, 1]")
    server = StandinServer((args.host, args.port), Faults(args.fault_rate, args.seed))
    print(f"standin listening on http://{args.host}:{server.server_address[1]}", flush=True)
    if args.mantle_port is not None:
        mantle = StandinServer((args.host, args.mantle_port), server.faults, "mantle", server.state)
        threading.Thread(target=mantle.serve_forever, name="standin-mantle", daemon=True).start()
        print(f"standin (bedrock-mantle) listening on http://{args.host}:{mantle.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
