"""scripts/oci.py: the OCI image layout `make oci` writes for Istio to pull.

Checks the layout against the OCI image-layout rules (every blob named by its
sha256, sizes in descriptors), the Wasm image spec *compat* variant that
Istio's image fetcher accepts (one application/vnd.oci.image.layer.v1.tar+gzip
layer holding plugin.wasm, annotation module.wasm.image/variant=compat), that
plugin.wasm is the built filter byte for byte, and that the digest is
reproducible. skopeo (Debian package) reads the layout as an independent check.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from e2e.conftest import ROOT, WASM

# The configs and docs of the deployments: the same with either build (conftest.py).
pytestmark = pytest.mark.build_independent

OCI_PY = os.path.join(ROOT, "scripts", "oci.py")
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


@pytest.fixture(scope="module", autouse=True)
def built_wasm():
    if not os.path.isfile(WASM):
        pytest.fail(f"{WASM} missing: run `make wasm` (make test does)")


def build(out, *args):
    r = subprocess.run([sys.executable, OCI_PY, "--out", str(out), *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    digest = r.stdout.strip()
    assert digest.startswith("sha256:") and len(digest) == 71
    return digest


def blob(layout, desc):
    algo, hexd = desc["digest"].split(":")
    assert algo == "sha256"
    with open(os.path.join(layout, "blobs", "sha256", hexd), "rb") as f:
        data = f.read()
    assert len(data) == desc["size"], desc
    return data


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    out = tmp_path_factory.mktemp("oci") / "layout"
    return str(out), build(out, "--tag", "0.1.0")


def test_every_blob_is_named_by_its_sha256(layout):
    path, _ = layout
    blobs = os.path.join(path, "blobs", "sha256")
    names = sorted(os.listdir(blobs))
    assert len(names) == 3  # manifest, config, layer
    for name in names:
        with open(os.path.join(blobs, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == name
    assert sorted(os.listdir(path)) == ["blobs", "index.json", "oci-layout"]
    with open(os.path.join(path, "oci-layout")) as f:
        assert json.load(f) == {"imageLayoutVersion": "1.0.0"}


def test_index_manifest_config_layer_chain(layout):
    path, digest = layout
    with open(os.path.join(path, "index.json")) as f:
        index = json.load(f)
    assert index["schemaVersion"] == 2
    (mdesc,) = index["manifests"]
    assert mdesc["mediaType"] == MANIFEST_TYPE
    assert mdesc["digest"] == digest  # what the script printed
    assert mdesc["annotations"] == {"org.opencontainers.image.ref.name": "0.1.0"}
    manifest = json.loads(blob(path, mdesc))
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == MANIFEST_TYPE
    assert manifest["annotations"] == {"module.wasm.image/variant": "compat"}
    assert manifest["config"]["mediaType"] == CONFIG_TYPE
    (ldesc,) = manifest["layers"]  # compat variant: exactly one layer
    assert ldesc["mediaType"] == LAYER_TYPE
    config = json.loads(blob(path, manifest["config"]))
    tar_bytes = gzip.decompress(blob(path, ldesc))
    assert config["rootfs"] == {"type": "layers",
                                "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]}


def test_layer_holds_the_built_filter(layout):
    path, digest = layout
    with open(os.path.join(path, "index.json")) as f:
        manifest = json.loads(blob(path, json.load(f)["manifests"][0]))
    layer = blob(path, manifest["layers"][0])
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as tar:
        (member,) = tar.getmembers()
        assert member.name == "plugin.wasm" and member.isfile()
        assert member.mtime == 0 and member.uid == 0 and member.gid == 0
        content = tar.extractfile(member).read()
    with open(WASM, "rb") as f:
        assert content == f.read()


def test_digest_is_reproducible(layout, tmp_path):
    _, first = layout
    again = build(tmp_path / "again", "--tag", "0.1.0")
    assert again == first
    assert build(tmp_path / "again") == first  # the tag lives in index.json, not in the image


def test_skopeo_reads_the_layout(layout):
    """Independent reader: skopeo (containers/image) parses the layout and sees the same image."""
    path, digest = layout
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.fail("skopeo not found: apt-get install skopeo")
    r = subprocess.run([skopeo, "inspect", f"oci:{path}:0.1.0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["Digest"] == digest
    assert len(info["Layers"]) == 1
    r = subprocess.run([skopeo, "inspect", "--raw", f"oci:{path}:0.1.0"], capture_output=True, timeout=60)
    assert r.returncode == 0
    assert "sha256:" + hashlib.sha256(r.stdout).hexdigest() == digest


def test_rejects_a_file_that_is_not_wasm(tmp_path):
    bogus = tmp_path / "x.wasm"
    bogus.write_bytes(b"not wasm")
    r = subprocess.run([sys.executable, OCI_PY, "--wasm", str(bogus), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and not (tmp_path / "o").exists()
