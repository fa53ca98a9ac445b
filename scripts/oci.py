#!/usr/bin/env python3
"""Write the filter as an OCI image layout that Istio's WasmPlugin can pull.

    python3 scripts/oci.py [--wasm PATH] [--out DIR] [--tag TAG]

Image format: the Wasm image spec's *compat* variant with the standard OCI
media types, which Istio's image fetcher tries first (istio/istio
pkg/wasm/imagefetcher.go, extractOCIStandardImage; spec: solo-io/wasm
spec/spec-compat.md):

  manifest  application/vnd.oci.image.manifest.v1+json,
            annotation module.wasm.image/variant=compat
  config    application/vnd.oci.image.config.v1+json
  layer     one application/vnd.oci.image.layer.v1.tar+gzip holding plugin.wasm

The output is an OCI image layout directory (oci-layout, index.json,
blobs/sha256/...), default target/oci/. Push it with e.g.
`skopeo copy oci:target/oci:<tag> docker://<registry>/bedrock-openai-filter:<tag>`.

Deterministic: fixed tar header (mtime 0, uid/gid 0, mode 0644, no user
names), gzip header with mtime 0 and no file name, JSON with sorted keys and
no timestamps. The same .wasm gives the same manifest digest (for a given
zlib; the gzip stream is the only part that depends on it). Standard library
only. Prints the manifest digest (sha256:...) on stdout.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WASM = os.path.join(ROOT, "target", "wasm32-wasip1", "release", "bedrock_openai_filter.wasm")
OUT = os.path.join(ROOT, "target", "oci")
DEFAULT_TAG = "latest"

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
VARIANT_ANNOTATION = "module.wasm.image/variant"
PLUGIN_FILE = "plugin.wasm"  # the name Istio looks for in the layer
REF_ANNOTATION = "org.opencontainers.image.ref.name"


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def layer_tar(wasm):
    """Uncompressed tar holding plugin.wasm, byte-identical for the same input."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(PLUGIN_FILE)
        info.size = len(wasm)
        info.mtime = 0
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.type = tarfile.REGTYPE
        tar.addfile(info, io.BytesIO(wasm))
    return buf.getvalue()


def gzip_bytes(data):
    buf = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of run-specific data.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def descriptor(media_type, blob, **extra):
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
            "size": len(blob), **extra}


def build(wasm_path, out_dir, tag=DEFAULT_TAG):
    """Write the layout to out_dir (replaced if present). Returns the manifest digest."""
    with open(wasm_path, "rb") as f:
        wasm = f.read()
    if wasm[:4] != b"\0asm":
        raise ValueError(f"{wasm_path} is not a WebAssembly module")

    tar = layer_tar(wasm)
    layer = gzip_bytes(tar)
    config = canonical_json({
        # Go's names for the wasip1 target; Istio does not read the config.
        "architecture": "wasm",
        "os": "wasip1",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
    })
    manifest = canonical_json({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(CONFIG_TYPE, config),
        "layers": [descriptor(LAYER_TYPE, layer)],
        "annotations": {VARIANT_ANNOTATION: "compat"},
    })
    index = canonical_json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [descriptor(MANIFEST_TYPE, manifest, annotations={REF_ANNOTATION: tag})],
    })

    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    blobs = os.path.join(out_dir, "blobs", "sha256")
    os.makedirs(blobs)
    for blob in (layer, config, manifest):
        with open(os.path.join(blobs, hashlib.sha256(blob).hexdigest()), "wb") as f:
            f.write(blob)
    with open(os.path.join(out_dir, "oci-layout"), "wb") as f:
        f.write(canonical_json({"imageLayoutVersion": "1.0.0"}))
    with open(os.path.join(out_dir, "index.json"), "wb") as f:
        f.write(index)
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--wasm", default=WASM, help="the built filter (default: %(default)s)")
    p.add_argument("--out", default=OUT, help="layout directory, replaced (default: %(default)s)")
    p.add_argument("--tag", default=DEFAULT_TAG, help="ref name in index.json (default: %(default)s)")
    args = p.parse_args()
    if not os.path.isfile(args.wasm):
        print(f"oci: {args.wasm} not found: run `make wasm` first", file=sys.stderr)
        return 2
    digest = build(args.wasm, args.out, args.tag)
    print(f"oci: wrote {os.path.relpath(args.out)} (tag {args.tag})", file=sys.stderr)
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
