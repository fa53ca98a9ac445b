"""The parts `make bench` measures, one module each; bench/run.py runs them in order.

  gateways   the Envoys they run: the fast upstream, the gateway with our filter, bare or with the floor
             wasm, and the filter's translated request captured to replay bare
  load       wrk against each case in interleaved rounds; the streaming requests (`load`)
  peers      LiteLLM and bedrock-access-gateway behind the same upstream (the load part's peers)
  streaming  first event → first client byte, and Envoy's RSS under one 50 MiB answer (`stream`)
  streams    many long, slow streams at once, with procfs's readers of /proc and Envoy's admin (`streams`)
  size       the .wasm before and after wasm-opt (`size`)
  wasmhost   the module's own time under Node's V8 (`wasmhost`)
  micro      the native micro-benchmarks (`micro`)

Each returns the typed results of bench/results.py.
"""
